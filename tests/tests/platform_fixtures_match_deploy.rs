//! The platform fixtures (what `audit`, the webhook's offline mode and the tests judge) and
//! `deploy/velero` (what a cluster admin applies) must describe the same Schedules, and the
//! policy shipped in the webhook's kustomize base must be the fixture policy: otherwise every
//! green test would be about a platform nobody runs.

use std::path::{Path, PathBuf};

use policy::Inventory;
use policy::velero::Schedule;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schedules(file: &str) -> Vec<Schedule> {
    let path = repo().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut inventory = Inventory::default();
    inventory.add_yaml(&text, file).expect("schedules parse");
    let mut schedules = inventory.schedules;
    schedules.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    schedules
}

#[test]
fn fixture_schedules_are_the_deployed_schedules() {
    for copy in [
        "fixtures/platform/velero/schedules.yaml",
        "fixtures/platform-repository/k8s/storage/velero-backup-config.yaml",
    ] {
        same_schedules(copy);
    }
}

fn same_schedules(copy: &str) {
    let fixture = schedules(copy);
    let deployed = schedules("deploy/velero/schedules.yaml");
    let names = |list: &[Schedule]| {
        list.iter()
            .map(|s| s.metadata.name.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&fixture), names(&deployed));
    assert_eq!(
        names(&deployed),
        ["critical-backup", "daily-backup", "weekly-full-backup"]
    );
    for (fixture, deployed) in fixture.iter().zip(&deployed) {
        assert_eq!(
            fixture.spec,
            deployed.spec,
            "schedule {} differs between {copy} and deploy/velero",
            deployed.metadata.name.as_deref().unwrap_or_default()
        );
        assert_eq!(fixture.metadata.namespace, deployed.metadata.namespace);
    }
}

#[test]
fn shipped_policy_is_the_fixture_policy() {
    let read =
        |file: &str| std::fs::read_to_string(repo().join(file)).expect("policy file readable");
    assert_eq!(
        read("deploy/webhook/base/policy.yaml"),
        read("fixtures/policy/platform.yaml"),
        "deploy/webhook/base/policy.yaml drifted from fixtures/policy/platform.yaml"
    );
}

#[test]
fn rollout_policy_is_the_fixture_policy_with_enforcement_warn() {
    let parse = |file: &str| {
        let text = std::fs::read_to_string(repo().join(file)).expect("policy file readable");
        policy::yaml::documents(&text, file)
            .unwrap_or_else(|error| panic!("{error}"))
            .remove(0)
    };
    let mut want = parse("fixtures/policy/platform.yaml");
    assert_eq!(want["enforcement"], "deny");
    want["enforcement"] = "warn".into();
    assert_eq!(
        parse("deploy/webhook/components/enforcement-warn/policy.yaml"),
        want,
        "deploy/webhook/components/enforcement-warn/policy.yaml must be fixtures/policy/platform.yaml with enforcement: warn"
    );
}
