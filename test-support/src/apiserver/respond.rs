//! The HTTP side of the mock server: accepting connections, recording each request and
//! writing its answer (a full response, or a watch stream that stays open).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{Answer, Call, Captured, Routes, Seen, lock};
use crate::selectors::Selectors;

type Body = BoxBody<Bytes, Infallible>;

/// What a real server answers for a path it does not serve (capture 01, exchange 5).
const UNSERVED: (&str, usize) = ("01-unserved-group-404-text-plain.json", 5);
/// The headers of a real watch stream (capture 10, exchange 1).
const WATCH_HEADERS: (&str, usize) = ("10-restore-watch-lifecycle-status-patch-bookmark.json", 1);

pub(crate) async fn accept(listener: TcpListener, routes: Arc<Mutex<Routes>>) {
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
                async move { Ok::<_, Infallible>(answer(&routes, request).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn answer(routes: &Mutex<Routes>, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let seen = Seen {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let call = seen.call();
    let selectors = Selectors::of_query(&seen.query);
    let mut routes = lock(routes);
    routes.seen.push(seen.clone());
    match routes.take(&seen.method, &seen.path, call) {
        Some(Answer::Full(captured)) => full(&selected(captured, &selectors)),
        Some(Answer::Made(make)) => full(&selected((make.0)(&seen), &selectors)),
        Some(Answer::Bytes(make)) => {
            let (status, content_type, bytes) = (make.0)(&seen);
            Response::builder()
                .status(StatusCode::from_u16(status).expect("a valid HTTP status"))
                .header("Content-Type", content_type)
                .body(Full::new(Bytes::from(bytes)).boxed())
                .expect("a binary response")
        }
        Some(Answer::OpenWatch) => watch(routes.open_watch(&seen.path, selectors, &[])),
        Some(Answer::Watch(events)) => watch(routes.open_watch(&seen.path, selectors, &events)),
        None if call == Call::Watch && routes.silent_unrouted_watches => {
            watch(routes.open_watch(&seen.path, selectors, &[]))
        }
        None => {
            routes.unrouted.push(seen);
            full(&Captured::response(UNSERVED.0, UNSERVED.1))
        }
    }
}

/// A 200 list body without the items `selectors` exclude (rewritten only when one is left out).
fn selected(captured: Captured, selectors: &Selectors) -> Captured {
    if captured.status != 200 || selectors.is_empty() {
        return captured;
    }
    let Ok(mut list) = serde_json::from_str::<Value>(&captured.body) else {
        return captured;
    };
    let Some(items) = list.get_mut("items").and_then(Value::as_array_mut) else {
        return captured;
    };
    let before = items.len();
    items.retain(|item| selectors.keep(item));
    if items.len() == before {
        return captured;
    }
    captured.with_json(&list)
}

fn full(captured: &Captured) -> Response<Body> {
    let status = StatusCode::from_u16(captured.status).expect("a valid HTTP status");
    let mut response = Response::builder().status(status);
    for (name, value) in &captured.headers {
        response = response.header(name, value);
    }
    response
        .body(Full::new(Bytes::from(captured.body.clone())).boxed())
        .expect("a response from captured parts")
}

fn watch(lines: mpsc::UnboundedReceiver<String>) -> Response<Body> {
    let headers = Captured::response(WATCH_HEADERS.0, WATCH_HEADERS.1);
    let stream = futures::stream::unfold(lines, |mut lines| async move {
        let line = lines.recv().await?;
        Some((Ok::<_, Infallible>(Frame::data(Bytes::from(line))), lines))
    });
    let mut response = Response::builder().status(StatusCode::OK);
    for (name, value) in &headers.headers {
        response = response.header(name, value);
    }
    response
        .body(StreamBody::new(stream).boxed())
        .expect("a watch response")
}
