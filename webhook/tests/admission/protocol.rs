//! The protocol: unknown kinds, every fixture answered, bodies that are not reviews, limits,
//! methods, content types, and the deadline's failure decision.

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use backstop_webhook::admission::MAX_REVIEW_BYTES;
use backstop_webhook::args::TimeoutDecision;
use futures::StreamExt as _;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn allows_unknown_kinds_untouched() {
    let router = platform();
    let (mutated, _, validated) = admit(&router, &fixture("configmap-create-unknown-kind")).await;
    assert!(mutated.patch.is_none());
    assert!(validated.allowed && validated.warnings.is_empty());
}

#[tokio::test]
async fn answers_every_fixture_at_both_endpoints_with_200_and_its_uid() {
    let router = platform();
    for (name, body) in all_fixtures() {
        for endpoint in ["mutate", "validate"] {
            let answer = review(&router, endpoint, &body).await;
            if endpoint == "mutate" {
                assert!(answer.allowed, "{name}: mutate never refuses");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Protocol

#[tokio::test]
async fn answers_json_that_is_not_a_review_with_an_invalid_answer_and_status_200() {
    let router = platform();
    for body in [
        json!({}),
        json!([]),
        json!("review"),
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {}}),
    ] {
        let (status, bytes) = send(
            &router,
            post(
                "/validate",
                "application/json",
                serde_json::to_vec(&body).unwrap(),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let answer = Answer::parse(&bytes);
        assert!(!answer.allowed);
        assert_eq!(answer.uid, "");
        assert_eq!(answer.raw["response"]["status"]["reason"], "InvalidRequest");
    }
}

#[tokio::test]
async fn echoes_the_uid_of_a_review_it_cannot_read() {
    let router = platform();
    let mut body = fixture("namespace-create-protected-missing-tier");
    body["request"]["kind"] = json!("Namespace");
    let (status, bytes) = send(
        &router,
        post(
            "/mutate",
            "application/json",
            serde_json::to_vec(&body).unwrap(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let answer = Answer::parse(&bytes);
    assert_eq!(answer.uid, body["request"]["uid"].as_str().unwrap());
    assert!(!answer.allowed);
    assert_eq!(answer.code, Some(400));
}

#[tokio::test]
async fn rejects_a_body_that_is_not_json_with_400() {
    let router = platform();
    for body in ["", "not json", "{\"request\":", "\u{feff}{}"] {
        let (status, _) = send(&router, post("/validate", "application/json", body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
    }
}

#[tokio::test]
async fn rejects_a_body_over_seven_mib_with_413() {
    let router = platform();
    let mut body = serde_json::to_vec(&fixture("namespace-create-protected-missing-tier")).unwrap();
    // Still valid JSON, just too large: whitespace before the closing brace.
    let close = body.pop().unwrap();
    body.resize(MAX_REVIEW_BYTES + 1 - 1, b' ');
    body.push(close);
    assert_eq!(body.len(), MAX_REVIEW_BYTES + 1);
    // Declared up front.
    let mut request = post("/validate", "application/json", body.clone());
    request
        .headers_mut()
        .insert(header::CONTENT_LENGTH, body.len().into());
    let (status, _) = send(&router, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Streamed without a length.
    let chunks: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(1024 * 1024)
        .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
        .collect();
    let request = post(
        "/validate",
        "application/json",
        Body::from_stream(futures::stream::iter(chunks)),
    );
    let (status, _) = send(&router, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Exactly the limit is fine.
    body.truncate(MAX_REVIEW_BYTES - 1);
    body.push(close);
    let (status, _) = send(&router, post("/validate", "application/json", body)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn rejects_other_methods_with_405() {
    let router = platform();
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let request = Request::builder()
            .method(method.clone())
            .uri("/validate")
            .body(Body::empty())
            .unwrap();
        let (status, _) = send(&router, request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
}

#[tokio::test]
async fn rejects_other_content_types_with_415_and_accepts_a_utf8_charset() {
    let router = platform();
    let body = serde_json::to_vec(&fixture("namespace-create-unprotected")).unwrap();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin1",
    ] {
        let (status, _) = send(&router, post("/mutate", content_type, body.clone())).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
    }
    let request = Request::builder()
        .method(Method::POST)
        .uri("/mutate")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(
        send(&router, request).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let (status, _) = send(
        &router,
        post("/mutate", "application/json; charset=utf-8", body),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// A body that sends its first bytes, then nothing, like a stalled connection.
fn stalled_body() -> Body {
    let first: Result<Bytes, std::io::Error> =
        Ok(Bytes::from_static(b"{\"kind\":\"AdmissionReview\","));
    Body::from_stream(futures::stream::once(async move { first }).chain(futures::stream::pending()))
}

#[tokio::test(start_paused = true)]
async fn answers_with_the_failure_decision_before_the_apiservers_timeout() {
    let (router, metrics) = router_and_metrics("deny", TimeoutDecision::Deny);
    let started = tokio::time::Instant::now();
    let (status, bytes) = send(
        &router,
        post("/validate?timeout=2s", "application/json", stalled_body()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let waited = started.elapsed();
    assert_eq!(
        waited,
        std::time::Duration::from_millis(1500),
        "min(80%, timeout - 500ms) of 2s"
    );
    let answer = Answer::parse(&bytes);
    assert!(!answer.allowed);
    assert_eq!(answer.code, Some(504));
    assert!(answer.message.contains("timed out"), "{}", answer.message);
    let exposition = metrics.encode();
    assert!(
        exposition.contains("backstop_admission_failures_total{reason=\"timeout\"} 1"),
        "{exposition}"
    );
}

#[tokio::test(start_paused = true)]
async fn admits_with_a_warning_on_timeout_when_configured_to_allow() {
    let router = router_with("deny", TimeoutDecision::Allow);
    let (status, bytes) = send(
        &router,
        post("/mutate?timeout=1s", "application/json", stalled_body()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let answer = Answer::parse(&bytes);
    assert!(answer.allowed);
    assert!(answer.warned("timed out"), "{:?}", answer.warnings);
}
