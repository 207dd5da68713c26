//! The writer's HTTP face: what it has acknowledged, whether it is healthy, and
//! what it found on disk when it started.
//!
//! - `GET /last` → `{"seq": N, "unixNanos": T}`: the newest record that is on
//!   stable storage (503 before the first one).
//! - `GET /healthz` → 200 while appends keep succeeding, 503 once the newest
//!   acknowledgement is older than the staleness limit.
//! - `GET /startup` → JSON verification of the file as found at start.
//! - `GET /found-at-start` → the bytes this start found (404 when the file was new).
//! - `GET /found-at-start/{start id}` → the bytes the start with that id found (404 when
//!   there is no such evidence): what the harness reads after a restore, by the restored
//!   pod's UID, so that a restart since then does not change the answer.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::Serialize;

use super::Record;
use super::writer::{StartId, Startup, preserved_path};

/// The answer of `GET /last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Last {
    pub seq: u64,
    pub unix_nanos: u64,
}

/// State shared by the writer thread and the HTTP handlers.
#[derive(Debug)]
pub struct Shared {
    last: Mutex<Option<(Last, Instant)>>,
    startup: Startup,
    ledger_file: PathBuf,
    stale_after: Duration,
}

impl Shared {
    pub fn new(startup: Startup, ledger_file: PathBuf, stale_after: Duration) -> Arc<Self> {
        Arc::new(Self {
            last: Mutex::new(None),
            startup,
            ledger_file,
            stale_after,
        })
    }

    /// Publishes a record that is on stable storage: from now on it is acknowledged.
    pub fn acknowledge(&self, record: &Record) {
        let last = Last {
            seq: record.seq,
            unix_nanos: record.unix_nanos,
        };
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some((last, Instant::now()));
    }

    fn last(&self) -> Option<(Last, Instant)> {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn found_at_start(&self) -> Option<&PathBuf> {
        self.startup.preserved_as.as_ref()
    }
}

/// The router for a writer.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/last", get(last))
        .route("/healthz", get(healthz))
        .route("/startup", get(startup))
        .route("/found-at-start", get(found_at_start))
        .route("/found-at-start/{id}", get(found_at_start_of))
        .with_state(shared)
}

async fn last(State(s): State<Arc<Shared>>) -> Response {
    match s.last() {
        Some((last, _)) => Json(last).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "no record acknowledged yet\n",
        )
            .into_response(),
    }
}

async fn healthz(State(s): State<Arc<Shared>>) -> Response {
    match s.last() {
        Some((_, at)) if at.elapsed() <= s.stale_after => (StatusCode::OK, "ok\n").into_response(),
        Some((last, at)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "stale: seq {} was acknowledged {:.1}s ago\n",
                last.seq,
                at.elapsed().as_secs_f64()
            ),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "no record acknowledged yet\n",
        )
            .into_response(),
    }
}

async fn startup(State(s): State<Arc<Shared>>) -> Json<Startup> {
    Json(s.startup.clone())
}

async fn found_at_start(State(s): State<Arc<Shared>>) -> Response {
    let Some(path) = s.found_at_start() else {
        return (StatusCode::NOT_FOUND, "the ledger was new at start\n").into_response();
    };
    send_file(path).await
}

async fn found_at_start_of(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let id = match StartId::parse(&id) {
        Ok(id) => id,
        Err(message) => return (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response(),
    };
    let path = preserved_path(&s.ledger_file, &id);
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return (
            StatusCode::NOT_FOUND,
            format!("no evidence of a start {}\n", id.as_str()),
        )
            .into_response();
    }
    send_file(&path).await
}

async fn send_file(path: &std::path::Path) -> Response {
    match tokio::fs::read(path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{}: {e}\n", path.display()),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::verify::verify;
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    fn shared(stale_after: Duration) -> Arc<Shared> {
        Shared::new(
            Startup {
                found: verify(&[]),
                start_id: StartId::parse("pod-a").unwrap(),
                preserved_as: None,
                kept_earlier_evidence: false,
                repaired: false,
            },
            PathBuf::from("/nonexistent/ledger.log"),
            stale_after,
        )
    }

    async fn get(shared: &Arc<Shared>, path: &str) -> (StatusCode, String) {
        let (status, body) = get_bytes(shared, path).await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn get_bytes(shared: &Arc<Shared>, path: &str) -> (StatusCode, Vec<u8>) {
        let response = router(shared.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, body.to_vec())
    }

    #[tokio::test]
    async fn last_answers_the_newest_acknowledged_record() {
        let s = shared(Duration::from_secs(5));
        assert_eq!(get(&s, "/last").await.0, StatusCode::SERVICE_UNAVAILABLE);
        let first = Record::next(None, 1_000);
        s.acknowledge(&first);
        s.acknowledge(&Record::next(Some(&first), 2_000));
        assert_eq!(
            get(&s, "/last").await,
            (StatusCode::OK, r#"{"seq":2,"unixNanos":2000}"#.to_owned())
        );
    }

    #[tokio::test]
    async fn healthz_turns_unavailable_when_acknowledgements_stop() {
        let s = shared(Duration::from_millis(30));
        assert_eq!(get(&s, "/healthz").await.0, StatusCode::SERVICE_UNAVAILABLE);
        s.acknowledge(&Record::next(None, 1));
        assert_eq!(get(&s, "/healthz").await.0, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(60)).await;
        let (status, body) = get(&s, "/healthz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.starts_with("stale: seq 1 was acknowledged"), "{body}");
    }

    #[tokio::test]
    async fn a_new_ledger_has_nothing_found_at_start() {
        let s = shared(Duration::from_secs(5));
        assert_eq!(get(&s, "/found-at-start").await.0, StatusCode::NOT_FOUND);
        let (status, body) = get(&s, "/startup").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("\"preservedAs\":null"), "{body}");
    }

    #[tokio::test]
    async fn evidence_is_served_by_start_id_and_ids_that_are_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ledger.log");
        let restored = crate::ledger::encode_all(&crate::ledger::chain(2, 10, 10));
        std::fs::write(&file, &restored).unwrap();
        let (_, startup) =
            crate::ledger::writer::Ledger::open(&file, StartId::parse("uid-1").unwrap()).unwrap();
        let s = Shared::new(startup, file, Duration::from_secs(5));
        let (status, body) = get_bytes(&s, "/found-at-start/uid-1").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, restored);
        assert_eq!(
            get(&s, "/found-at-start/uid-2").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get(&s, "/found-at-start/..").await.0,
            StatusCode::BAD_REQUEST
        );
    }
}
