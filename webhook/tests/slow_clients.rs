//! Slow and abusive clients: a request body trickled past `--body-read-timeout` gets HTTP 408
//! and frees its place among the reviews in flight.

// Helpers outside `#[test]` functions unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use backstop_webhook::admission::{self, AdmissionLimits};
use backstop_webhook::args::TimeoutDecision;
use backstop_webhook::manifests::{load_inventory, load_policy};
use backstop_webhook::metrics::{FailureReason, Metrics};
use backstop_webhook::state::AppState;
use futures::StreamExt as _;
use http_body_util::BodyExt as _;
use policy::CoverageIndex;
use tower::ServiceExt as _;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn platform_state(metrics: &Arc<Metrics>) -> AppState {
    let policy = load_policy(&repo().join("fixtures/policy/platform.yaml")).unwrap();
    let inventory = load_inventory(&[repo().join("fixtures/platform")]).unwrap();
    let state = AppState::new(
        CoverageIndex::build(Arc::new(policy), inventory),
        Arc::clone(metrics),
        TimeoutDecision::Deny,
    );
    state.set_ready(true);
    state
}

/// A review body sent one byte every `every`, for ever.
fn trickled_body(every: Duration) -> Body {
    let review =
        std::fs::read(repo().join("fixtures/admission/namespace-create-unprotected.json")).unwrap();
    let bytes = futures::stream::iter(review).then(move |byte| async move {
        tokio::time::sleep(every).await;
        Ok::<_, std::io::Error>(Bytes::from(vec![byte]))
    });
    Body::from_stream(bytes.chain(futures::stream::pending()))
}

#[tokio::test(start_paused = true)]
async fn a_body_trickled_past_the_body_read_timeout_gets_408() {
    let metrics = Arc::new(Metrics::new());
    let limits = AdmissionLimits {
        max_in_flight: 1,
        body_read: Duration::from_secs(2),
    };
    let router = admission::router_with_limits(platform_state(&metrics), limits);
    let request = |body| {
        Request::builder()
            .method(Method::POST)
            .uri("/validate?timeout=30s")
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .unwrap()
    };
    let started = tokio::time::Instant::now();
    let response = router
        .clone()
        .oneshot(request(trickled_body(Duration::from_millis(100))))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(2),
        "--body-read-timeout, well before the 24 s deadline of timeout=30s"
    );
    assert_eq!(metrics.failures(FailureReason::SlowBody), 1);
    assert!(
        metrics
            .encode()
            .contains("backstop_admission_failures_total{reason=\"slow_body\"} 1")
    );

    // Its place in flight is free again: the next review is decided, not shed.
    let review =
        std::fs::read(repo().join("fixtures/admission/namespace-create-unprotected.json")).unwrap();
    let response = router.oneshot(request(Body::from(review))).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    assert_eq!(metrics.failures(FailureReason::Overloaded), 0);
}
