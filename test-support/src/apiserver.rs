//! A mock Kubernetes API server on 127.0.0.1 (plain HTTP/1.1, hyper) that answers with the real
//! responses in `fixtures/apiserver-captures/`: the captured status, headers (Content-Type
//! included) and exact body, or a watch stream that stays open and carries newline-delimited
//! events. A kube-rs [`kube::Client`] talks to it over a real socket, so everything from
//! connection handling to error-body parsing runs as against a real API server.
//!
//! - Routes match method, path and whether the query asks for a watch (`watch=true` or
//!   `watch=1`); their answers are used in order and the last one repeats.
//! - A request no route matches gets what a real server answers for a path it does not serve:
//!   capture 01, exchange 5 (404 `text/plain` `404 page not found`). [`MockApiServer::unrouted`]
//!   lists them, so a test can assert it asked nothing unexpected.
//! - A list answer (200 with `items`) and every watch event pass through the request's
//!   `fieldSelector=metadata.name=X` and `labelSelector`, as on a real server.
//! - [`MockApiServer::stop`] closes the listener and every connection (the API server becomes
//!   unreachable: connection refused); [`MockApiServer::restart`] listens on the same port again.

pub mod planned;
mod respond;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::Method;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use crate::bodies::{
    available_storage_location, bookmark, builtin_list, custom_list, watch_event,
};
pub use crate::captures::{Captured, capture_file};
use crate::selectors::Selectors;

/// Which requests a route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// Anything but a watch (GET, list, discovery, POST, ...).
    Read,
    /// `watch=true` (or `watch=1`) in the query.
    Watch,
}

/// What a route answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A complete response. A 200 list body loses the items the request's selectors exclude.
    Full(Captured),
    /// 200 with the headers of a captured watch (capture 10, exchange 1), left open; the
    /// lines come from [`MockApiServer::send`] and it ends at [`MockApiServer::end_watches`].
    OpenWatch,
    /// As [`Answer::OpenWatch`], sending these events first (capture 10's `events`: one
    /// `{"type","object"}` each), those the request's selectors pass.
    Watch(Vec<Value>),
    /// A complete response made from the request by a test's own code (a fake cluster that
    /// keeps state between calls); a 200 list body then passes the request's selectors.
    Made(Responder),
    /// A binary response made from the request: status, Content-Type and bytes (what the
    /// service proxy passes through from a pod).
    Bytes(BytesResponder),
}

/// Makes a response from a request ([`Answer::Made`]).
#[derive(Clone)]
pub struct Responder(pub Arc<dyn Fn(&Seen) -> Captured + Send + Sync>);

/// A binary response: status, Content-Type and bytes.
pub type BytesAnswer = (u16, String, Vec<u8>);

/// Makes a binary response from a request ([`Answer::Bytes`]).
#[derive(Clone)]
pub struct BytesResponder(pub Arc<dyn Fn(&Seen) -> BytesAnswer + Send + Sync>);

impl std::fmt::Debug for Responder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Responder")
    }
}

impl std::fmt::Debug for BytesResponder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("BytesResponder")
    }
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    /// The raw (percent-encoded) query, without the `?`.
    pub query: String,
    /// The request body as text (empty for a GET).
    pub body: String,
}

impl Seen {
    /// Which kind of call it was.
    pub fn call(&self) -> Call {
        call_of(&self.query)
    }
}

#[derive(Debug)]
struct Route {
    method: Method,
    path: String,
    call: Call,
    answer: Answer,
    /// Answers this many more times (`usize::MAX`: always); then the next route for the
    /// same request answers.
    times: usize,
}

/// One open watch stream: where its lines go, and the selectors it was opened with.
#[derive(Debug)]
struct Watching {
    lines: mpsc::UnboundedSender<String>,
    selectors: Selectors,
}

/// The server's state, shared by its connections and the test.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    routes: Vec<Route>,
    watches: HashMap<String, Vec<Watching>>,
    seen: Vec<Seen>,
    unrouted: Vec<Seen>,
    /// An unrouted watch stays open and silent (capture 11: a watch from a current
    /// resourceVersion), instead of capture 01's 404: for tests that route only what they
    /// expect to change.
    silent_unrouted_watches: bool,
}

impl Routes {
    fn push(&mut self, method: Method, path: &str, call: Call, answer: Answer, times: usize) {
        self.routes.push(Route {
            method,
            path: path.to_string(),
            call,
            answer,
            times,
        });
    }

    /// The answer for a request, counting it against its route.
    fn take(&mut self, method: &Method, path: &str, call: Call) -> Option<Answer> {
        let route = self.routes.iter_mut().find(|route| {
            route.times > 0 && route.call == call && route.method == *method && route.path == path
        })?;
        if route.times != usize::MAX {
            route.times -= 1;
        }
        Some(route.answer.clone())
    }

    /// Opens a watch of `path`: the receiver of its lines, `initial` (those `selectors` pass)
    /// already queued.
    fn open_watch(
        &mut self,
        path: &str,
        selectors: Selectors,
        initial: &[Value],
    ) -> mpsc::UnboundedReceiver<String> {
        let (lines, receiver) = mpsc::unbounded_channel();
        for event in initial.iter().filter(|event| selectors.keep_event(event)) {
            let _ = lines.send(format!("{event}\n"));
        }
        self.watches
            .entry(path.to_string())
            .or_default()
            .push(Watching { lines, selectors });
        receiver
    }
}

pub(crate) fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    routes.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn call_of(query: &str) -> Call {
    if query
        .split('&')
        .any(|pair| pair == "watch=true" || pair == "watch=1")
    {
        Call::Watch
    } else {
        Call::Read
    }
}

pub struct MockApiServer {
    addr: SocketAddr,
    routes: Arc<Mutex<Routes>>,
    running: Mutex<Option<JoinHandle<()>>>,
}

impl MockApiServer {
    /// Listens on a free port of 127.0.0.1 and serves at once.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on 127.0.0.1");
        let addr = listener.local_addr().expect("a bound address");
        let routes = Arc::new(Mutex::new(Routes::default()));
        let task = tokio::spawn(respond::accept(listener, Arc::clone(&routes)));
        Self {
            addr,
            routes,
            running: Mutex::new(Some(task)),
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A kube-rs client for this server (default namespace `default`).
    pub fn client(&self) -> kube::Client {
        client_for(self.addr)
    }

    /// Answers `call`s of `method` on `path` with `answers`, in order, the last one repeating
    /// (replacing what this route answered before).
    pub fn route(&self, method: Method, path: &str, call: Call, answers: Vec<Answer>) {
        assert!(!answers.is_empty(), "a route needs an answer");
        let mut routes = lock(&self.routes);
        routes
            .routes
            .retain(|route| !(route.method == method && route.path == path && route.call == call));
        let last = answers.len() - 1;
        for (at, answer) in answers.into_iter().enumerate() {
            let times = if at == last { usize::MAX } else { 1 };
            routes.push(method.clone(), path, call, answer, times);
        }
    }

    /// `GET path` (not a watch) answers `captured`.
    pub fn get(&self, path: &str, captured: Captured) {
        self.route(Method::GET, path, Call::Read, vec![Answer::Full(captured)]);
    }

    /// Watches of `path` stay open and carry what [`MockApiServer::send`] sends.
    pub fn open_watches(&self, path: &str) {
        self.route(Method::GET, path, Call::Watch, vec![Answer::OpenWatch]);
    }

    /// Sends `line` on every open watch of `path` whose selectors pass it; how many got it.
    pub fn send(&self, path: &str, line: &str) -> usize {
        let event: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        let mut routes = lock(&self.routes);
        let Some(watches) = routes.watches.get_mut(path) else {
            return 0;
        };
        watches.retain(|watch| !watch.lines.is_closed());
        watches
            .iter()
            .filter(|watch| watch.selectors.keep_event(&event) || event.is_null())
            .filter(|watch| watch.lines.send(line.to_string()).is_ok())
            .count()
    }

    /// Ends every open watch of `path` as the server does at `timeoutSeconds`.
    pub fn end_watches(&self, path: &str) {
        lock(&self.routes).watches.remove(path);
    }

    /// How many watches of `path` are open now.
    pub fn open_watch_count(&self, path: &str) -> usize {
        let mut routes = lock(&self.routes);
        routes.watches.get_mut(path).map_or(0, |watches| {
            watches.retain(|watch| !watch.lines.is_closed());
            watches.len()
        })
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.routes).seen.clone()
    }

    /// How many requests of `call` on `path` arrived so far.
    pub fn count(&self, path: &str, call: Call) -> usize {
        lock(&self.routes)
            .seen
            .iter()
            .filter(|seen| seen.path == path && seen.call() == call)
            .count()
    }

    /// Requests no route matched (answered with capture 01's text/plain 404).
    pub fn unrouted(&self) -> Vec<Seen> {
        lock(&self.routes).unrouted.clone()
    }

    /// The API server goes away: the listener closes (connection refused) and every open
    /// connection, watches included, is cut.
    pub fn stop(&self) {
        let task = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            task.abort();
        }
        lock(&self.routes).watches.clear();
    }

    /// Listens again on the same address.
    pub async fn restart(&self) {
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("the mock API server's port is free again");
        let task = tokio::spawn(respond::accept(listener, Arc::clone(&self.routes)));
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
    }
}

impl Drop for MockApiServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A kube-rs client for a mock server at `addr` (plain HTTP, default namespace `default`).
pub(crate) fn client_for(addr: SocketAddr) -> kube::Client {
    // kube-rs builds its TLS stack even for plain HTTP and needs a process-wide provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = format!("http://{addr}").parse().expect("a URL");
    kube::Client::try_from(kube::Config::new(url)).expect("a client for the mock API server")
}
