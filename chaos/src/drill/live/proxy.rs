//! `--check`: one GET through the API server's service proxy. The proxy passes the Service's
//! own answer through; when it cannot reach one it answers itself (capture 18: 404 `services
//! "web" not found` without an Endpoints object, 503 `no endpoints available` with an empty
//! one). Either way the status is recorded and only a 2xx passes.

use std::time::Duration;

use ::kube::Client;
use ::kube::client::Body;
use http_body_util::BodyExt;

use super::super::check::{ServiceCheck, ServiceTarget};
use crate::clock::RunClock;

/// How much of an answer's body the evidence keeps.
const DETAIL_CHARS: usize = 200;

/// Asks `target` in `namespace`, giving up after `timeout`.
pub async fn check(
    client: &Client,
    namespace: &str,
    target: &ServiceTarget,
    timeout: Duration,
    clock: &RunClock,
) -> ServiceCheck {
    let proxy_path = target.proxy_path(namespace);
    let asked = async {
        let request = http::Request::get(&proxy_path)
            .body(Body::empty())
            .map_err(|e| e.to_string())?;
        let response = client.send(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_else(|e| format!("(body unreadable: {e})"));
        Ok::<_, String>((status, body))
    };
    let (status, detail) = match tokio::time::timeout(timeout, asked).await {
        Ok(Ok((status, body))) => (Some(status), shorten(body.trim())),
        Ok(Err(e)) => (None, shorten(&e)),
        Err(_) => (None, format!("no answer within {timeout:?}")),
    };
    ServiceCheck {
        target: target.to_string(),
        proxy_path,
        status,
        detail,
        at: clock.now(),
    }
}

fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(DETAIL_CHARS).collect();
    if text.chars().count() > DETAIL_CHARS {
        out.push('…');
    }
    out
}
