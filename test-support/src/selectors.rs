//! The selectors a request carries, applied as the API server applies them: a
//! `fieldSelector=metadata.name=X` and a `labelSelector` of `k=v`, `k==v`, `k!=v` and `k` terms
//! (the forms Backstop sends). Anything else in a selector is ignored, not guessed at.

use serde_json::Value;

/// The selectors of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selectors {
    name: Option<String>,
    labels: Option<String>,
}

impl Selectors {
    /// The selectors in a raw query string.
    pub(crate) fn of_query(query: &str) -> Self {
        Self {
            name: query_value(query, "fieldSelector")
                .and_then(|field| field.strip_prefix("metadata.name=").map(str::to_owned)),
            labels: query_value(query, "labelSelector"),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.name.is_none() && self.labels.is_none()
    }

    /// Whether `object` passes them.
    pub(crate) fn keep(&self, object: &Value) -> bool {
        self.name
            .as_deref()
            .is_none_or(|name| object["metadata"]["name"].as_str() == Some(name))
            && self
                .labels
                .as_deref()
                .is_none_or(|selector| labelled(object, selector))
    }

    /// Whether a watch line passes them (a BOOKMARK or ERROR always does).
    pub(crate) fn keep_event(&self, event: &Value) -> bool {
        matches!(event["type"].as_str(), Some("BOOKMARK" | "ERROR")) || self.keep(&event["object"])
    }
}

fn labelled(object: &Value, selector: &str) -> bool {
    let labels = &object["metadata"]["labels"];
    selector
        .split(',')
        .filter(|term| !term.is_empty())
        .all(|term| {
            if let Some((key, value)) = term.split_once("!=") {
                labels[key].as_str() != Some(value)
            } else if let Some((key, value)) = term.split_once('=') {
                labels[key].as_str() == Some(value.trim_start_matches('='))
            } else {
                labels.get(term).is_some()
            }
        })
}

/// The percent-decoded value of `wanted` in a raw query string.
pub(crate) fn query_value(query: &str, wanted: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == wanted).then(|| percent_decoded(value))
    })
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                at += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                at += 1;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labelled_object() -> Value {
        json!({"metadata": {"name": "daily", "labels": {"velero.io/schedule-name": "daily", "tier": "gold"}}})
    }

    #[test]
    fn a_name_field_selector_keeps_only_that_name() {
        let selectors = Selectors::of_query("limit=500&fieldSelector=metadata.name%3Ddaily");
        assert!(selectors.keep(&labelled_object()));
        let selectors = Selectors::of_query("fieldSelector=metadata.name%3Dhourly");
        assert!(!selectors.keep(&labelled_object()));
    }

    #[test]
    fn label_terms_must_all_hold() {
        let object = labelled_object();
        let keep = |selector: &str| {
            Selectors::of_query(&format!("labelSelector={selector}")).keep(&object)
        };
        assert!(keep("velero.io%2Fschedule-name%3Ddaily"));
        assert!(keep("tier%3D%3Dgold,velero.io/schedule-name"));
        assert!(!keep("tier!%3Dgold"));
        assert!(!keep("tier=gold,absent"));
    }

    #[test]
    fn bookmarks_and_errors_pass_any_selector() {
        let selectors = Selectors::of_query("labelSelector=absent");
        assert!(selectors.keep_event(&json!({"type": "BOOKMARK", "object": {}})));
        assert!(selectors.keep_event(&json!({"type": "ERROR", "object": {"code": 410}})));
        assert!(!selectors.keep_event(&json!({"type": "ADDED", "object": labelled_object()})));
    }
}
