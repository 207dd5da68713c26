//! `--check` targets: an HTTP path of a Service in the restored namespace, reached through the
//! API server's service proxy (`/api/v1/namespaces/NS/services/[https:]NAME[:PORT]/proxy/PATH`),
//! so the drill needs no network route into the cluster. A check passes on a 2xx answer only.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::Stamp;

/// A parsed `--check`: `[http://|https://]SERVICE[:PORT][/PATH]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTarget {
    pub https: bool,
    pub service: String,
    /// A port number or name; the Service's only port when absent.
    pub port: Option<String>,
    /// Without the leading `/` (may be empty).
    pub path: String,
}

impl ServiceTarget {
    /// Parses a `--check` value (a clap value parser).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (https, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else {
            (false, text.strip_prefix("http://").unwrap_or(text))
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (service, port) = match authority.split_once(':') {
            Some((service, port)) => (service, Some(port)),
            None => (authority, None),
        };
        let label = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !s.starts_with('-')
                && !s.ends_with('-')
        };
        if !label(service) {
            return Err(format!(
                "{text:?}: expected [http://|https://]SERVICE[:PORT][/PATH] with SERVICE a \
                 Service name in the restored namespace"
            ));
        }
        if let Some(port) = port
            && !label(port)
        {
            return Err(format!(
                "{text:?}: the port must be a number or a port name"
            ));
        }
        if path.contains(['?', '#']) || path.split('/').any(|segment| segment == "..") {
            return Err(format!(
                "{text:?}: the path may not hold '?', '#' or '..' segments"
            ));
        }
        Ok(Self {
            https,
            service: service.to_owned(),
            port: port.map(str::to_owned),
            path: path.to_owned(),
        })
    }

    /// The API server path that proxies to this target in `namespace`.
    pub fn proxy_path(&self, namespace: &str) -> String {
        format!(
            "/api/v1/namespaces/{namespace}/services/{}{}{}/proxy/{}",
            if self.https { "https:" } else { "" },
            self.service,
            self.port
                .as_ref()
                .map_or_else(String::new, |p| format!(":{p}")),
            self.path
        )
    }
}

impl fmt::Display for ServiceTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}/{}",
            if self.https { "https" } else { "http" },
            self.service,
            self.port
                .as_ref()
                .map_or_else(String::new, |p| format!(":{p}")),
            self.path
        )
    }
}

/// What one `--check` got, as `result.json` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceCheck {
    /// The target as given (normalised: `http://web:8080/healthz`).
    pub target: String,
    /// The API server path it was asked through.
    pub proxy_path: String,
    /// The HTTP status, `None` when no answer came (transport error, timeout).
    pub status: Option<u16>,
    /// The start of the answer's body or the error, for the report.
    pub detail: String,
    pub at: Stamp,
}

impl ServiceCheck {
    /// A check passes on a 2xx answer and nothing else.
    pub fn passed(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_port_and_path_become_a_proxy_path() {
        let t = ServiceTarget::parse("web:8080/healthz").unwrap();
        assert_eq!(
            t.proxy_path("dp-drill-1"),
            "/api/v1/namespaces/dp-drill-1/services/web:8080/proxy/healthz"
        );
        assert_eq!(t.to_string(), "http://web:8080/healthz");
    }

    #[test]
    fn https_targets_use_the_proxy_scheme_prefix() {
        let t = ServiceTarget::parse("https://api:https/v1/ready").unwrap();
        assert_eq!(
            t.proxy_path("ns"),
            "/api/v1/namespaces/ns/services/https:api:https/proxy/v1/ready"
        );
    }

    #[test]
    fn a_bare_service_proxies_to_its_root() {
        let t = ServiceTarget::parse("http://web").unwrap();
        assert_eq!(
            t.proxy_path("ns"),
            "/api/v1/namespaces/ns/services/web/proxy/"
        );
    }

    #[test]
    fn targets_that_are_not_a_service_path_are_refused() {
        for bad in [
            "",
            "Web/x",
            "web:/x",
            "web:80/a?b=1",
            "web/../../secrets",
            "ftp://web",
        ] {
            assert!(ServiceTarget::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn only_a_2xx_answer_passes() {
        let check = |status| ServiceCheck {
            target: "http://web/".into(),
            proxy_path: "/".into(),
            status,
            detail: String::new(),
            at: Stamp {
                wall: chrono::DateTime::<chrono::Utc>::from_timestamp(0, 0).unwrap(),
                mono_nanos: 0,
            },
        };
        assert!(check(Some(200)).passed());
        assert!(check(Some(204)).passed());
        for status in [Some(199), Some(301), Some(404), Some(503), None] {
            assert!(!check(status).passed(), "{status:?}");
        }
    }
}
