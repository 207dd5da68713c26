//! The admission router in-process: AdmissionReview fixtures (`fixtures/admission/`, modelled on
//! real apiserver captures) sent to `/mutate` and `/validate` as the apiserver sends them, the
//! returned JSON patch applied with `json-patch` exactly as the apiserver applies it, and the
//! resulting object checked.
//!
//! The coverage index is the bundled platform: `fixtures/policy/platform.yaml` over
//! `fixtures/platform/`, where the only hourly schedule cannot give the critical tier its 15m.

// Helpers outside `#[test]` functions unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use backstop_webhook::admission::{self, MAX_REVIEW_BYTES};
use backstop_webhook::args::TimeoutDecision;
use backstop_webhook::manifests::{load_inventory, load_policy};
use backstop_webhook::metrics::Metrics;
use backstop_webhook::state::AppState;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::StreamExt as _;
use http_body_util::BodyExt as _;
use policy::{CoverageIndex, Policy};
use serde_json::{Value, json};
use tower::ServiceExt as _;

// ---------------------------------------------------------------------------------------------
// Harness

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> Value {
    let path = repo()
        .join("fixtures/admission")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn all_fixtures() -> Vec<(String, Value)> {
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
fn platform_index(enforcement: &str) -> CoverageIndex {
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

fn router_with(enforcement: &str, timeout_decision: TimeoutDecision) -> Router {
    router_and_metrics(enforcement, timeout_decision).0
}

fn router_and_metrics(
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

fn platform() -> Router {
    router_with("deny", TimeoutDecision::Deny)
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

fn post(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}

/// An answer, as the apiserver reads it.
#[derive(Debug)]
struct Answer {
    uid: String,
    allowed: bool,
    code: Option<u64>,
    message: String,
    warnings: Vec<String>,
    patch: Option<json_patch::Patch>,
    raw: Value,
}

impl Answer {
    fn parse(body: &[u8]) -> Self {
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

    fn warned(&self, text: &str) -> bool {
        self.warnings.iter().any(|warning| warning.contains(text))
    }

    /// A Schedule denial names each critical namespace that would lose coverage, with its tier.
    fn assert_names_every_critical_namespace(&self) {
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
async fn review(router: &Router, endpoint: &str, body: &Value) -> Answer {
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
fn patched(body: &Value, answer: &Answer) -> Value {
    let mut object = body["request"]["object"].clone();
    if let Some(patch) = &answer.patch {
        json_patch::patch(&mut object, &patch.0).expect("the patch applies to the object");
    }
    object
}

/// The apiserver's admission chain: `/mutate`, the patch applied, then `/validate` of the
/// mutated object. Returns the mutate answer, the mutated object and the validate answer.
async fn admit(router: &Router, body: &Value) -> (Answer, Value, Answer) {
    let mutated = review(router, "mutate", body).await;
    assert!(mutated.allowed, "mutate never refuses: {:?}", mutated.raw);
    let object = patched(body, &mutated);
    let mut validated_body = body.clone();
    validated_body["request"]["object"] = object.clone();
    let validated = review(router, "validate", &validated_body).await;
    (mutated, object, validated)
}

fn annotations(object: &Value) -> &serde_json::Map<String, Value> {
    object["metadata"]["annotations"]
        .as_object()
        .expect("annotations is a map")
}

fn labels(object: &Value) -> &serde_json::Map<String, Value> {
    object["metadata"]["labels"]
        .as_object()
        .expect("labels is a map")
}

const COVERED_BY_ALL_THREE: &str = "critical-backup,daily-backup,weekly-full-backup";

// ---------------------------------------------------------------------------------------------
// Namespaces

#[tokio::test]
async fn mutates_a_new_protected_namespace_with_tier_annotations_and_label() {
    let router = platform();
    let body = fixture("namespace-create-protected-missing-tier");
    let answer = review(&router, "mutate", &body).await;
    assert!(answer.allowed);
    let object = patched(&body, &answer);
    assert_eq!(
        Value::Object(annotations(&object).clone()),
        json!({
            "backstop.io/tier": "critical",
            "backstop.io/rpo-target": "15m",
            "backstop.io/covered-by": COVERED_BY_ALL_THREE,
        })
    );
    assert_eq!(
        Value::Object(labels(&object).clone()),
        json!({"kubernetes.io/metadata.name": "data-platform", "backstop.io/tier": "critical"})
    );
    // managedFields and everything else are untouched.
    assert_eq!(
        object["metadata"]["managedFields"],
        body["request"]["object"]["metadata"]["managedFields"]
    );
    assert_eq!(object["status"], body["request"]["object"]["status"]);
}

#[tokio::test]
async fn denies_a_new_critical_namespace_whose_hourly_schedule_misses_fifteen_minutes() {
    let router = platform();
    let (_, object, validated) =
        admit(&router, &fixture("namespace-create-protected-missing-tier")).await;
    assert_eq!(annotations(&object)["backstop.io/tier"], "critical");
    assert!(!validated.allowed);
    assert_eq!(validated.code, Some(403));
    assert!(
        validated
            .message
            .starts_with("backstop denied Namespace data-platform: [rpo-exceeds-target]"),
        "{}",
        validated.message
    );
    // The message names the fix.
    assert!(
        validated.message.contains("e.g. \"*/12 * * * *\""),
        "{}",
        validated.message
    );
}

#[tokio::test]
async fn admits_that_namespace_with_the_reasons_as_warnings_under_warn_enforcement() {
    let router = router_with("warn", TimeoutDecision::Deny);
    let (mutated, _, validated) =
        admit(&router, &fixture("namespace-create-protected-missing-tier")).await;
    assert!(mutated.patch.is_some(), "warn still annotates");
    assert!(validated.allowed);
    assert!(
        validated.warned("[rpo-exceeds-target]"),
        "{:?}",
        validated.warnings
    );
    assert!(
        validated.warned("enforcement is warn"),
        "{:?}",
        validated.warnings
    );
}

#[tokio::test]
async fn admits_that_namespace_silently_and_untouched_under_dry_run_enforcement() {
    let router = router_with("dry-run", TimeoutDecision::Deny);
    let (mutated, _, validated) =
        admit(&router, &fixture("namespace-create-protected-missing-tier")).await;
    assert!(
        mutated.patch.is_none(),
        "dry-run only logs the patch it would apply"
    );
    assert!(validated.allowed);
    assert!(validated.warnings.is_empty(), "{:?}", validated.warnings);
}

#[tokio::test]
async fn answers_a_dry_run_review_exactly_like_the_real_one() {
    let router = platform();
    let real = fixture("namespace-create-protected-missing-tier");
    let dry = fixture("namespace-create-protected-missing-tier-dry-run");
    assert_eq!(dry["request"]["dryRun"], true);
    for endpoint in ["mutate", "validate"] {
        let mut real_answer = review(&router, endpoint, &real).await.raw;
        let mut dry_answer = review(&router, endpoint, &dry).await.raw;
        real_answer["response"]["uid"] = Value::Null;
        dry_answer["response"]["uid"] = Value::Null;
        assert_eq!(real_answer, dry_answer, "{endpoint}");
    }
    // And twice in a row: deciding has no side effect.
    let first = review(&router, "validate", &dry).await.raw;
    let second = review(&router, "validate", &dry).await.raw;
    assert_eq!(first, second);
}

#[tokio::test]
async fn creates_the_annotations_and_labels_maps_when_a_namespace_has_neither() {
    let router = platform();
    let body = fixture("namespace-create-protected-without-labels-or-annotations");
    let metadata = &body["request"]["object"]["metadata"];
    assert!(metadata.get("labels").is_none() && metadata.get("annotations").is_none());
    let answer = review(&router, "mutate", &body).await;
    let object = patched(&body, &answer);
    assert_eq!(
        Value::Object(annotations(&object).clone()),
        json!({
            "backstop.io/tier": "standard",
            "backstop.io/rpo-target": "24h",
            "backstop.io/covered-by": "daily-backup,weekly-full-backup",
        })
    );
    assert_eq!(
        Value::Object(labels(&object).clone()),
        json!({"backstop.io/tier": "standard"})
    );
    let patch = serde_json::to_value(answer.patch.unwrap()).unwrap();
    assert_eq!(
        patch.as_array().unwrap().len(),
        2,
        "one add per missing map: {patch}"
    );
}

#[tokio::test]
async fn never_overwrites_tier_or_covered_by_values_a_user_set_and_escapes_keys() {
    let router = platform();
    let body = fixture("namespace-create-protected-user-set-values");
    let answer = review(&router, "mutate", &body).await;
    let patch = serde_json::to_value(answer.patch.as_ref().unwrap()).unwrap();
    assert_eq!(
        patch,
        json!([{"op": "add", "path": "/metadata/annotations/backstop.io~1rpo-target", "value": "15m"}])
    );
    let object = patched(&body, &answer);
    assert_eq!(
        Value::Object(annotations(&object).clone()),
        json!({
            "backstop.io/tier": "archive",
            "backstop.io/covered-by": "my-own-schedule",
            "backstop.io/rpo-target": "15m",
            "team~ops/owner": "vault-team",
        })
    );
    assert_eq!(labels(&object)["backstop.io/tier"], "archive");
    // The mismatch is shown, not silently corrected.
    let mut validated_body = body.clone();
    validated_body["request"]["object"] = object;
    let validated = review(&router, "validate", &validated_body).await;
    assert!(
        validated.warned("[tier-annotation-mismatch]"),
        "{:?}",
        validated.raw
    );
}

#[tokio::test]
async fn leaves_an_unprotected_namespace_untouched() {
    let router = platform();
    for name in [
        "namespace-create-unprotected",
        "namespace-create-unprotected-dry-run",
    ] {
        let (mutated, _, validated) = admit(&router, &fixture(name)).await;
        assert!(mutated.patch.is_none(), "{name}");
        assert!(
            validated.allowed && validated.warnings.is_empty(),
            "{name}: {:?}",
            validated.raw
        );
    }
}

#[tokio::test]
async fn leaves_the_exempt_kube_system_namespace_untouched() {
    let router = platform();
    let (mutated, _, validated) =
        admit(&router, &fixture("namespace-update-exempt-kube-system")).await;
    assert!(mutated.patch.is_none());
    assert!(validated.allowed && validated.warnings.is_empty());
}

#[tokio::test]
async fn admits_a_label_change_on_a_protected_namespace_despite_its_older_rpo_gap() {
    let router = platform();
    let (mutated, object, validated) = admit(
        &router,
        &fixture("namespace-update-adds-a-label-to-a-protected-namespace"),
    )
    .await;
    assert!(
        mutated.patch.is_some(),
        "the missing tier annotations are added on UPDATE too"
    );
    assert_eq!(labels(&object)["team"], "data");
    assert!(validated.allowed, "{:?}", validated.raw);
    assert!(
        validated.warned("[rpo-exceeds-target]") && validated.warned("already so before"),
        "{:?}",
        validated.warnings
    );
}

#[tokio::test]
async fn denies_removing_the_tier_label_and_annotation_that_opted_a_namespace_in() {
    let router = platform();
    let (mutated, _, validated) = admit(
        &router,
        &fixture("namespace-update-removes-tier-label-and-annotation"),
    )
    .await;
    assert!(
        mutated.patch.is_none(),
        "no longer protected: nothing to add back"
    );
    assert!(!validated.allowed);
    for removed in ["label backstop.io/tier", "annotation backstop.io/tier"] {
        assert!(
            validated.message.contains(&format!(
                "[protection-removed] Namespace analytics: removing the {removed} (was \"standard\")"
            )),
            "{}",
            validated.message
        );
    }
}

#[tokio::test]
async fn denies_removing_the_label_the_policy_selector_protects_a_namespace_by() {
    let router = platform();
    let (mutated, _, validated) =
        admit(&router, &fixture("namespace-update-removes-protect-label")).await;
    assert!(mutated.patch.is_none());
    assert!(!validated.allowed);
    assert!(
        validated.message.contains(
            "[protection-removed] Namespace analytics: this change takes it out of the protected set (it is in the standard tier)"
        ),
        "{}",
        validated.message
    );
}

#[tokio::test]
async fn puts_back_a_removed_tier_label_while_the_annotation_still_declares_the_tier() {
    let router = platform();
    let mut body = fixture("namespace-update-removes-tier-label-and-annotation");
    body["request"]["object"]["metadata"]["annotations"]["backstop.io/tier"] = json!("standard");
    let (_, object, validated) = admit(&router, &body).await;
    assert_eq!(labels(&object)["backstop.io/tier"], "standard");
    assert!(validated.allowed, "{:?}", validated.raw);
}

#[tokio::test]
async fn denies_removing_the_rpo_target_annotation_unless_mutate_puts_it_back() {
    let router = platform();
    let body = fixture("namespace-update-removes-rpo-target-annotation");
    let validated = review(&router, "validate", &body).await;
    assert!(!validated.allowed);
    assert!(
        validated
            .message
            .contains("removing the annotation backstop.io/rpo-target (was \"15m\")"),
        "{}",
        validated.message
    );
    // Through the whole chain, mutation restores it and the update goes through.
    let (_, object, validated) = admit(&router, &body).await;
    assert_eq!(annotations(&object)["backstop.io/rpo-target"], "15m");
    assert!(validated.allowed, "{:?}", validated.raw);
}

#[tokio::test]
async fn allows_deleting_a_protected_namespace() {
    let router = platform();
    let (mutated, _, validated) = admit(&router, &fixture("namespace-delete-protected")).await;
    assert!(mutated.patch.is_none());
    assert!(validated.allowed && validated.warnings.is_empty());
}

// ---------------------------------------------------------------------------------------------
// PersistentVolumeClaims

#[tokio::test]
async fn annotates_a_new_pvc_with_the_schedules_that_will_take_it_once_mounted() {
    let router = platform();
    let (mutated, object, validated) =
        admit(&router, &fixture("pvc-create-in-protected-namespace")).await;
    assert!(mutated.patch.is_some());
    let annotations = annotations(&object);
    assert_eq!(annotations["backstop.io/tier"], "critical");
    assert_eq!(annotations["backstop.io/rpo-target"], "15m");
    assert!(
        annotations.contains_key("kubectl.kubernetes.io/last-applied-configuration"),
        "existing annotations stay"
    );
    assert_eq!(
        annotations["backstop.io/covered-by"], "critical-backup,daily-backup,weekly-full-backup",
        "fs-backup takes its data once its pod starts"
    );
    assert!(
        object["metadata"]
            .get("labels")
            .is_some_and(|labels| labels.get("backstop.io/tier").is_none())
    );
    // Not mounted yet is never the reason for a denial; the hourly schedule is.
    assert!(!validated.allowed);
    assert!(
        validated.message.contains("[rpo-exceeds-target]"),
        "{}",
        validated.message
    );
    assert!(!validated.message.contains("[unmounted-fs-backup-only]"));
}

#[tokio::test]
async fn warns_that_a_new_pvc_is_unmounted_instead_of_denying() {
    let router = router_with("warn", TimeoutDecision::Deny);
    let (_, _, validated) = admit(&router, &fixture("pvc-create-in-protected-namespace")).await;
    assert!(validated.allowed, "{:?}", validated.raw);
    assert!(
        validated.warned("[unmounted-fs-backup-only]"),
        "{:?}",
        validated.warnings
    );
}

#[tokio::test]
async fn leaves_the_pvc_status_subresource_untouched() {
    let router = platform();
    let body = fixture("pvc-update-status-subresource");
    assert_eq!(body["request"]["subResource"], "status");
    let (mutated, _, validated) = admit(&router, &body).await;
    assert!(mutated.patch.is_none());
    assert!(validated.allowed && validated.warnings.is_empty());
}

#[tokio::test]
async fn honours_a_pvc_exemption_with_a_reason() {
    let router = platform();
    let (mutated, _, validated) = admit(&router, &fixture("pvc-create-exempt-with-reason")).await;
    assert!(mutated.patch.is_none(), "an exempt claim is not annotated");
    assert!(
        validated.allowed && validated.warnings.is_empty(),
        "{:?}",
        validated.raw
    );
}

#[tokio::test]
async fn denies_a_pvc_exemption_without_a_reason() {
    let router = platform();
    let (_, _, validated) = admit(&router, &fixture("pvc-create-exempt-without-reason")).await;
    assert!(!validated.allowed);
    assert!(
        validated.message.contains("[exemption-without-reason]"),
        "{}",
        validated.message
    );
}

#[tokio::test]
async fn denies_removing_the_tier_annotation_that_opted_a_pvc_in() {
    let router = platform();
    let (_, _, validated) = admit(&router, &fixture("pvc-update-removes-tier-annotation")).await;
    assert!(!validated.allowed);
    assert!(
        validated.message.contains(
            "[protection-removed] PersistentVolumeClaim analytics/clickhouse-data: removing the annotation backstop.io/tier"
        ),
        "{}",
        validated.message
    );
    assert!(
        validated
            .message
            .contains("backstop.io/exempt: \"<reason>\"")
    );
}

#[tokio::test]
async fn lets_a_controller_remove_the_finalizer_of_a_terminating_pvc() {
    let router = platform();
    let (mutated, _, validated) = admit(
        &router,
        &fixture("pvc-update-removes-finalizer-while-terminating"),
    )
    .await;
    assert!(mutated.patch.is_none());
    assert!(validated.allowed && validated.warnings.is_empty());
}

#[tokio::test]
async fn allows_deleting_a_pvc() {
    let router = platform();
    let (mutated, _, validated) =
        admit(&router, &fixture("pvc-delete-in-protected-namespace")).await;
    assert!(mutated.patch.is_none());
    assert!(validated.allowed);
}

// ---------------------------------------------------------------------------------------------
// Schedules

async fn validate_schedule(router: &Router, name: &str) -> Answer {
    let body = fixture(name);
    let mutated = review(router, "mutate", &body).await;
    assert!(
        mutated.allowed && mutated.patch.is_none(),
        "Schedules are never mutated"
    );
    review(router, "validate", &body).await
}

const CRITICAL_NAMESPACES: [&str; 4] = ["data-platform", "monitoring", "vault-prod", "ml-platform"];

#[tokio::test]
async fn allows_creating_a_schedule() {
    let answer = validate_schedule(&platform(), "schedule-create").await;
    assert!(
        answer.allowed && answer.warnings.is_empty(),
        "{:?}",
        answer.raw
    );
}

#[tokio::test]
async fn warns_about_a_new_schedule_velero_would_refuse() {
    let answer = validate_schedule(&platform(), "schedule-create-with-both-label-selectors").await;
    assert!(answer.allowed);
    assert!(answer.warned("[schedule-invalid]"), "{:?}", answer.warnings);
    assert!(
        answer.warned("labelSelector and orLabelSelectors"),
        "{:?}",
        answer.warnings
    );
}

#[tokio::test]
async fn denies_pausing_the_only_hourly_schedule_naming_every_critical_namespace() {
    let answer = validate_schedule(&platform(), "schedule-update-pauses-critical-backup").await;
    assert!(!answer.allowed);
    assert_eq!(answer.code, Some(403));
    assert!(
        answer
            .message
            .starts_with("backstop denied pausing Schedule velero/critical-backup: it would leave"),
        "{}",
        answer.message
    );
    answer.assert_names_every_critical_namespace();
    assert!(
        answer
            .message
            .contains("worst-case RPO would grow from 1h1m to 1d1m"),
        "{}",
        answer.message
    );
    assert!(
        answer
            .message
            .contains("PersistentVolumeClaim data-platform/data-postgres-0")
    );
    for unaffected in ["registry", "kubeflow", "cert-manager"] {
        assert!(
            !answer.message.contains(&format!("Namespace {unaffected}")),
            "{}",
            answer.message
        );
    }
}

#[tokio::test]
async fn admits_that_pause_with_warnings_under_warn_enforcement() {
    let router = router_with("warn", TimeoutDecision::Deny);
    let answer = validate_schedule(&router, "schedule-update-pauses-critical-backup").await;
    assert!(answer.allowed);
    assert!(
        answer.warned("Namespace data-platform (critical)"),
        "{:?}",
        answer.warnings
    );
}

#[tokio::test]
async fn denies_deleting_the_hourly_schedule() {
    let answer = validate_schedule(&platform(), "schedule-delete-critical-backup").await;
    assert!(!answer.allowed);
    assert!(
        answer
            .message
            .starts_with("backstop denied deleting Schedule velero/critical-backup"),
        "{}",
        answer.message
    );
    answer.assert_names_every_critical_namespace();
}

#[tokio::test]
async fn allows_deleting_a_schedule_that_was_already_paused() {
    // The stored schedule (oldObject) is paused: deleting it takes away no coverage.
    let answer = validate_schedule(&platform(), "schedule-delete-paused-critical-backup").await;
    assert!(answer.allowed, "{:?}", answer.raw);
}

#[tokio::test]
async fn lets_the_namespace_controller_delete_schedules_with_their_namespace() {
    let answer = validate_schedule(&platform(), "schedule-delete-by-namespace-controller").await;
    assert!(answer.allowed, "{:?}", answer.raw);
}

#[tokio::test]
async fn allows_making_the_hourly_schedule_fire_every_ten_minutes() {
    let answer = validate_schedule(
        &platform(),
        "schedule-update-critical-backup-every-ten-minutes",
    )
    .await;
    assert!(
        answer.allowed && answer.warnings.is_empty(),
        "{:?}",
        answer.raw
    );
}

#[tokio::test]
async fn denies_stretching_the_hourly_schedule_to_every_two_hours() {
    let answer = validate_schedule(
        &platform(),
        "schedule-update-critical-backup-every-two-hours",
    )
    .await;
    assert!(!answer.allowed);
    assert!(
        answer
            .message
            .starts_with("backstop denied changing Schedule velero/critical-backup"),
        "{}",
        answer.message
    );
    assert!(
        answer
            .message
            .contains("worst-case RPO would grow from 1h1m to 2h1m"),
        "{}",
        answer.message
    );
}

#[tokio::test]
async fn denies_dropping_vault_prod_from_the_hourly_schedule_naming_only_vault_prod() {
    let answer = validate_schedule(
        &platform(),
        "schedule-update-drops-vault-prod-from-critical-backup",
    )
    .await;
    assert!(!answer.allowed);
    assert!(
        answer.message.contains("Namespace vault-prod (critical)"),
        "{}",
        answer.message
    );
    for kept in ["data-platform", "monitoring", "ml-platform"] {
        assert!(
            !answer.message.contains(&format!("Namespace {kept}")),
            "{}",
            answer.message
        );
    }
}

#[tokio::test]
async fn allows_velero_to_write_a_schedules_status() {
    let answer = validate_schedule(&platform(), "schedule-update-status-only").await;
    assert!(
        answer.allowed && answer.warnings.is_empty(),
        "{:?}",
        answer.raw
    );
}

#[tokio::test]
async fn allows_pausing_a_schedule_outside_the_velero_namespace() {
    let answer = validate_schedule(
        &platform(),
        "schedule-update-pauses-schedule-in-another-namespace",
    )
    .await;
    assert!(
        answer.allowed && answer.warnings.is_empty(),
        "{:?}",
        answer.raw
    );
}

#[tokio::test]
async fn judges_a_schedule_change_against_its_old_object_when_the_cache_has_not_seen_it() {
    // `ten-minute-backup` is not in the index (created a moment ago): pausing it still loses
    // data-platform its 11m RPO, which the request's oldObject shows.
    let answer = validate_schedule(
        &platform(),
        "schedule-update-pauses-schedule-not-yet-cached",
    )
    .await;
    assert!(!answer.allowed, "{:?}", answer.raw);
    assert!(
        answer
            .message
            .contains("Namespace data-platform (critical)"),
        "{}",
        answer.message
    );
    assert!(
        answer.message.contains("from 11m to 1h1m"),
        "{}",
        answer.message
    );
}

#[tokio::test]
async fn judges_a_schedule_edit_that_reaches_many_objects_on_the_blocking_pool_alike() {
    // The platform plus 80 more namespaces, and critical-backup's old object including them all:
    // too many objects to judge on the request's thread.
    let policy = load_policy(&repo().join("fixtures/policy/platform.yaml")).unwrap();
    let mut inventory = load_inventory(&[repo().join("fixtures/platform")]).unwrap();
    let extra: String = (0..80)
        .map(|n| format!("---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: team-{n:02}}}\n"))
        .collect();
    inventory.add_yaml(&extra, "generated.yaml").unwrap();
    let index = CoverageIndex::build(Arc::new(policy), inventory);
    let mut body = fixture("schedule-update-pauses-critical-backup");
    for object in ["object", "oldObject"] {
        body["request"][object]["spec"]["template"]["includedNamespaces"] = json!(["*"]);
    }

    let bytes = serde_json::to_vec(&body).unwrap();
    let decoded = backstop_webhook::review::decode(&bytes).unwrap();
    match backstop_webhook::validate::plan(&index, &decoded.request) {
        backstop_webhook::validate::Plan::Schedule(review) => assert!(
            review.reach(&index) > admission::INLINE_SCHEDULE_REACH,
            "reach {}",
            review.reach(&index)
        ),
        backstop_webhook::validate::Plan::Decided(decision) => {
            panic!("a pause is a Schedule review, got {decision:?}")
        }
    }

    let state = AppState::new(index, Arc::new(Metrics::new()), TimeoutDecision::Deny);
    state.set_ready(true);
    let answer = review(&admission::router(state), "validate", &body).await;
    assert!(!answer.allowed, "{:?}", answer.raw);
    answer.assert_names_every_critical_namespace();
}

// ---------------------------------------------------------------------------------------------
// Anything else

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

// ---------------------------------------------------------------------------------------------
// Robustness: mangled variants of every fixture

/// Values a field is replaced with.
fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        json!(0),
        json!(-1.5e300),
        json!(""),
        json!("\u{0}~/\u{1F4A5}"),
        json!(true),
        json!([]),
        json!([null, {}]),
        json!({}),
        json!({"": {"": []}}),
    ]
}

/// Every variant: each field of `request`, of `object`/`oldObject` and of their `metadata`
/// removed or replaced, plus the top level broken.
fn variants(body: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut vary = |pointer: &str| {
        let Some(target) = body.pointer(pointer).and_then(Value::as_object) else {
            return;
        };
        for key in target.keys() {
            let mut removed = body.clone();
            removed
                .pointer_mut(pointer)
                .and_then(Value::as_object_mut)
                .unwrap()
                .remove(key);
            out.push(removed);
            for replacement in replacements() {
                let mut replaced = body.clone();
                replaced
                    .pointer_mut(pointer)
                    .and_then(Value::as_object_mut)
                    .unwrap()
                    .insert(key.clone(), replacement);
                out.push(replaced);
            }
        }
    };
    for pointer in [
        "",
        "/request",
        "/request/kind",
        "/request/object",
        "/request/object/metadata",
        "/request/object/spec",
        "/request/object/spec/template",
        "/request/oldObject",
        "/request/oldObject/metadata",
        "/request/oldObject/spec",
    ] {
        vary(pointer);
    }
    out
}

/// A tiny deterministic generator for byte-level damage.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % below.max(1)
    }
}

#[tokio::test]
async fn survives_thousands_of_mangled_reviews_without_a_panic_or_a_wrong_status() {
    let router = platform();
    let mut random = Lcg(0x5eed);
    let mut sent = 0usize;
    for (name, body) in all_fixtures() {
        let endpoints = ["mutate", "validate"];
        for variant in variants(&body) {
            let bytes = serde_json::to_vec(&variant).unwrap();
            let endpoint = endpoints[random.next(2)];
            let (status, answer) = send(
                &router,
                post(
                    &format!("/{endpoint}?timeout=10s"),
                    "application/json",
                    bytes,
                ),
            )
            .await;
            sent += 1;
            assert_eq!(status, StatusCode::OK, "{name}: {variant}");
            let answer = Answer::parse(&answer);
            assert!(
                !answer.message.contains("failed internally"),
                "{name}: {variant}"
            );
            if let Some(uid) = variant.pointer("/request/uid").and_then(Value::as_str)
                && answer.raw["response"]["status"]["reason"] != "InvalidRequest"
            {
                assert_eq!(answer.uid, uid, "{name}");
            }
        }
        // Byte-level damage: truncation, flipped bytes, inserted junk.
        let original = serde_json::to_vec(&body).unwrap();
        for _ in 0..40 {
            let mut bytes = original.clone();
            match random.next(3) {
                0 => bytes.truncate(random.next(bytes.len())),
                1 => {
                    let at = random.next(bytes.len());
                    bytes[at] = random.next(256) as u8;
                }
                _ => {
                    let at = random.next(bytes.len());
                    let junk = [b'"', b'{', b'}', b'[', b',', b'\\', 0xff, b'0'];
                    bytes.insert(at, junk[random.next(junk.len())]);
                }
            }
            let is_json = serde_json::from_slice::<Value>(&bytes).is_ok();
            let (status, answer) = send(
                &router,
                post("/validate", "application/json", bytes.clone()),
            )
            .await;
            sent += 1;
            let expected = if is_json {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            };
            assert_eq!(
                status,
                expected,
                "{name}: {}",
                String::from_utf8_lossy(&bytes)
            );
            if is_json {
                Answer::parse(&answer);
            }
        }
    }
    assert!(sent > 3000, "only {sent} variants");
}
