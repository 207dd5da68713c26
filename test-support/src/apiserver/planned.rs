//! The same mock API server, planned before it starts: routes are declared with
//! [`MockApiServer::on`], [`MockApiServer::once`] and [`MockApiServer::on_watch`], then
//! [`MockApiServer::start`] serves them and hands out a client. Each route names the capture
//! file and exchange its answer comes from ([`captured`]).
//!
//! Unlike [`super::MockApiServer`], a watch no route answers stays open and silent (capture 11:
//! a watch from a current resourceVersion gets 200 and nothing), so a test routes only the
//! watches whose events it cares about.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http::Method;
use serde_json::Value;

use super::{
    Answer as Route, BytesResponder, Call, Responder, Routes, Seen, client_for, lock, respond,
};
use crate::captures::{self, Captured};

/// One captured answer: status, Content-Type and body, or for a watch its events.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
    pub events: Option<Vec<Value>>,
}

/// Exchange `index` of `fixtures/apiserver-captures/<file>.json` (`file` without `.json`).
pub fn captured(file: &str, index: usize) -> Answer {
    let response = captures::response(&format!("{file}.json"), index);
    Answer {
        status: u16::try_from(response["status"].as_u64().expect("a status"))
            .expect("an HTTP status"),
        content_type: response["headers"]["Content-Type"]
            .as_str()
            .map(str::to_owned),
        body: response["body"].as_str().unwrap_or_default().to_owned(),
        events: response["events"].as_array().cloned(),
    }
}

/// The object of a captured answer's body, for building an event or a list from it.
pub fn captured_object(file: &str, index: usize) -> Value {
    let answer = captured(file, index);
    serde_json::from_str(&answer.body)
        .unwrap_or_else(|error| panic!("{file} exchange {index}: {error}"))
}

impl Answer {
    fn captured(self) -> Captured {
        Captured::new(self.status, self.content_type.as_deref(), self.body)
    }

    fn full(self) -> Route {
        Route::Full(self.captured())
    }
}

/// The answer to a create, as the API server makes it (capture 05, exchange 0: 201, the sent
/// object with `creationTimestamp`, `generation: 1`, `resourceVersion` and `uid` added, and
/// the capture's Content-Type).
pub fn created(request: &Seen) -> Answer {
    static CREATED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let template = captured("05-restore-create-201", 0);
    let mut object: Value = serde_json::from_str(&request.body)
        .unwrap_or_else(|error| panic!("a create's body is JSON: {error}"));
    let count = CREATED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let metadata = &mut object["metadata"];
    metadata["creationTimestamp"] = Value::String("2026-12-03T12:15:33Z".into());
    metadata["generation"] = Value::from(1);
    metadata["resourceVersion"] = Value::String((300 + count).to_string());
    metadata["uid"] = Value::String(format!("0b5e7a1c-0000-4000-8000-{count:012}"));
    Answer {
        status: template.status,
        content_type: template.content_type,
        body: format!("{object}\n"),
        events: None,
    }
}

/// The mock server: add routes, then [`MockApiServer::start`]. Clones share the routes and
/// what was received.
#[derive(Clone)]
pub struct MockApiServer {
    routes: Arc<Mutex<Routes>>,
}

impl Default for MockApiServer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MockApiServer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("MockApiServer")
            .field("requests", &lock(&self.routes).seen.len())
            .finish_non_exhaustive()
    }
}

impl MockApiServer {
    pub fn new() -> Self {
        let routes = Routes {
            silent_unrouted_watches: true,
            ..Routes::default()
        };
        Self {
            routes: Arc::new(Mutex::new(routes)),
        }
    }

    /// Answers `method path` (not a watch) with `answer`, every time.
    #[must_use]
    pub fn on(self, method: &str, path: &str, answer: Answer) -> Self {
        self.push(method, path, Call::Read, answer.full(), usize::MAX)
    }

    /// Answers `method path` (not a watch) with `answer` once; later calls go to the next
    /// route for the same request.
    #[must_use]
    pub fn once(self, method: &str, path: &str, answer: Answer) -> Self {
        self.push(method, path, Call::Read, answer.full(), 1)
    }

    /// Answers the first watch of `path` with `answer`'s events (then it stays open), or with
    /// `answer` itself when it has none (a forbidden watch is an HTTP 403, capture 16); later
    /// watches stay silent.
    #[must_use]
    pub fn on_watch(self, path: &str, answer: Answer) -> Self {
        let route = match answer.events {
            Some(events) => Route::Watch(events),
            None => answer.full(),
        };
        self.push("GET", path, Call::Watch, route, 1)
    }

    /// Answers `method path` (not a watch) with what `make` makes of each request (a fake
    /// cluster's state behind it); the answer still names its capture.
    #[must_use]
    pub fn on_made(
        self,
        method: &str,
        path: &str,
        make: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let responder = Responder(Arc::new(move |seen| make(seen).captured()));
        self.push(method, path, Call::Read, Route::Made(responder), usize::MAX)
    }

    /// Answers `GET path` with the bytes `make` makes of each request: status, Content-Type
    /// and body.
    #[must_use]
    pub fn on_bytes(
        self,
        path: &str,
        make: impl Fn(&Seen) -> (u16, String, Vec<u8>) + Send + Sync + 'static,
    ) -> Self {
        let responder = BytesResponder(Arc::new(make));
        self.push("GET", path, Call::Read, Route::Bytes(responder), usize::MAX)
    }

    fn push(self, method: &str, path: &str, call: Call, answer: Route, times: usize) -> Self {
        let method = Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        lock(&self.routes).push(method, path, call, answer, times);
        self
    }

    /// Every request received, as `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.routes)
            .seen
            .iter()
            .map(|seen| format!("{} {}?{}", seen.method, seen.path, seen.query))
            .collect()
    }

    /// Every non-empty request body received, with its `METHOD path?query`.
    pub fn bodies(&self) -> Vec<(String, String)> {
        lock(&self.routes)
            .seen
            .iter()
            .filter(|seen| !seen.body.is_empty())
            .map(|seen| {
                (
                    format!("{} {}?{}", seen.method, seen.path, seen.query),
                    seen.body.clone(),
                )
            })
            .collect()
    }

    /// Serves on 127.0.0.1 (until the test's runtime ends) and returns a kube client for it.
    pub async fn start(&self) -> (kube::Client, SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on 127.0.0.1");
        let addr = listener.local_addr().expect("a bound address");
        tokio::spawn(respond::accept(listener, Arc::clone(&self.routes)));
        (client_for(addr), addr)
    }
}
