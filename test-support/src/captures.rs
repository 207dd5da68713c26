//! Reading `fixtures/apiserver-captures/`: a capture file is
//! `{"description", "exchanges": [{"request", "response": {"status", "headers", "body", ...}}]}`.
//! A bad path or index is a mistake in the test, so these functions panic naming it.

use serde_json::Value;

/// Where the captures are.
pub const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/apiserver-captures"
);

/// The whole capture file `file` (`NN-name.json`), for reading requests, events and bodies.
pub fn capture_file(file: &str) -> Value {
    let path = format!("{CAPTURES}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The response of exchange `exchange` (0-based) of capture file `file`.
pub fn response(file: &str, exchange: usize) -> Value {
    let capture = capture_file(file);
    let response = &capture["exchanges"][exchange]["response"];
    assert!(response.is_object(), "{file} has no exchange {exchange}");
    response.clone()
}

/// One captured response: status, headers and the exact body text.
#[derive(Debug, Clone)]
pub struct Captured {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Captured {
    /// The response of exchange `exchange` (0-based) in `fixtures/apiserver-captures/FILE`,
    /// with every header it had except the framing ones (Content-Length, Transfer-Encoding:
    /// they follow the body sent, as they did on the real server).
    pub fn response(file: &str, exchange: usize) -> Self {
        let response = response(file, exchange);
        let mut headers = Vec::new();
        for (name, value) in response["headers"].as_object().into_iter().flatten() {
            if name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding")
            {
                continue;
            }
            // A header sent more than once (Warning) is a list in arrival order.
            let values = match value {
                Value::Array(values) => values.clone(),
                value => vec![value.clone()],
            };
            for value in values {
                let value = value.as_str().expect("a header value is a string");
                headers.push((name.clone(), value.to_string()));
            }
        }
        let status = response["status"].as_u64().expect("a status");
        Self {
            status: u16::try_from(status).expect("an HTTP status"),
            headers,
            body: response["body"].as_str().unwrap_or_default().to_string(),
        }
    }

    /// A response with only a status, a Content-Type (when given) and a body.
    pub fn new(status: u16, content_type: Option<&str>, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: content_type
                .map(|content_type| vec![("Content-Type".to_string(), content_type.to_string())])
                .unwrap_or_default(),
            body: body.into(),
        }
    }

    /// The same response with another body (an answer derived from the capture).
    #[must_use]
    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    /// The same response with `value` as its JSON body, written as the server writes it
    /// (compact, one trailing newline).
    #[must_use]
    pub fn with_json(self, value: &Value) -> Self {
        self.with_body(format!("{value}\n"))
    }

    /// The value of header `name` (the first, when sent more than once).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("{error}: {:?}", self.body))
    }
}
