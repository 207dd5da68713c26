//! `no-consistency-hook`: a database pod whose claim a schedule backs up needs a pre-backup hook
//! from each covering schedule (Velero's `internal/hook/item_hook_handler.go`, `HandleHooks`,
//! and `pkg/backup/backup.go`, `getResourceHook`).

use std::sync::Arc;

use super::*;
use crate::Policy;

/// The claims here are snapshotted by CSI: the server runs with `EnableCSI`.
const POLICY: &str = include_str!("../../../fixtures/policy/rules-daily-meets-standard-csi.yaml");

/// A standard-tier namespace, a class with no snapshot path, and a schedule that copies every
/// mounted volume by file-system backup.
fn cluster(template_extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: team-db}}\n---\n\
         apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {{name: fast}}\nprovisioner: ebs.csi.aws.com\n---\n\
         apiVersion: velero.io/v1\nkind: Schedule\nmetadata: {{name: daily, namespace: velero}}\n\
         spec:\n  schedule: '0 2 * * *'\n  template:\n    includedNamespaces: [team-db]\n    defaultVolumesToFsBackup: true\n    ttl: 720h\n{template_extra}"
    )
}

fn statefulset(image: &str, annotations: &str) -> String {
    format!(
        "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: pg, namespace: team-db}}\nspec:\n  \
         replicas: 1\n  selector: {{matchLabels: {{app: pg}}}}\n  template:\n    metadata: {{labels: {{app: pg}}, annotations: {{{annotations}}}}}\n    \
         spec:\n      containers:\n        - {{name: db, image: '{image}', volumeMounts: [{{name: data, mountPath: /var/lib/postgresql/data}}]}}\n        \
         - {{name: exporter, image: 'prometheuscommunity/postgres-exporter:v0.15'}}\n  \
         volumeClaimTemplates: [{{metadata: {{name: data}}, spec: {{storageClassName: fast}}}}]\n"
    )
}

fn judge(yaml: &str) -> (Vec<Verdict>, Vec<ConsistencyFinding>) {
    let policy = Arc::new(Policy::from_yaml(POLICY, "policy.yaml").unwrap());
    let mut inventory = Inventory::default();
    inventory.add_yaml(yaml, "db.yaml").unwrap();
    inventory.finish();
    let databases = Databases::find(&inventory, "velero");
    let index = CoverageIndex::build(policy, inventory);
    let verdicts = index.evaluate_all();
    let findings = databases.judge(&index, &verdicts);
    (verdicts, findings)
}

#[test]
fn postgres_statefulset_without_a_hook_gets_a_warning_naming_the_image_and_the_usual_hook() {
    let (verdicts, findings) = judge(&(cluster("") + &statefulset("postgres:16", "")));
    let [finding] = findings.as_slice() else {
        panic!("one finding: {findings:?}");
    };
    let claim = &verdicts[finding.verdict];
    assert_eq!(claim.name, "data-pg-0");
    assert!(
        !claim.covered_by.is_empty(),
        "its data is backed up by volume"
    );
    assert_eq!(finding.gap.code, GapCode::NoConsistencyHook);
    assert_eq!(finding.gap.severity, Severity::Warning);
    assert_eq!(finding.pod, ObjectKey::new("Pod", "team-db", "pg-0"));
    let message = &finding.gap.message;
    for expected in [
        "PersistentVolumeClaim team-db/data-pg-0",
        "pod pg-0 runs PostgreSQL (image postgres:16)",
        "schedule daily backs it up with no pre-backup hook",
        "pre.hook.backup.velero.io/container: db",
        "pg_dumpall",
        "/var/lib/postgresql/data/velero-pre-backup.sql",
    ] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }
}

#[test]
fn postgres_statefulset_with_a_pre_hook_annotation_is_consistent() {
    let hook = r#"pre.hook.backup.velero.io/command: '["/bin/sh","-c","pg_dumpall -f /var/lib/postgresql/data/d.sql"]'"#;
    let (_, findings) = judge(&(cluster("") + &statefulset("postgres:16", hook)));
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn the_legacy_hook_annotation_without_a_phase_counts_as_the_pre_hook() {
    let hook = r#"hook.backup.velero.io/command: '["redis-cli","SAVE"]'"#;
    let (_, findings) = judge(&(cluster("") + &statefulset("redis:7", hook)));
    assert!(findings.is_empty(), "{findings:?}");
}

const TEMPLATE_HOOK: &str = "    hooks:\n      resources:\n        - name: dump\n          includedNamespaces: [NAMESPACE]\n          labelSelector: {matchLabels: {app: pg}}\n          pre: [{exec: {container: db, command: [/bin/sh, -c, pg_dumpall -f /tmp/x]}}]\n";

#[test]
fn a_schedule_template_hook_selecting_the_pod_makes_it_consistent() {
    let hooks = TEMPLATE_HOOK.replace("NAMESPACE", "'team-*'");
    let (_, findings) = judge(&(cluster(&hooks) + &statefulset("postgres:16", "")));
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn a_template_hook_for_other_namespaces_or_only_post_hooks_does_not() {
    let elsewhere = TEMPLATE_HOOK.replace("NAMESPACE", "shop");
    let (_, findings) = judge(&(cluster(&elsewhere) + &statefulset("postgres:16", "")));
    assert_eq!(findings.len(), 1);
    let post_only = TEMPLATE_HOOK
        .replace("NAMESPACE", "team-db")
        .replace("pre:", "post:");
    let (_, findings) = judge(&(cluster(&post_only) + &statefulset("postgres:16", "")));
    assert_eq!(findings.len(), 1);
}

#[test]
fn a_schedule_that_backs_up_the_claim_but_not_the_pod_runs_no_hook_at_all() {
    let hook = r#"pre.hook.backup.velero.io/command: '["mongosh","--eval","db.fsyncLock()"]'"#;
    let snapshot_class = "---\napiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\n\
        metadata: {name: ebs, labels: {velero.io/csi-volumesnapshot-class: 'true'}}\ndriver: ebs.csi.aws.com\n";
    let no_pods = cluster("").replace(
        "    defaultVolumesToFsBackup: true\n",
        "    includedResources: [persistentvolumeclaims]\n",
    );
    let (verdicts, findings) = judge(&(no_pods + snapshot_class + &statefulset("mongo:7", hook)));
    let [finding] = findings.as_slice() else {
        panic!("one finding: {findings:?} for {verdicts:?}");
    };
    assert!(
        finding
            .gap
            .message
            .contains("schedule daily backs up the claim but not the pod"),
        "{}",
        finding.gap.message
    );
    assert!(
        finding.gap.message.contains("db.fsyncUnlock()"),
        "{}",
        finding.gap.message
    );
}

#[test]
fn a_database_whose_data_is_not_backed_up_gets_no_consistency_warning() {
    let local_path = cluster("").replace(
        "provisioner: ebs.csi.aws.com",
        "provisioner: rancher.io/local-path",
    );
    let (verdicts, findings) = judge(&(local_path + &statefulset("postgres:16", "")));
    assert!(findings.is_empty(), "{findings:?}");
    assert!(
        verdicts
            .iter()
            .any(|verdict| verdict.has_gap(GapCode::VolumeNotBackedUp))
    );
}

#[test]
fn an_application_or_an_exporter_image_is_not_a_database() {
    for image in [
        "nginx:1.27",
        "prometheuscommunity/postgres-exporter:v0.15",
        "pgbouncer/pgbouncer",
    ] {
        let (_, findings) = judge(&(cluster("") + &statefulset(image, "")));
        assert!(findings.is_empty(), "{image}: {findings:?}");
    }
}

#[test]
fn images_are_recognised_by_repository_name_whatever_the_registry_tag_or_digest() {
    let name = |image: &str| engines::engine_of(image).map(|engine| engine.name);
    assert_eq!(name("postgres"), Some("PostgreSQL"));
    assert_eq!(
        name("docker.io/bitnami/postgresql:16.4.0-debian-12-r0"),
        Some("PostgreSQL")
    );
    assert_eq!(name("ghcr.io/zalando/spilo-16:3.3-p1"), Some("PostgreSQL"));
    assert_eq!(
        name("registry.example:5000/db/mariadb@sha256:0123abcd"),
        Some("MySQL/MariaDB")
    );
    assert_eq!(name("percona/percona-server-mongodb:7.0"), Some("MongoDB"));
    assert_eq!(
        name("clickhouse/clickhouse-server:24.8"),
        Some("ClickHouse")
    );
    assert_eq!(name("valkey/valkey:8"), Some("Redis"));
    assert_eq!(
        name("docker.elastic.co/elasticsearch/elasticsearch:8.15.0"),
        Some("Elasticsearch/OpenSearch")
    );
    assert_eq!(
        name("opensearchproject/opensearch:2"),
        Some("Elasticsearch/OpenSearch")
    );
    assert_eq!(name("registry.k8s.io/etcd:3.5.15-0"), Some("etcd"));
    assert_eq!(name("hashicorp/vault:1.17"), Some("Vault"));
    assert_eq!(name("spilo"), None);
    assert_eq!(name("postgres-exporter"), None);
    assert_eq!(name(""), None);
}

#[test]
fn every_suggested_command_is_a_json_array_as_the_annotation_takes_it() {
    for engine in ENGINES {
        for command in std::iter::once(engine.pre).chain(engine.post) {
            let command = command.replace("{mount}", "/data");
            let parsed: Vec<String> = serde_json::from_str(&command)
                .unwrap_or_else(|error| panic!("{}: {command}: {error}", engine.name));
            assert!(!parsed.is_empty(), "{}", engine.name);
        }
    }
}
