//! A mock Kubernetes API server on 127.0.0.1 (plain HTTP/1.1, hyper) that answers with the real
//! responses in `fixtures/apiserver-captures/`: the captured status, headers (Content-Type
//! included) and exact body, or a watch stream that stays open and carries newline-delimited
//! events the test sends. A kube-rs [`Client`] talks to it over a real socket, so everything
//! from connection handling to error-body parsing runs as against a real API server.
//!
//! - Routes match method, path and whether the query asks for a watch; their answers are used
//!   in order and the last one repeats.
//! - A request no route matches gets what a real server answers for a path it does not serve:
//!   capture 01, exchange 5 (404 `text/plain` `404 page not found`). [`MockApiServer::unrouted`]
//!   lists them, so a test can assert it asked nothing unexpected.
//! - [`MockApiServer::stop`] closes the listener and every connection (the API server becomes
//!   unreachable: connection refused); [`MockApiServer::restart`] listens on the same port again.
//!
//! Answers derived from a capture (another kind, other items) keep the capture's status,
//! headers and body shape; [`builtin_list`] and [`custom_list`] rebuild list bodies as the server
//! writes them (built-in lists: `kind, apiVersion, metadata, items`, items without apiVersion/kind;
//! custom-resource lists: keys in alphabetical order, `continue: ""`, items with apiVersion/kind).

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/apiserver-captures"
);

/// One captured response: status, headers and the exact body text.
#[derive(Debug, Clone)]
pub struct Captured {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The whole capture file `file` (for reading requests, events and bodies).
pub fn capture_file(file: &str) -> Value {
    let path = format!("{CAPTURES}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap()
}

impl Captured {
    /// The response of exchange `exchange` (0-based) in `fixtures/apiserver-captures/FILE`.
    pub fn response(file: &str, exchange: usize) -> Self {
        let capture = capture_file(file);
        let response = &capture["exchanges"][exchange]["response"];
        assert!(response.is_object(), "{file} has no exchange {exchange}");
        let mut headers = Vec::new();
        for (name, value) in response["headers"].as_object().unwrap() {
            // Framing follows the body hyper sends, as it did on the real server.
            if name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding")
            {
                continue;
            }
            match value {
                Value::Array(values) => {
                    for value in values {
                        headers.push((name.clone(), value.as_str().unwrap().to_string()));
                    }
                }
                value => headers.push((name.clone(), value.as_str().unwrap().to_string())),
            }
        }
        Self {
            status: u16::try_from(response["status"].as_u64().unwrap()).unwrap(),
            headers,
            body: response["body"].as_str().unwrap().to_string(),
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

    /// The body parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// The body of a list of a built-in resource, as capture 13 shows them: `kind`, `apiVersion`,
/// `metadata.resourceVersion`, `items` in this order; items carry no apiVersion or kind.
pub fn builtin_list(
    api_version: &str,
    kind: &str,
    resource_version: &str,
    items: &[Value],
) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut item = item.clone();
            if let Some(object) = item.as_object_mut() {
                object.remove("apiVersion");
                object.remove("kind");
            }
            item
        })
        .collect();
    let mut list = Map::new();
    list.insert("kind".into(), json!(format!("{kind}List")));
    list.insert("apiVersion".into(), json!(api_version));
    list.insert(
        "metadata".into(),
        json!({"resourceVersion": resource_version}),
    );
    list.insert("items".into(), Value::Array(items));
    Value::Object(list)
}

/// The body of a list of a custom resource, as captures 03 (exchange 3) and 10 (exchange 0)
/// show them: keys in alphabetical order, `metadata.continue` `""` on the last page, items with
/// apiVersion and kind.
pub fn custom_list(
    api_version: &str,
    kind: &str,
    resource_version: &str,
    items: &[Value],
) -> Value {
    json!({
        "apiVersion": api_version,
        "items": items,
        "kind": format!("{kind}List"),
        "metadata": {"continue": "", "resourceVersion": resource_version},
    })
}

/// One line of a watch stream: `{"type":TYPE,"object":OBJECT}` and a newline (capture 10).
pub fn watch_event(kind: &str, object: &Value) -> String {
    format!("{}\n", json!({"type": kind, "object": object}))
}

/// A BOOKMARK line: only apiVersion, kind and metadata.resourceVersion (capture 10, event 4).
pub fn bookmark(api_version: &str, kind: &str, resource_version: &str) -> String {
    watch_event(
        "BOOKMARK",
        &json!({"apiVersion": api_version, "kind": kind,
                "metadata": {"resourceVersion": resource_version}}),
    )
}

/// Which requests a route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// Anything but a watch (GET list, discovery).
    Read,
    /// `watch=true` in the query.
    Watch,
}

/// What a route answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A complete response.
    Full(Captured),
    /// 200 with the headers of a captured watch (capture 10, exchange 1), left open; the
    /// lines come from [`MockApiServer::send`] and it ends at [`MockApiServer::end_watches`].
    OpenWatch,
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: String,
}

#[derive(Default)]
struct Routes {
    answers: HashMap<(Method, String, Call), Vec<Answer>>,
    served: HashMap<(Method, String, Call), usize>,
    watches: HashMap<String, Vec<mpsc::UnboundedSender<String>>>,
    seen: Vec<Seen>,
    unrouted: Vec<Seen>,
}

type Body = BoxBody<Bytes, Infallible>;

pub struct MockApiServer {
    addr: SocketAddr,
    routes: Arc<Mutex<Routes>>,
    running: Mutex<Option<JoinHandle<()>>>,
}

impl MockApiServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes = Arc::new(Mutex::new(Routes::default()));
        let task = tokio::spawn(accept(listener, Arc::clone(&routes)));
        Self {
            addr,
            routes,
            running: Mutex::new(Some(task)),
        }
    }

    /// A kube-rs client for this server (default namespace `default`).
    pub fn client(&self) -> kube::Client {
        let url = format!("http://{}", self.addr).parse().unwrap();
        kube::Client::try_from(kube::Config::new(url)).unwrap()
    }

    /// Answers `call`s of `method` on `path` with `answers`, in order, the last one repeating.
    pub fn route(&self, method: Method, path: &str, call: Call, answers: Vec<Answer>) {
        assert!(!answers.is_empty());
        let mut routes = self.routes.lock().unwrap();
        let key = (method, path.to_string(), call);
        routes.served.remove(&key);
        routes.answers.insert(key, answers);
    }

    /// `GET path` (not a watch) answers `captured`.
    pub fn get(&self, path: &str, captured: Captured) {
        self.route(Method::GET, path, Call::Read, vec![Answer::Full(captured)]);
    }

    /// Watches of `path` stay open and carry what [`MockApiServer::send`] sends.
    pub fn open_watches(&self, path: &str) {
        self.route(Method::GET, path, Call::Watch, vec![Answer::OpenWatch]);
    }

    /// Sends `line` on every open watch of `path`; how many watches got it.
    pub fn send(&self, path: &str, line: &str) -> usize {
        let mut routes = self.routes.lock().unwrap();
        let Some(watches) = routes.watches.get_mut(path) else {
            return 0;
        };
        watches.retain(|watch| watch.send(line.to_string()).is_ok());
        watches.len()
    }

    /// Ends every open watch of `path` as the server does at `timeoutSeconds`.
    pub fn end_watches(&self, path: &str) {
        self.routes.lock().unwrap().watches.remove(path);
    }

    /// How many watches of `path` are open now.
    pub fn open_watch_count(&self, path: &str) -> usize {
        let mut routes = self.routes.lock().unwrap();
        routes.watches.get_mut(path).map_or(0, |watches| {
            watches.retain(|watch| !watch.is_closed());
            watches.len()
        })
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.routes.lock().unwrap().seen.clone()
    }

    /// How many requests of `call` on `path` arrived so far.
    pub fn count(&self, path: &str, call: Call) -> usize {
        self.seen()
            .iter()
            .filter(|seen| seen.path == path && call_of(&seen.query) == call)
            .count()
    }

    /// Requests no route matched (answered with capture 01's text/plain 404).
    pub fn unrouted(&self) -> Vec<Seen> {
        self.routes.lock().unwrap().unrouted.clone()
    }

    /// The API server goes away: the listener closes (connection refused) and every open
    /// connection, watches included, is cut.
    pub fn stop(&self) {
        if let Some(task) = self.running.lock().unwrap().take() {
            task.abort();
        }
        self.routes.lock().unwrap().watches.clear();
    }

    /// Listens again on the same address.
    pub async fn restart(&self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        let task = tokio::spawn(accept(listener, Arc::clone(&self.routes)));
        *self.running.lock().unwrap() = Some(task);
    }
}

impl Drop for MockApiServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn call_of(query: &str) -> Call {
    if query.split('&').any(|pair| pair == "watch=true") {
        Call::Watch
    } else {
        Call::Read
    }
}

async fn accept(listener: TcpListener, routes: Arc<Mutex<Routes>>) {
    // Dropped with this task: aborting it cuts every connection.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let routes = Arc::clone(&routes);
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let routes = Arc::clone(&routes);
                async move { Ok::<_, Infallible>(answer(&routes, &request)) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

fn answer(routes: &Mutex<Routes>, request: &Request<Incoming>) -> Response<Body> {
    let seen = Seen {
        method: request.method().clone(),
        path: request.uri().path().to_string(),
        query: request.uri().query().unwrap_or_default().to_string(),
    };
    let call = call_of(&seen.query);
    let mut routes = routes.lock().unwrap();
    routes.seen.push(seen.clone());
    let key = (seen.method.clone(), seen.path.clone(), call);
    let served = routes.served.get(&key).copied().unwrap_or(0);
    let Some(answer) = routes
        .answers
        .get(&key)
        .map(|answers| answers[served.min(answers.len() - 1)].clone())
    else {
        routes.unrouted.push(seen);
        return full(&Captured::response(
            "01-unserved-group-404-text-plain.json",
            5,
        ));
    };
    routes.served.insert(key, served + 1);
    match answer {
        Answer::Full(captured) => full(&captured),
        Answer::OpenWatch => {
            let (sender, receiver) = mpsc::unbounded_channel::<String>();
            routes.watches.entry(seen.path).or_default().push(sender);
            open_watch(receiver)
        }
    }
}

fn full(captured: &Captured) -> Response<Body> {
    let mut response = Response::builder().status(StatusCode::from_u16(captured.status).unwrap());
    for (name, value) in &captured.headers {
        response = response.header(name, value);
    }
    response
        .body(Full::new(Bytes::from(captured.body.clone())).boxed())
        .unwrap()
}

fn open_watch(receiver: mpsc::UnboundedReceiver<String>) -> Response<Body> {
    let headers = Captured::response("10-restore-watch-lifecycle-status-patch-bookmark.json", 1);
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|line| {
            (
                Ok::<_, Infallible>(Frame::data(Bytes::from(line))),
                receiver,
            )
        })
    });
    let mut response = Response::builder().status(StatusCode::OK);
    for (name, value) in &headers.headers {
        response = response.header(name, value);
    }
    response.body(StreamBody::new(stream).boxed()).unwrap()
}

/// The BackupStorageLocation `velero install` creates (`default`, marked `spec.default`), as the
/// API server stores it once Velero has validated it: a custom resource keeps apiVersion and kind
/// in a list (capture 03, exchange 3), and Velero writes `status` with the object (its CRDs have
/// no status subresource).
pub fn available_storage_location() -> Value {
    json!({
        "apiVersion": "velero.io/v1",
        "kind": "BackupStorageLocation",
        "metadata": {
            "creationTimestamp": "2026-11-30T09:12:44Z",
            "generation": 1,
            "labels": {"component": "velero"},
            "name": "default",
            "namespace": "velero",
            "resourceVersion": "398",
            "uid": "6f1f8c9e-3b7a-4c1e-9a55-0d2a7e4b8c21"
        },
        "spec": {
            "default": true,
            "objectStorage": {"bucket": "velero-backups"},
            "provider": "aws"
        },
        "status": {
            "lastValidationTime": "2026-11-30T09:13:02Z",
            "phase": "Available"
        }
    })
}
