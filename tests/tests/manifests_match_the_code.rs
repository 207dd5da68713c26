//! The manifests in `deploy/` against the facts the code defines: RBAC grants exactly what the
//! webhook's caches watch, the alerts use only metrics the webhook registers, and the webhooks
//! and the policy leave the never-governed namespaces
//! (`deploy/webhook/never-governed-namespaces.txt`) alone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use backstop_webhook::cache::RESOURCES;
use backstop_webhook::cache::cluster::snapshot_class_resource;
use backstop_webhook::cache::evidence::EVIDENCE_RESOURCES;
use backstop_webhook::manifests::{load_inventory, load_policy};
use backstop_webhook::metrics::evidence::EvidenceSummary;
use backstop_webhook::metrics::{DecisionRecord, FailureReason, Metrics, ReloadResult};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolume, PersistentVolumeClaim, Pod,
};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Resource;
use policy::CoverageIndex;
use policy::evidence::{VeleroRecords, gather};
use policy::velero::{
    Backup, BackupStorageLocation, DataUpload, PodVolumeBackup, Schedule, VolumeSnapshotLocation,
};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(file: &str) -> String {
    let path = repo().join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn documents(file: &str) -> Vec<Value> {
    policy::yaml::documents(&read(file), file).unwrap_or_else(|error| panic!("{error}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `deploy/webhook/never-governed-namespaces.txt`: one name a line, `#` comments.
fn never_governed() -> BTreeSet<String> {
    let names: BTreeSet<String> = read("deploy/webhook/never-governed-namespaces.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect();
    assert!(names.contains("kube-system"), "{names:?}");
    names
}

/// (API group, plural) of the resources the caches watch in Velero's namespace only: the Velero
/// Deployment (by name) and the ConfigMaps resource policies live in.
fn watched_in_velero_namespace() -> BTreeSet<(String, String)> {
    [
        (Deployment::group(&()), Deployment::plural(&())),
        (ConfigMap::group(&()), ConfigMap::plural(&())),
    ]
    .into_iter()
    .map(|(group, plural)| (group.into_owned(), plural.into_owned()))
    .collect()
}

/// (API group, plural) of every resource the caches watch (coverage's and the backup
/// evidence's), from the types the code reads them as.
fn watched_resources() -> BTreeSet<(String, String)> {
    let snapshot_class = snapshot_class_resource();
    let mut watched: BTreeSet<(String, String)> = [
        (Namespace::group(&()), Namespace::plural(&())),
        (PersistentVolume::group(&()), PersistentVolume::plural(&())),
        (
            PersistentVolumeClaim::group(&()),
            PersistentVolumeClaim::plural(&()),
        ),
        (Pod::group(&()), Pod::plural(&())),
        (StorageClass::group(&()), StorageClass::plural(&())),
        (Schedule::group(&()), Schedule::plural(&())),
        (
            VolumeSnapshotLocation::group(&()),
            VolumeSnapshotLocation::plural(&()),
        ),
        (
            BackupStorageLocation::group(&()),
            BackupStorageLocation::plural(&()),
        ),
        (Backup::group(&()), Backup::plural(&())),
        (PodVolumeBackup::group(&()), PodVolumeBackup::plural(&())),
        (DataUpload::group(&()), DataUpload::plural(&())),
        (
            snapshot_class.group.clone().into(),
            snapshot_class.plural.clone().into(),
        ),
    ]
    .into_iter()
    .map(|(group, plural)| (group.into_owned(), plural.into_owned()))
    .collect();
    watched.extend(watched_in_velero_namespace());
    watched
}

#[test]
fn the_watched_resources_are_the_ones_the_cache_metrics_name() {
    let plurals: BTreeSet<String> = watched_resources()
        .into_iter()
        .map(|(_, plural)| plural)
        .collect();
    let named: BTreeSet<String> = RESOURCES
        .iter()
        .chain(EVIDENCE_RESOURCES.iter())
        .map(|name| name.to_string())
        .collect();
    assert_eq!(plurals, named);
}

/// (API group, resource) pairs a Role or ClusterRole grants, every rule read-only.
fn grants(role: &Value) -> BTreeSet<(String, String)> {
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().expect("the role has rules") {
        assert_eq!(
            strings(&rule["verbs"]),
            ["get", "list", "watch"],
            "the webhook only reads: {rule}"
        );
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                granted.insert((group.clone(), resource));
            }
        }
    }
    granted
}

#[test]
fn rbac_grants_read_only_access_to_exactly_what_the_caches_watch() {
    let role = documents("deploy/webhook/base/rbac.yaml")
        .into_iter()
        .find(|doc| doc["kind"] == "ClusterRole")
        .expect("rbac.yaml has a ClusterRole");
    let cluster_wide: BTreeSet<_> = watched_resources()
        .difference(&watched_in_velero_namespace())
        .cloned()
        .collect();
    assert_eq!(grants(&role), cluster_wide);
}

/// In Velero's namespace (the policy's `veleroNamespace`): the Deployment the policy names
/// (`velero.deployment`), by name only, and ConfigMaps; bound to the webhook's account.
#[test]
fn rbac_in_the_velero_namespace_reads_only_the_velero_deployment_and_config_maps() {
    let policy =
        load_policy(&repo().join("deploy/webhook/base/policy.yaml")).expect("policy loads");
    let objects = documents("deploy/webhook/base/rbac-velero.yaml");
    let role = objects
        .iter()
        .find(|doc| doc["kind"] == "Role")
        .expect("rbac-velero.yaml has a Role");
    assert_eq!(
        role["metadata"]["namespace"],
        policy.velero_namespace.as_str()
    );
    assert_eq!(grants(role), watched_in_velero_namespace());
    for rule in role["rules"].as_array().into_iter().flatten() {
        if strings(&rule["resources"]).contains(&"deployments".to_string()) {
            assert_eq!(
                strings(&rule["resourceNames"]),
                vec![policy.velero_deployment.clone()]
            );
        }
    }
    let binding = objects
        .iter()
        .find(|doc| doc["kind"] == "RoleBinding")
        .expect("rbac-velero.yaml has a RoleBinding");
    assert_eq!(
        binding["metadata"]["namespace"],
        policy.velero_namespace.as_str()
    );
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(binding["subjects"][0]["name"], "backstop-webhook");
    assert_eq!(binding["subjects"][0]["namespace"], "backstop-system");
}

/// The webhook's metrics after one of everything it records (a family without a series is not
/// encoded): a decision, a failure, a certificate reload, the caches, the platform's coverage
/// and the backup evidence of `fixtures/evidence/`.
fn exercised_metrics() -> Metrics {
    let metrics = Metrics::new();
    metrics.record_decision(DecisionRecord {
        endpoint: "validate",
        kind: "Namespace",
        operation: "CREATE",
        verdict: "denied",
        elapsed: Duration::from_micros(80),
    });
    metrics.record_failure(FailureReason::Timeout);
    metrics.record_tls_reload(ReloadResult::Ok);
    for resource in RESOURCES.into_iter().chain(EVIDENCE_RESOURCES) {
        metrics.set_cache_objects(resource, 1);
        metrics.set_cache_synced(resource, true);
        metrics.set_cache_staleness(resource, Duration::from_secs(1));
    }
    let policy = load_policy(&repo().join("fixtures/policy/platform.yaml")).expect("policy loads");
    let inventory =
        load_inventory(&[repo().join("fixtures/platform")]).expect("platform manifests load");
    metrics.record_coverage(&CoverageIndex::build(Arc::new(policy), inventory));
    metrics.record_evidence(EvidenceSummary::of(
        &evidence_of("completed-backup-skipped-hostpath-volume"),
        || "2026-12-03T02:30:00Z".parse().expect("a time"),
    ));
    metrics
}

/// What the backups of a `fixtures/evidence/` case show.
fn evidence_of(case: &str) -> policy::evidence::Evidence {
    let policy = load_policy(&repo().join("fixtures/evidence/policy.yaml")).expect("policy loads");
    let mut inventory = load_inventory(&[
        repo().join("fixtures/evidence/cluster"),
        repo().join("fixtures/evidence").join(case),
    ])
    .expect("evidence fixtures load");
    let backups = std::mem::take(&mut inventory.backups);
    let volumes = std::mem::take(&mut inventory.pod_volume_backups);
    let index = CoverageIndex::build(Arc::new(policy), inventory);
    let records = VeleroRecords {
        backups: backups.iter().collect(),
        pod_volume_backups: volumes.iter().collect(),
        data_uploads: Vec::new(),
    };
    gather(
        &index,
        &index.evaluate_all(),
        &records,
        "2026-12-03T02:30:00Z".parse().expect("a time"),
    )
}

/// Every sample name the webhook exports: what `# TYPE` declares, with the suffixes its type
/// adds (`_total` for counters, `_bucket`/`_sum`/`_count` for histograms).
fn registered_metrics() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in exercised_metrics().encode().lines() {
        let Some(declaration) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut words = declaration.split_whitespace();
        let (Some(name), Some(kind)) = (words.next(), words.next()) else {
            panic!("a TYPE line names the metric and its type: {line}");
        };
        let suffixes: &[&str] = match kind {
            "counter" => &["_total"],
            "histogram" => &["_bucket", "_sum", "_count"],
            "info" => &["_info"],
            _ => &[""],
        };
        for suffix in suffixes {
            let full = if name.ends_with(suffix) {
                name.to_string()
            } else {
                format!("{name}{suffix}")
            };
            names.insert(full);
        }
    }
    names
}

/// The `backstop_*` names an alert expression uses.
fn backstop_metrics_in(expression: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = expression;
    while let Some(at) = rest.find("backstop_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let preceded_by_word = rest[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !preceded_by_word {
            found.push(tail[..end].to_string());
        }
        rest = &tail[end..];
    }
    found
}

#[test]
fn finds_the_backstop_metrics_an_expression_names() {
    assert_eq!(
        backstop_metrics_in(
            "sum(rate(backstop_admission_failures_total[5m])) / my_backstop_x > 0 and backstop_cache_synced"
        ),
        ["backstop_admission_failures_total", "backstop_cache_synced"]
    );
}

#[test]
fn the_registered_metrics_include_the_documented_ones() {
    let registered = registered_metrics();
    for name in [
        "backstop_admission_duration_seconds_bucket",
        "backstop_admission_decisions_total",
        "backstop_cache_synced",
        "backstop_uncovered_objects",
        "backstop_rpo_breach_objects",
        "backstop_tls_reloads_total",
        "backstop_last_backup_age_seconds",
        "backstop_backup_overdue_after_seconds",
        "backstop_volumes_missing_from_last_backup",
        "backstop_achieved_rpo_seconds",
    ] {
        assert!(registered.contains(name), "{name} in {registered:?}");
    }
}

#[test]
fn alerts_use_only_metrics_the_webhook_registers() {
    let registered = registered_metrics();
    let mut used = 0;
    for file in [
        "deploy/velero/prometheusrule.yaml",
        "deploy/webhook/components/monitoring/prometheusrule.yaml",
    ] {
        for doc in documents(file) {
            for group in doc["spec"]["groups"].as_array().into_iter().flatten() {
                for rule in group["rules"].as_array().into_iter().flatten() {
                    let expression = rule["expr"].as_str().unwrap_or_default();
                    for metric in backstop_metrics_in(expression) {
                        used += 1;
                        assert!(
                            registered.contains(&metric),
                            "{file}: rule {} uses {metric}, which the webhook does not register",
                            rule["alert"]
                                .as_str()
                                .or(rule["record"].as_str())
                                .unwrap_or("?")
                        );
                    }
                }
            }
        }
    }
    assert!(used > 0, "the alerts watch the webhook's own metrics");
}

#[test]
fn every_webhook_leaves_the_never_governed_namespaces_alone() {
    let never = never_governed();
    let mut webhooks = 0;
    for doc in documents("deploy/webhook/base/webhooks.yaml") {
        for webhook in doc["webhooks"].as_array().into_iter().flatten() {
            webhooks += 1;
            let name = webhook["name"].as_str().unwrap_or("?");
            let excluded: BTreeSet<String> = webhook["namespaceSelector"]["matchExpressions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|expression| {
                    expression["key"] == "kubernetes.io/metadata.name"
                        && expression["operator"] == "NotIn"
                })
                .flat_map(|expression| strings(&expression["values"]))
                .collect();
            assert!(
                never.is_subset(&excluded),
                "{name}: namespaceSelector excludes {excluded:?}, not all of {never:?}"
            );
        }
    }
    assert!(
        webhooks >= 3,
        "the mutating and validating webhooks are read"
    );
}

#[test]
fn the_policy_exempts_the_never_governed_namespaces_and_velero_and_nothing_else() {
    for file in [
        "fixtures/policy/platform.yaml",
        "deploy/webhook/base/policy.yaml",
        "deploy/webhook/components/enforcement-warn/policy.yaml",
    ] {
        let policy = &documents(file)[0];
        let exempt: BTreeSet<String> = strings(&policy["exempt"]["namespaces"])
            .into_iter()
            .collect();
        let mut want = never_governed();
        want.insert(
            policy["veleroNamespace"]
                .as_str()
                .expect("veleroNamespace is set")
                .to_string(),
        );
        assert_eq!(exempt, want, "{file}: exempt.namespaces");
    }
}
