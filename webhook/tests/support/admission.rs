//! The admission harness the `admission` tests share: the bundled platform's index behind the
//! in-process router, reviews sent as the apiserver sends them, answers read as it reads them,
//! and patches applied as it applies them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use backstop_webhook::admission;
use backstop_webhook::args::TimeoutDecision;
use backstop_webhook::manifests::{load_inventory, load_policy};
use backstop_webhook::metrics::Metrics;
use backstop_webhook::state::AppState;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::BodyExt as _;
use policy::{CoverageIndex, Policy};
use serde_json::Value;
use tower::ServiceExt as _;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn fixture(name: &str) -> Value {
    let path = repo()
        .join("fixtures/admission")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

pub fn all_fixtures() -> Vec<(String, Value)> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("fixtures/admission"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let body = fixture(&name);
            (name, body)
        })
        .collect()
}

/// The platform policy with its `enforcement` replaced.
pub fn platform_index(enforcement: &str) -> CoverageIndex {
    let path = repo().join("fixtures/policy/platform.yaml");
    let policy = if enforcement == "deny" {
        load_policy(&path).unwrap()
    } else {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("enforcement: deny"));
        let text = text.replace("enforcement: deny", &format!("enforcement: {enforcement}"));
        Policy::from_yaml(&text, "platform.yaml (variant)").unwrap()
    };
    let inventory = load_inventory(&[repo().join("fixtures/platform")]).unwrap();
    CoverageIndex::build(Arc::new(policy), inventory)
}

pub fn router_with(enforcement: &str, timeout_decision: TimeoutDecision) -> Router {
    router_and_metrics(enforcement, timeout_decision).0
}

pub fn router_and_metrics(
    enforcement: &str,
    timeout_decision: TimeoutDecision,
) -> (Router, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    let state = AppState::new(
        platform_index(enforcement),
        Arc::clone(&metrics),
        timeout_decision,
    );
    state.set_ready(true);
    (admission::router(state), metrics)
}

pub fn platform() -> Router {
    router_with("deny", TimeoutDecision::Deny)
}

pub async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

pub fn post(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}

/// An answer, as the apiserver reads it.
#[derive(Debug)]
pub struct Answer {
    pub uid: String,
    pub allowed: bool,
    pub code: Option<u64>,
    pub message: String,
    pub warnings: Vec<String>,
    pub patch: Option<json_patch::Patch>,
    pub raw: Value,
}

impl Answer {
    pub fn parse(body: &[u8]) -> Self {
        let raw: Value = serde_json::from_slice(body).expect("the answer is JSON");
        assert_eq!(raw["apiVersion"], "admission.k8s.io/v1", "{raw}");
        assert_eq!(raw["kind"], "AdmissionReview", "{raw}");
        let response = &raw["response"];
        let patch = response["patch"].as_str().map(|patch| {
            assert_eq!(response["patchType"], "JSONPatch");
            serde_json::from_slice(&BASE64.decode(patch).expect("base64 patch"))
                .expect("JSON patch")
        });
        Self {
            uid: response["uid"]
                .as_str()
                .expect("uid is a string")
                .to_string(),
            allowed: response["allowed"].as_bool().expect("allowed is a bool"),
            code: response["status"]["code"].as_u64(),
            message: response["status"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            warnings: response["warnings"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|warning| warning.as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default(),
            patch,
            raw,
        }
    }

    pub fn warned(&self, text: &str) -> bool {
        self.warnings.iter().any(|warning| warning.contains(text))
    }

    /// A Schedule denial names each critical namespace that would lose coverage, with its tier.
    pub fn assert_names_every_critical_namespace(&self) {
        for namespace in CRITICAL_NAMESPACES {
            assert!(
                self.message
                    .contains(&format!("Namespace {namespace} (critical)")),
                "{namespace}: {}",
                self.message
            );
        }
    }
}

/// Sends a review body to `/mutate` or `/validate` as the apiserver does, and checks the
/// protocol: HTTP 200, a JSON answer echoing the request's uid.
pub async fn review(router: &Router, endpoint: &str, body: &Value) -> Answer {
    let (status, bytes) = send(
        router,
        post(
            &format!("/{endpoint}?timeout=10s"),
            "application/json",
            serde_json::to_vec(body).unwrap(),
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let answer = Answer::parse(&bytes);
    assert_eq!(answer.uid, body["request"]["uid"].as_str().unwrap());
    answer
}

/// Applies an answer's patch to the request's object, as the apiserver does.
pub fn patched(body: &Value, answer: &Answer) -> Value {
    let mut object = body["request"]["object"].clone();
    if let Some(patch) = &answer.patch {
        json_patch::patch(&mut object, &patch.0).expect("the patch applies to the object");
    }
    object
}

/// The apiserver's admission chain: `/mutate`, the patch applied, then `/validate` of the
/// mutated object. Returns the mutate answer, the mutated object and the validate answer.
pub async fn admit(router: &Router, body: &Value) -> (Answer, Value, Answer) {
    let mutated = review(router, "mutate", body).await;
    assert!(mutated.allowed, "mutate never refuses: {:?}", mutated.raw);
    let object = patched(body, &mutated);
    let mut validated_body = body.clone();
    validated_body["request"]["object"] = object.clone();
    let validated = review(router, "validate", &validated_body).await;
    (mutated, object, validated)
}

pub fn annotations(object: &Value) -> &serde_json::Map<String, Value> {
    object["metadata"]["annotations"]
        .as_object()
        .expect("annotations is a map")
}

pub fn labels(object: &Value) -> &serde_json::Map<String, Value> {
    object["metadata"]["labels"]
        .as_object()
        .expect("labels is a map")
}

/// The platform's critical namespaces, each covered only by the hourly `critical-backup`.
pub const CRITICAL_NAMESPACES: [&str; 4] =
    ["data-platform", "monitoring", "vault-prod", "ml-platform"];

pub const COVERED_BY_ALL_THREE: &str = "critical-backup,daily-backup,weekly-full-backup";
