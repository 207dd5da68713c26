//! `ci/nightly-chaos.yml` runs what the harness can run, with what it needs: one job per
//! shipped scenario (no more, no fewer), a velero CLI of the scenarios' minor version, kind
//! and velero downloads pinned by SHA-256 and checked before use, the run directory uploaded
//! and the report summarised whatever happened, and the job failing unless the run exited as
//! its scenario should (0; 1 for a corrupted repository, whose restore must fail the verdict).

use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn workflow() -> Value {
    let text = std::fs::read_to_string(repo().join("ci/nightly-chaos.yml")).expect("workflow");
    serde_saphyr::from_str(&text).expect("the workflow is YAML")
}

fn steps(workflow: &Value) -> Vec<Value> {
    job_steps(workflow, "chaos")
}

fn job_steps(workflow: &Value, job: &str) -> Vec<Value> {
    workflow["jobs"][job]["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("the {job} job has steps"))
        .clone()
}

fn run_text(step: &Value) -> &str {
    step["run"].as_str().unwrap_or_default()
}

/// Every shipped scenario (the live run strikes every fault), by name.
fn live_scenarios() -> Vec<String> {
    let mut names: Vec<String> = shipped().into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

fn shipped() -> Vec<backstop_chaos::scenario::Scenario> {
    std::fs::read_dir(repo().join("fixtures/scenarios"))
        .expect("scenarios")
        .map(|entry| {
            let path = entry.expect("entry").path();
            backstop_chaos::scenario::load(&path).expect("a shipped scenario loads")
        })
        .collect()
}

/// The exit a scenario's run ends with when it does its job: 1 (a failed verdict, with the
/// reason) for a corrupted repository, whose restore must not pass; 0 for the others.
fn expected_exit(scenario: &backstop_chaos::scenario::Scenario) -> u64 {
    use backstop_chaos::scenario::{FaultKind, StorageLossMode};
    let corrupts = scenario.fault.kind == FaultKind::StorageLoss
        && scenario.fault.storage_mode() == StorageLossMode::CorruptRepository;
    u64::from(corrupts)
}

#[test]
fn every_live_scenario_is_one_job_of_the_matrix() {
    let w = workflow();
    let mut matrix: Vec<String> = w["jobs"]["chaos"]["strategy"]["matrix"]["scenario"]
        .as_array()
        .expect("a scenario matrix")
        .iter()
        .map(|s| s.as_str().expect("a name").to_owned())
        .collect();
    matrix.sort();
    assert_eq!(matrix, live_scenarios());
    assert_eq!(w["jobs"]["chaos"]["strategy"]["fail-fast"], false);
}

#[test]
fn the_velero_cli_is_of_every_scenario_s_minor_version() {
    let w = workflow();
    let cli = w["env"]["VELERO_VERSION"].as_str().expect("VELERO_VERSION");
    let minor = |v: &str| -> String { v.split('.').take(2).collect::<Vec<_>>().join(".") };
    for name in live_scenarios() {
        let path = repo().join(format!("fixtures/scenarios/{name}.yaml"));
        let scenario = backstop_chaos::scenario::load(&path).expect("scenario");
        assert_eq!(minor(cli), minor(&scenario.velero.version), "{name}");
    }
}

#[test]
fn kind_and_velero_are_pinned_and_checked_before_use() {
    let w = workflow();
    for key in ["KIND_SHA256", "VELERO_SHA256"] {
        let sum = w["env"][key].as_str().unwrap_or_default();
        assert!(
            sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()),
            "{key}: {sum:?}"
        );
    }
    let jobs = w["jobs"].as_object().expect("jobs");
    let every_step = jobs.keys().flat_map(|job| job_steps(&w, job));
    for step in every_step {
        let text = run_text(&step);
        if text.contains("curl ") {
            let check = text
                .find("sha256sum --check")
                .expect("every download is checked");
            let install = text.find("install -m").expect("then installed");
            assert!(check < install, "checked before installed: {text}");
        }
    }
}

#[test]
fn the_run_is_reported_and_kept_whatever_happened_and_judges_the_job() {
    let steps = steps(&workflow());
    let run = steps
        .iter()
        .position(|s| run_text(s).contains("backstop-chaos run"))
        .expect("a step runs the scenario");
    assert!(run_text(&steps[run]).contains("fixtures/scenarios/${{ matrix.scenario }}.yaml"));
    let after = &steps[run + 1..];
    assert!(after.iter().any(|s| s["if"] == "always()"
        && run_text(s).contains("--format markdown >> \"$GITHUB_STEP_SUMMARY\"")));
    assert!(after.iter().any(|s| {
        s["if"] == "always()"
            && s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
    }));
    let last = steps.last().expect("steps");
    assert_eq!(last["if"], "always()");
    assert!(
        run_text(last).contains("expected=\"${{ matrix.expect || 0 }}\"")
            && run_text(last).contains("[ \"$code\" = \"$expected\" ]"),
        "the job fails unless the run exits as its scenario should: {}",
        run_text(last)
    );
}

#[test]
fn only_a_scenario_whose_run_must_fail_expects_a_nonzero_exit() {
    let w = workflow();
    let included = w["jobs"]["chaos"]["strategy"]["matrix"]["include"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for scenario in shipped() {
        let expect = included
            .iter()
            .find(|i| i["scenario"] == scenario.name.as_str())
            .map_or(0, |i| i["expect"].as_u64().expect("expect is an exit code"));
        assert_eq!(expect, expected_exit(&scenario), "{}", scenario.name);
    }
    assert!(
        included
            .iter()
            .all(|i| i.as_object().is_some_and(|o| o.len() == 2)),
        "an include only adds `expect` to a scenario of the matrix: {included:?}"
    );
}

/// The bar for every object the run creates: a real API server accepts it under strict
/// field validation. The nightly's `objects` job does that for `fixtures/chaos/run/objects/`
/// (which `chaos/tests/run_objects.rs` keeps equal to what the code builds), with Velero's CRDs
/// of the scenarios' version installed first, on the scenarios' Kubernetes version.
#[test]
fn every_object_the_run_creates_is_dry_run_strictly_against_a_real_api_server() {
    let w = workflow();
    let steps = job_steps(&w, "objects");
    let at = |needle: &str| {
        steps
            .iter()
            .position(|s| run_text(s).contains(needle))
            .unwrap_or_else(|| panic!("no step runs {needle}"))
    };
    let crds = at("velero install --crds-only --dry-run --output yaml | kubectl apply");
    let cluster = at("kind create cluster");
    let dry_run = at(
        "kubectl apply --dry-run=server --validate=strict --filename fixtures/chaos/run/objects/",
    );
    assert!(cluster <= crds && crds < dry_run);
    assert!(repo().join("fixtures/chaos/run/objects").is_dir());
    let image = w["jobs"]["objects"]["env"]["NODE_IMAGE"]
        .as_str()
        .expect("NODE_IMAGE");
    for name in live_scenarios() {
        let path = repo().join(format!("fixtures/scenarios/{name}.yaml"));
        let scenario = backstop_chaos::scenario::load(&path).expect("scenario");
        assert_eq!(
            image,
            backstop_chaos::cluster::kind::node_image(&scenario.cluster.kubernetes),
            "{name}"
        );
    }
}
