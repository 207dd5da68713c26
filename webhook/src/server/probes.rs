//! `/healthz` (the process answers), `/readyz` (policy loaded, every cache synced once and none
//! staler than `--max-cache-staleness`, and not shutting down) and `/metrics` (OpenMetrics
//! text).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::CONTENT_TYPE;
use crate::state::{AppState, Readiness};

pub fn probe_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    match state.readiness() {
        Readiness::Ready => (StatusCode::OK, "ready\n".to_string()),
        Readiness::NotStarted => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: caches not synced yet, or shutting down\n".to_string(),
        ),
        Readiness::Caches(problem) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {problem}\n"),
        ),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.publish_freshness();
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.encode(),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use axum::body::Body;
    use axum::http::Request;
    use policy::{CoverageIndex, Inventory, Policy};
    use tower::ServiceExt;

    use super::*;
    use crate::args::TimeoutDecision;
    use crate::metrics::Metrics;

    fn state() -> AppState {
        let policy = Policy::from_yaml(
            include_str!("../../../fixtures/policy/platform.yaml"),
            "platform.yaml",
        )
        .unwrap();
        AppState::new(
            CoverageIndex::build(Arc::new(policy), Inventory::default()),
            Arc::new(Metrics::new()),
            TimeoutDecision::Deny,
        )
    }

    async fn status(state: &AppState, path: &str) -> StatusCode {
        get(state, path).await.0
    }

    async fn get(state: &AppState, path: &str) -> (StatusCode, String) {
        let response = probe_router(state.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_cache_past_the_staleness_bound_fails_readiness_and_shows_its_age() {
        let state = state().with_max_cache_staleness(Duration::from_secs(5));
        state.freshness.track("pods");
        state.freshness.synced("pods");
        state.set_ready(true);
        assert_eq!(status(&state, "/readyz").await, StatusCode::OK);
        let broke = Instant::now().checked_sub(Duration::from_secs(10)).unwrap();
        state.freshness.lost("pods", broke);
        let (code, body) = get(&state, "/readyz").await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, "not ready: the pods cache is 10s stale (limit 5s)\n");
        let (_, metrics) = get(&state, "/metrics").await;
        let age: f64 = metrics
            .lines()
            .find_map(|line| {
                line.strip_prefix("backstop_cache_staleness_seconds{resource=\"pods\"} ")
            })
            .unwrap()
            .parse()
            .unwrap();
        assert!((10.0..11.0).contains(&age), "{age}");
        assert!(
            metrics
                .lines()
                .any(|line| line == "backstop_cache_max_staleness_seconds 5.0"),
            "the bound is exported for alerts: {metrics}"
        );
        state.freshness.current("pods");
        assert_eq!(status(&state, "/readyz").await, StatusCode::OK);
    }

    #[tokio::test]
    async fn ready_only_when_state_says_so() {
        let state = state();
        assert_eq!(status(&state, "/healthz").await, StatusCode::OK);
        assert_eq!(
            status(&state, "/readyz").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        state.set_ready(true);
        assert_eq!(status(&state, "/readyz").await, StatusCode::OK);
        assert_eq!(status(&state, "/metrics").await, StatusCode::OK);
    }
}
