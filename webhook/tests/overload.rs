//! Overload: at most `--max-in-flight` reviews are read and decided at once. The router is driven
//! past that bound by reviews whose bodies are held back (each holds its place while its body
//! arrives, as a slow apiserver connection would), and every review sent meanwhile must be
//! answered at once (HTTP 200, its uid echoed) with the failure decision, never queued; the held
//! ones are answered no later than the apiserver's `?timeout=` minus the safety margin.
//!
//! The reviews are `fixtures/admission/namespace-create-unprotected.json` (allowed when decided)
//! over the bundled platform (`fixtures/policy/platform.yaml` over `fixtures/platform/`).

// Helpers outside `#[test]` functions unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use backstop_webhook::admission::{self, AdmissionLimits};
use backstop_webhook::args::TimeoutDecision;
use backstop_webhook::manifests::{load_inventory, load_policy};
use backstop_webhook::metrics::{FailureReason, Metrics};
use backstop_webhook::state::AppState;
use futures::StreamExt as _;
use http_body_util::BodyExt as _;
use policy::{CoverageIndex, Policy};
use serde_json::Value;
use tower::ServiceExt as _;

const BOUND: usize = 4;
/// Reviews sent while the bound is taken.
const BURST: usize = 64;
/// What an answer given "at once" may take on a loaded 2-core CI machine: far below any deadline.
const AT_ONCE: Duration = Duration::from_millis(750);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn review_body() -> Vec<u8> {
    std::fs::read(repo().join("fixtures/admission/namespace-create-unprotected.json")).unwrap()
}

fn uid_of(body: &[u8]) -> String {
    let review: Value = serde_json::from_slice(body).unwrap();
    review["request"]["uid"].as_str().unwrap().to_string()
}

fn router(enforcement: &str, timeout_decision: TimeoutDecision) -> (Router, Arc<Metrics>) {
    let path = repo().join("fixtures/policy/platform.yaml");
    let policy = if enforcement == "deny" {
        load_policy(&path).unwrap()
    } else {
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace("enforcement: deny", &format!("enforcement: {enforcement}"));
        Policy::from_yaml(&text, "platform.yaml (variant)").unwrap()
    };
    let inventory = load_inventory(&[repo().join("fixtures/platform")]).unwrap();
    let metrics = Arc::new(Metrics::new());
    let state = AppState::new(
        CoverageIndex::build(Arc::new(policy), inventory),
        Arc::clone(&metrics),
        timeout_decision,
    );
    state.set_ready(true);
    let limits = AdmissionLimits {
        max_in_flight: BOUND,
        ..AdmissionLimits::default()
    };
    (admission::router_with_limits(state, limits), metrics)
}

fn post(path: &str, body: Body) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap()
}

/// A review body whose first half is sent at once and whose rest waits for `release` (forever
/// when it is dropped unsent).
fn held_body(body: &[u8]) -> (Body, tokio::sync::oneshot::Sender<()>) {
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (head, tail) = body.split_at(body.len() / 2);
    let head: Result<Bytes, std::io::Error> = Ok(Bytes::copy_from_slice(head));
    let tail = Bytes::copy_from_slice(tail);
    let rest = futures::stream::once(async move {
        match released.await {
            Ok(()) => Ok(tail),
            Err(_) => std::future::pending().await,
        }
    });
    (
        Body::from_stream(futures::stream::once(async move { head }).chain(rest)),
        release,
    )
}

struct Answered {
    status: StatusCode,
    took: Duration,
    answer: Value,
}

impl Answered {
    fn response(&self) -> &Value {
        &self.answer["response"]
    }

    fn allowed(&self) -> bool {
        self.response()["allowed"].as_bool().unwrap()
    }

    fn code(&self) -> Option<u64> {
        self.response()["status"]["code"].as_u64()
    }

    fn warnings(&self) -> Vec<String> {
        self.response()["warnings"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|warning| warning.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn spawn_send(router: &Router, request: Request<Body>) -> tokio::task::JoinHandle<Answered> {
    let router = router.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let took = started.elapsed();
        let answer = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
        Answered {
            status,
            took,
            answer,
        }
    })
}

/// Waits until `count` reviews hold a place in flight.
async fn wait_in_flight(metrics: &Metrics, count: usize) {
    let expected = format!("backstop_admission_in_flight {count}\n");
    let started = Instant::now();
    while !metrics.encode().contains(&expected) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never {count} in flight:\n{}",
            metrics.encode()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Takes every place in flight with reviews whose bodies are held back.
async fn fill_the_bound(
    router: &Router,
    metrics: &Metrics,
    query: &str,
) -> Vec<(
    tokio::task::JoinHandle<Answered>,
    tokio::sync::oneshot::Sender<()>,
)> {
    let body = review_body();
    let mut held = Vec::new();
    for _ in 0..BOUND {
        let (body, release) = held_body(&body);
        held.push((
            spawn_send(router, post(&format!("/validate?{query}"), body)),
            release,
        ));
    }
    wait_in_flight(metrics, BOUND).await;
    held
}

async fn burst(router: &Router, endpoint: &str) -> Vec<Answered> {
    let body = review_body();
    let sent: Vec<_> = (0..BURST)
        .map(|_| {
            spawn_send(
                router,
                post(
                    &format!("/{endpoint}?timeout=10s"),
                    Body::from(body.clone()),
                ),
            )
        })
        .collect();
    let mut answers = Vec::new();
    for answer in sent {
        answers.push(answer.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_reviews_past_the_bound_at_once_with_the_failure_decision() {
    let (router, metrics) = router("deny", TimeoutDecision::Deny);
    let uid = uid_of(&review_body());
    let held = fill_the_bound(&router, &metrics, "timeout=10s").await;

    for endpoint in ["validate", "mutate"] {
        for answered in burst(&router, endpoint).await {
            assert_eq!(answered.status, StatusCode::OK);
            assert!(answered.took < AT_ONCE, "queued for {:?}", answered.took);
            assert_eq!(answered.response()["uid"], uid.as_str());
            assert!(!answered.allowed(), "{}", answered.answer);
            assert_eq!(answered.code(), Some(429), "{}", answered.answer);
            assert_eq!(answered.response()["status"]["reason"], "TooManyRequests");
            let message = answered.response()["status"]["message"].as_str().unwrap();
            assert!(message.contains("overloaded"), "{message}");
        }
    }
    assert_eq!(
        metrics.failures(FailureReason::Overloaded),
        2 * BURST as u64
    );
    assert!(
        metrics.encode().contains(&format!(
            "backstop_admission_failures_total{{reason=\"overloaded\"}} {}",
            2 * BURST
        )),
        "rejections are counted in /metrics"
    );

    // The held reviews complete and are decided normally: this review is allowed.
    for (answer, release) in held {
        release.send(()).unwrap();
        let answered = answer.await.unwrap();
        assert_eq!(answered.status, StatusCode::OK);
        assert_eq!(answered.response()["uid"], uid.as_str());
        assert!(answered.allowed(), "{}", answered.answer);
    }
    wait_in_flight(&metrics, 0).await;
    let after = burst(&router, "validate").await;
    assert!(
        after.iter().all(Answered::allowed),
        "decided normally again"
    );
}

/// `namespace-create-unprotected.json` (in the apiserver's field order: uid, kind and operation
/// before object), cut inside `object` and ended with text that is not JSON.
fn review_cut_inside_its_object() -> Vec<u8> {
    let review = String::from_utf8(review_body()).unwrap();
    let cut = review.find(r#""object":"#).unwrap() + r#""object":"#.len();
    format!("{}{{\"metadata\": this is not JSON", &review[..cut]).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shed_review_is_answered_from_its_head_without_decoding_its_object() {
    let (router, metrics) = router("deny", TimeoutDecision::Deny);
    let body = review_cut_inside_its_object();
    let uid = uid_of(&review_body());

    // Decided normally, the body is refused whole: its object is read, and is not JSON.
    let decided = router
        .clone()
        .oneshot(post("/validate?timeout=10s", Body::from(body.clone())))
        .await
        .unwrap();
    assert_eq!(decided.status(), StatusCode::BAD_REQUEST);

    // Shed, only its head (uid, kind, operation) is read: answered with the failure decision.
    let held = fill_the_bound(&router, &metrics, "timeout=10s").await;
    let shed = spawn_send(&router, post("/validate?timeout=10s", Body::from(body)))
        .await
        .unwrap();
    assert_eq!(shed.status, StatusCode::OK);
    assert_eq!(shed.response()["uid"], uid.as_str());
    assert_eq!(shed.answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(shed.code(), Some(429), "{}", shed.answer);
    assert!(
        metrics.encode().contains(
            r#"backstop_admission_decisions_total{endpoint="validate",kind="Namespace",operation="CREATE",verdict="denied"} 1"#
        ),
        "the shed answer is counted under the review's kind and operation:\n{}",
        metrics.encode()
    );
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_review_is_answered_before_the_apiservers_timeout_while_overloaded() {
    let (router, metrics) = router("deny", TimeoutDecision::Deny);
    // Held forever: the deadline of `timeout=2s` (1.5 s) answers them.
    let held = fill_the_bound(&router, &metrics, "timeout=2s").await;
    let deadline = admission::deadline(Duration::from_secs(2));
    // Past the bound, with a body that also stalls: the deadline bounds it too.
    let (stalled, _keep) = held_body(&review_body());
    let stalled = spawn_send(&router, post("/mutate?timeout=2s", stalled));
    let burst = burst(&router, "validate").await;
    assert!(burst.iter().all(|answered| answered.took < AT_ONCE));
    assert!(burst.iter().all(|answered| answered.code() == Some(429)));

    let mut late = Vec::new();
    for answer in held.into_iter().map(|(answer, _release)| answer) {
        let answered = answer.await.unwrap();
        assert_eq!(answered.status, StatusCode::OK);
        assert_eq!(answered.code(), Some(504), "{}", answered.answer);
        late.push(answered.took);
    }
    let answered = stalled.await.unwrap();
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(answered.code(), Some(504), "{}", answered.answer);
    late.push(answered.took);
    for took in late {
        assert!(
            took >= deadline && took < deadline + Duration::from_millis(400),
            "answered after {took:?}; the deadline is {deadline:?} of the apiserver's 2s"
        );
    }
    // The stalled one past the bound never got to be shed: it counts as timed out.
    assert_eq!(metrics.failures(FailureReason::Timeout), BOUND as u64 + 1);
    assert_eq!(metrics.failures(FailureReason::Overloaded), BURST as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sheds_with_an_admission_under_warn_or_timeout_decision_allow() {
    for (enforcement, decision, warning) in [
        (
            "warn",
            TimeoutDecision::Deny,
            "admitted without checks (enforcement is warn)",
        ),
        (
            "deny",
            TimeoutDecision::Allow,
            "admitted without checks (--timeout-decision=allow)",
        ),
    ] {
        let (router, metrics) = router(enforcement, decision);
        let held = fill_the_bound(&router, &metrics, "timeout=10s").await;
        for answered in burst(&router, "validate").await {
            assert_eq!(answered.status, StatusCode::OK);
            assert!(answered.took < AT_ONCE);
            assert!(answered.allowed(), "{enforcement}: {}", answered.answer);
            let warnings = answered.warnings();
            assert!(
                warnings
                    .iter()
                    .any(|text| text.contains("overloaded") && text.contains(warning)),
                "{enforcement}: {warnings:?}"
            );
        }
        assert_eq!(metrics.failures(FailureReason::Overloaded), BURST as u64);
        for (answer, release) in held {
            release.send(()).unwrap();
            assert!(answer.await.unwrap().allowed());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sheds_silently_under_dry_run() {
    let (router, metrics) = router("dry-run", TimeoutDecision::Deny);
    let held = fill_the_bound(&router, &metrics, "timeout=10s").await;
    for answered in burst(&router, "mutate").await {
        assert!(answered.allowed(), "{}", answered.answer);
        assert!(answered.warnings().is_empty(), "{}", answered.answer);
    }
    assert_eq!(metrics.failures(FailureReason::Overloaded), BURST as u64);
    drop(held);
}
