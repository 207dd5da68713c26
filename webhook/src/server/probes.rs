//! `/healthz` (the process answers), `/readyz` (policy loaded and every cache synced, and not
//! shutting down) and `/metrics` (OpenMetrics text).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::CONTENT_TYPE;
use crate::state::AppState;

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

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: caches not synced yet, or shutting down\n",
        )
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.encode(),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

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
        probe_router(state.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
            .status()
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
