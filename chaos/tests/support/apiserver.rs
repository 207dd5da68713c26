//! A mocked Kubernetes API server on 127.0.0.1 that answers with captured real answers
//! (`fixtures/apiserver-captures/`): each route names the capture file and exchange its
//! answer comes from. Like a real server it applies a `fieldSelector=metadata.name=X` and a
//! `labelSelector` of equalities and existence tests (`k=v,k2`) to list items and watch
//! events, and a watch it has no more events for stays open and silent (capture 11: a
//! watch from a current resourceVersion gives 200 and silence).

#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

/// One captured answer: status, content type and body (or, for a watch, its events).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
    pub events: Option<Vec<Value>>,
}

/// Loads exchange `index` of `fixtures/apiserver-captures/<file>.json`.
pub fn captured(file: &str, index: usize) -> Answer {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/apiserver-captures")
        .join(format!("{file}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let capture: Value = serde_json::from_str(&text).unwrap();
    let response = &capture["exchanges"][index]["response"];
    Answer {
        status: u16::try_from(response["status"].as_u64().unwrap()).unwrap(),
        content_type: response["headers"]["Content-Type"]
            .as_str()
            .map(str::to_owned),
        body: response["body"].as_str().unwrap_or_default().to_owned(),
        events: response["events"].as_array().cloned(),
    }
}

/// The object of a captured answer's body (`bodyJson`), for building an event from it.
pub fn captured_object(file: &str, index: usize) -> Value {
    let answer = captured(file, index);
    serde_json::from_str(&answer.body).unwrap()
}

#[derive(Debug, Clone)]
struct Route {
    method: String,
    path: String,
    watch: bool,
    answer: Answer,
    /// Served this many times; then the next route with the same key answers.
    times: usize,
}

#[derive(Debug, Default)]
struct Routes {
    routes: Vec<Route>,
    seen: Vec<String>,
    bodies: Vec<(String, String)>,
}

/// The mock server: add routes, then [`MockApiServer::start`].
#[derive(Debug, Clone, Default)]
pub struct MockApiServer {
    routes: Arc<Mutex<Routes>>,
}

impl MockApiServer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `method path` (not a watch) with `answer`, every time.
    pub fn on(self, method: &str, path: &str, answer: Answer) -> Self {
        self.push(method, path, false, answer, usize::MAX)
    }

    /// Answers `method path` (not a watch) with `answer` once; later calls go to the next
    /// route for the same request.
    pub fn once(self, method: &str, path: &str, answer: Answer) -> Self {
        self.push(method, path, false, answer, 1)
    }

    /// Answers the first watch of `path` with `answer`'s events; later watches stay silent.
    pub fn on_watch(self, path: &str, answer: Answer) -> Self {
        self.push("GET", path, true, answer, 1)
    }

    fn push(self, method: &str, path: &str, watch: bool, answer: Answer, times: usize) -> Self {
        self.routes.lock().unwrap().routes.push(Route {
            method: method.to_owned(),
            path: path.to_owned(),
            watch,
            answer,
            times,
        });
        self
    }

    /// Every request received, as `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.routes.lock().unwrap().seen.clone()
    }

    /// Every non-empty request body received, with its `METHOD path?query`.
    pub fn bodies(&self) -> Vec<(String, String)> {
        self.routes.lock().unwrap().bodies.clone()
    }

    /// Serves on 127.0.0.1 and returns a kube client for it.
    pub async fn start(&self) -> (kube::Client, SocketAddr) {
        backstop_chaos::kube::client::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(self.routes.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let url: http::Uri = format!("http://{addr}").parse().unwrap();
        let config = kube::Config::new(url);
        (kube::Client::try_from(config).unwrap(), addr)
    }
}

fn query_value(query: &str, wanted: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == wanted).then(|| percent_decoded(value))
    })
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn name_selector(query: &str) -> Option<String> {
    query_value(query, "fieldSelector")?
        .strip_prefix("metadata.name=")
        .map(str::to_owned)
}

fn named(object: &Value, name: &str) -> bool {
    object["metadata"]["name"].as_str() == Some(name)
}

/// Whether `object`'s labels satisfy a selector of `k=v`, `k==v`, `k!=v` and `k` terms.
fn labelled(object: &Value, selector: &str) -> bool {
    let labels = &object["metadata"]["labels"];
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        if let Some((key, value)) = term.split_once("!=") {
            labels[key].as_str() != Some(value)
        } else if let Some((key, value)) = term.split_once('=') {
            labels[key].as_str() == Some(value.trim_start_matches('='))
        } else {
            labels.get(term).is_some()
        }
    })
}

/// Whether `object` passes the request's field and label selectors.
fn selected(object: &Value, names: Option<&str>, labels: Option<&str>) -> bool {
    names.is_none_or(|name| named(object, name)) && labels.is_none_or(|s| labelled(object, s))
}

async fn answer(State(routes): State<Arc<Mutex<Routes>>>, request: Request) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let watch = query
        .split('&')
        .any(|p| p == "watch=true" || p == "watch=1");
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let found = {
        let mut routes = routes.lock().unwrap();
        routes.seen.push(format!("{method} {path}?{query}"));
        if !body.is_empty() {
            let text = String::from_utf8_lossy(&body).into_owned();
            routes
                .bodies
                .push((format!("{method} {path}?{query}"), text));
        }
        let hit = routes
            .routes
            .iter_mut()
            .find(|r| r.method == method && r.path == path && r.watch == watch && r.times > 0);
        hit.map(|r| {
            r.times -= 1;
            r.answer.clone()
        })
    };
    let selector = name_selector(&query);
    let label_selector = query_value(&query, "labelSelector");
    let keep = |object: &Value| selected(object, selector.as_deref(), label_selector.as_deref());
    match (found, watch) {
        (Some(answer), true) => {
            let events = answer.events.unwrap_or_default();
            let mut body = String::new();
            for event in events {
                if event["type"] == "BOOKMARK" || keep(&event["object"]) {
                    body.push_str(&event.to_string());
                    body.push('\n');
                }
            }
            let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) })
                .chain(futures::stream::pending());
            json_response(answer.status, Body::from_stream(stream))
        }
        (None, true) => {
            // A watch with nothing new: 200 and silence, until the client goes away.
            let stream = futures::stream::pending::<Result<String, std::io::Error>>();
            json_response(200, Body::from_stream(stream))
        }
        (Some(answer), false) => {
            let mut body = answer.body.clone();
            if (selector.is_some() || label_selector.is_some())
                && let Ok(mut list) = serde_json::from_str::<Value>(&answer.body)
                && let Some(items) = list["items"].as_array_mut()
            {
                items.retain(|item| keep(item));
                body = format!("{list}\n");
            }
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = StatusCode::from_u16(answer.status).unwrap();
            if let Some(ct) = answer.content_type {
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_str(&ct).unwrap());
            }
            response
        }
        (None, false) => {
            // What a real server says for a path it does not serve (capture 01).
            let answer = captured("01-unserved-group-404-text-plain", 0);
            let mut response = Response::new(Body::from(answer.body));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        }
    }
}

fn json_response(status: u16, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

use futures::StreamExt as _;
