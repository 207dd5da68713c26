//! The admission decision path without TLS: decoding a review, deciding, encoding the answer,
//! and the same through the in-process router (span, metrics, body handling included).
//! On demand: `cargo bench -p backstop-webhook --bench decide`.
//!
//! The budget: the decision path should be a small fraction of what a bare axum+rustls server
//! spends per answer over TLS (measured by the `load` bench; figures in `docs/benchmarks.md`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "load/dataset.rs"]
mod dataset;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use backstop_webhook::args::TimeoutDecision;
use backstop_webhook::manifests::{load_inventory, load_policy};
use backstop_webhook::metrics::Metrics;
use backstop_webhook::state::AppState;
use backstop_webhook::{admission, mutate, review, validate};
use criterion::{Criterion, criterion_group, criterion_main};
use policy::CoverageIndex;
use serde_json::Value;
use tower::ServiceExt as _;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join(format!("fixtures/admission/{name}.json"))).unwrap()
}

/// The review as the apiserver sends it: compact JSON.
fn compact(bytes: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::from_slice::<Value>(bytes).unwrap()).unwrap()
}

fn index_of(data: &Path) -> CoverageIndex {
    let policy = load_policy(&repo().join("fixtures/policy/platform.yaml")).unwrap();
    let inventory = load_inventory(&[data.to_path_buf()]).unwrap();
    CoverageIndex::build(Arc::new(policy), inventory)
}

fn index() -> CoverageIndex {
    index_of(&repo().join("fixtures/platform"))
}

/// The load benchmark's dataset: the platform plus 10,000 namespaces and 1,000 schedules.
fn large_index() -> CoverageIndex {
    let dir = tempfile::tempdir().unwrap();
    dataset::write(dir.path(), &repo().join("fixtures/platform"));
    index_of(dir.path())
}

/// `schedule-update-pauses-critical-backup`, retargeted at the generated schedule `generated-0000`
/// (`team-000*`: 100 namespaces, a third of them protected).
fn pause_of_glob_schedule(body: &[u8]) -> Vec<u8> {
    let mut review: Value = serde_json::from_slice(body).unwrap();
    let request = &mut review["request"];
    request["name"] = "generated-0000".into();
    for object in ["object", "oldObject"] {
        request[object]["metadata"]["name"] = "generated-0000".into();
        request[object]["spec"]["template"]["includedNamespaces"] =
            serde_json::json!(["team-000*"]);
    }
    serde_json::to_vec(&review).unwrap()
}

/// The body `/validate` receives after `/mutate`'s patch was applied.
fn mutated(index: &CoverageIndex, body: &[u8]) -> Vec<u8> {
    let review = review::decode(body).unwrap();
    let decision = mutate::decide(index, &review.request);
    let mut value: Value = serde_json::from_slice(body).unwrap();
    if let Some(patch) = decision.patch {
        json_patch::patch(&mut value["request"]["object"], &patch.0).unwrap();
    }
    serde_json::to_vec(&value).unwrap()
}

type Decide = fn(&CoverageIndex, &review::AdmissionRequest<'_>) -> review::Decision;

/// Decoding each body, deciding with `decide`, and encoding the answer.
fn decide_each(
    c: &mut Criterion,
    index: &CoverageIndex,
    decide: Decide,
    cases: &[(&str, &Vec<u8>)],
) {
    for (name, body) in cases {
        c.bench_function(name, |b| {
            b.iter(|| {
                let review = review::decode(black_box(body)).unwrap();
                let decision = decide(index, &review.request);
                black_box(review::encode(
                    review.api_version,
                    &review.request.uid,
                    &decision,
                ))
            })
        });
    }
}

fn decisions(c: &mut Criterion) {
    let index = index();
    let namespace = compact(&fixture("namespace-create-protected-missing-tier"));
    let namespace_mutated = mutated(&index, &namespace);
    let pvc = compact(&fixture("pvc-create-in-protected-namespace"));
    let unprotected = compact(&fixture("namespace-create-unprotected"));
    let pause = compact(&fixture("schedule-update-pauses-critical-backup"));
    let two_hours = compact(&fixture("schedule-update-critical-backup-every-two-hours"));

    c.bench_function("decode/namespace-create", |b| {
        b.iter(|| {
            let review = review::decode(black_box(&namespace)).unwrap();
            black_box(review::ObjectHead::decode(review.request.object.unwrap()).unwrap())
        })
    });
    let mutate = mutate::decide as Decide;
    let validate = validate::decide as Decide;
    decide_each(
        c,
        &index,
        mutate,
        &[
            ("mutate/namespace-create-protected", &namespace),
            ("mutate/namespace-create-unprotected", &unprotected),
            ("mutate/pvc-create", &pvc),
        ],
    );
    decide_each(
        c,
        &index,
        validate,
        &[
            ("validate/namespace-create-protected", &namespace_mutated),
            ("validate/pvc-create", &pvc),
            ("validate/schedule-pause", &pause),
            ("validate/schedule-every-two-hours", &two_hours),
        ],
    );

    let large = large_index();
    decide_each(
        c,
        &large,
        mutate,
        &[
            ("large/mutate/namespace-create-protected", &namespace),
            ("large/mutate/pvc-create", &pvc),
        ],
    );
    let glob_pause = pause_of_glob_schedule(&pause);
    let glob_review = review::decode(&glob_pause).unwrap();
    match validate::plan(&large, &glob_review.request) {
        validate::Plan::Schedule(review) => println!(
            "large/validate/schedule-pause-glob reaches {} objects",
            review.reach(&large)
        ),
        validate::Plan::Decided(_) => panic!("a pause of generated-0000 is a Schedule review"),
    }
    decide_each(
        c,
        &large,
        validate,
        &[
            ("large/validate/schedule-pause-glob", &glob_pause),
            ("large/validate/schedule-pause", &pause),
            ("large/validate/schedule-every-two-hours", &two_hours),
        ],
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let router = admission::router(AppState::new(
        index.clone(),
        Arc::new(Metrics::new()),
        TimeoutDecision::Deny,
    ));
    let large_router = admission::router(AppState::new(
        large,
        Arc::new(Metrics::new()),
        TimeoutDecision::Deny,
    ));
    for (name, router, path, body) in [
        (
            "router/mutate-namespace-create",
            &router,
            "/mutate?timeout=10s",
            &namespace,
        ),
        (
            "router/validate-namespace-create",
            &router,
            "/validate?timeout=10s",
            &namespace_mutated,
        ),
        (
            "large/router/validate-schedule-every-two-hours",
            &large_router,
            "/validate?timeout=10s",
            &two_hours,
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let request = Request::post(path)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.clone()))
                    .unwrap();
                let response = runtime.block_on(router.clone().oneshot(request)).unwrap();
                black_box(response)
            })
        });
    }
}

/// Shedding past `--max-in-flight` reads a review's head only (`review::probe`): against a full
/// decode of the same review carrying a 1 MiB object, measured in the same run.
fn shedding(c: &mut Criterion) {
    let review = String::from_utf8(fixture("namespace-create-unprotected")).unwrap();
    let padding = "x".repeat(1 << 20);
    let huge = review
        .replacen(
            r#""object": {"#,
            &format!(r#""object": {{"padding": "{padding}","#),
            1,
        )
        .into_bytes();
    assert!(huge.len() > 1 << 20, "the object was padded");
    c.bench_function("shed/full-decode-1MiB-object", |b| {
        b.iter(|| review::decode(black_box(&huge)).unwrap().request.uid.len());
    });
    c.bench_function("shed/probe-1MiB-object", |b| {
        b.iter(|| review::probe(black_box(&huge)).unwrap().uid.len());
    });
}

criterion_group!(benches, decisions, shedding);
criterion_main!(benches);
