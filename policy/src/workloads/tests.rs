//! Workload controllers as the pods and claims they will run (the StatefulSet controller's
//! `getPersistentVolumeClaims`/`updateStorage`/`updateIdentity` for StatefulSets), and real
//! objects winning over predictions.

use super::*;

fn inventory(yaml: &str) -> Inventory {
    let mut inventory = Inventory::default();
    inventory.add_yaml(yaml, "workloads.yaml").unwrap();
    inventory.finish();
    inventory
}

fn claim_names(inventory: &Inventory) -> Vec<&str> {
    inventory
        .pvcs
        .iter()
        .map(|pvc| pvc.metadata.name.as_str())
        .collect()
}

fn pod_names(inventory: &Inventory) -> Vec<&str> {
    inventory
        .pods
        .iter()
        .map(|pod| pod.metadata.name.as_str())
        .collect()
}

const STATEFULSET: &str = "\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: pg, namespace: data}
spec:
  replicas: 3
  selector: {matchLabels: {app: pg}}
  template:
    metadata:
      labels: {app: pg, tier: db}
      annotations: {backup.velero.io/backup-volumes: data}
    spec:
      containers:
        - {name: postgres, image: postgres:16, volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]}
  volumeClaimTemplates:
    - metadata:
        name: data
        labels: {app: other, backup: nightly}
        annotations: {volumeType: local}
      spec: {storageClassName: fast, accessModes: [ReadWriteOnce]}
      status: {phase: Pending}
";

#[test]
fn statefulset_with_three_replicas_creates_a_claim_per_template_and_ordinal() {
    let inventory = inventory(STATEFULSET);
    assert_eq!(
        claim_names(&inventory),
        ["data-pg-0", "data-pg-1", "data-pg-2"]
    );
    assert_eq!(pod_names(&inventory), ["pg-0", "pg-1", "pg-2"]);
    let claim = &inventory.pvcs[1];
    assert_eq!(claim.metadata.namespace.as_deref(), Some("data"));
    assert_eq!(claim.spec.storage_class_name.as_deref(), Some("fast"));
    assert_eq!(
        claim
            .metadata
            .annotations
            .get("volumeType")
            .map(String::as_str),
        Some("local")
    );
    assert!(
        claim.is_bound(),
        "the template's status (kubectl get -o yaml writes phase Pending) is not the claim's"
    );
}

#[test]
fn statefulset_claims_carry_the_template_labels_with_the_selector_over_them() {
    let inventory = inventory(STATEFULSET);
    let labels = &inventory.pvcs[0].metadata.labels;
    assert_eq!(
        labels.get("app").map(String::as_str),
        Some("pg"),
        "selector wins"
    );
    assert_eq!(labels.get("backup").map(String::as_str), Some("nightly"));
}

#[test]
fn statefulset_pods_mount_their_own_claim_and_carry_template_metadata_and_identity() {
    let inventory = inventory(STATEFULSET);
    let pod = &inventory.pods[2];
    assert_eq!(
        pod.volumes_for_claim("data-pg-2").collect::<Vec<_>>(),
        ["data"]
    );
    assert!(pod.mounts("data"));
    assert_eq!(
        pod.metadata
            .annotations
            .get("backup.velero.io/backup-volumes")
            .map(String::as_str),
        Some("data")
    );
    assert_eq!(
        pod.metadata.labels.get("tier").map(String::as_str),
        Some("db")
    );
    assert_eq!(
        pod.metadata
            .labels
            .get(STATEFULSET_POD_NAME)
            .map(String::as_str),
        Some("pg-2")
    );
    assert_eq!(
        pod.metadata.labels.get(POD_INDEX).map(String::as_str),
        Some("2")
    );
    assert!(pod.is_running());
    assert_eq!(pod.spec.containers[0].image, "postgres:16");
}

#[test]
fn statefulset_ordinals_start_where_the_spec_says() {
    let yaml = STATEFULSET.replace("  replicas: 3\n", "  replicas: 2\n  ordinals: {start: 5}\n");
    let inventory = inventory(&yaml);
    assert_eq!(claim_names(&inventory), ["data-pg-5", "data-pg-6"]);
}

#[test]
fn predicted_claims_name_the_statefulset_and_template_they_come_from() {
    let inventory = inventory(STATEFULSET);
    let origin = inventory
        .origins
        .get(&ObjectKey::new(
            "PersistentVolumeClaim",
            "data",
            "data-pg-1",
        ))
        .unwrap();
    assert_eq!(
        origin.to_string(),
        "workloads.yaml (document 1, line 1): spec.volumeClaimTemplates[0] of StatefulSet data/pg"
    );
}

#[test]
fn a_claim_that_exists_wins_over_the_template_prediction() {
    let yaml = format!(
        "{STATEFULSET}---\napiVersion: v1\nkind: PersistentVolumeClaim\n\
         metadata: {{name: data-pg-0, namespace: data, labels: {{real: 'yes'}}}}\n"
    );
    let inventory = inventory(&yaml);
    assert_eq!(
        claim_names(&inventory),
        ["data-pg-0", "data-pg-1", "data-pg-2"]
    );
    assert_eq!(
        inventory.pvcs[0]
            .metadata
            .labels
            .get("real")
            .map(String::as_str),
        Some("yes")
    );
}

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: REPLICAS
  template:
    metadata: {labels: {app: web}, annotations: {backup.velero.io/backup-volumes-excludes: cache}}
    spec:
      containers: [{name: web, image: nginx, volumeMounts: [{name: cache, mountPath: /cache}]}]
      volumes: [{name: cache, persistentVolumeClaim: {claimName: web-cache}}]
";

#[test]
fn deployment_runs_one_pod_standing_for_its_replicas_named_as_kubectl_names_it() {
    let inventory = inventory(&DEPLOYMENT.replace("REPLICAS", "3"));
    assert_eq!(pod_names(&inventory), ["deployment/web"]);
    let pod = &inventory.pods[0];
    assert_eq!(pod.metadata.namespace.as_deref(), Some("shop"));
    assert_eq!(
        pod.volumes_for_claim("web-cache").collect::<Vec<_>>(),
        ["cache"]
    );
    assert!(
        pod.metadata
            .annotations
            .contains_key("backup.velero.io/backup-volumes-excludes")
    );
}

#[test]
fn deployment_scaled_to_zero_runs_no_pod() {
    let inventory = inventory(&DEPLOYMENT.replace("REPLICAS", "0"));
    assert!(inventory.pods.is_empty());
}

#[test]
fn deployment_without_replicas_runs_one() {
    let inventory = inventory(&DEPLOYMENT.replace("  replicas: REPLICAS\n", ""));
    assert_eq!(pod_names(&inventory), ["deployment/web"]);
}

const CRONJOB: &str = "\
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: '0 3 * * *'
  SUSPEND
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: r, image: busybox, volumeMounts: [{name: out, mountPath: /out}]}]
          volumes: [{name: out, persistentVolumeClaim: {claimName: reports}}]
";

#[test]
fn cronjob_runs_its_job_template_pod() {
    let inventory = inventory(&CRONJOB.replace("SUSPEND", "suspend: false"));
    assert_eq!(pod_names(&inventory), ["cronjob/report"]);
    assert_eq!(
        inventory.pods[0]
            .volumes_for_claim("reports")
            .collect::<Vec<_>>(),
        ["out"]
    );
}

#[test]
fn suspended_cronjob_runs_no_pod() {
    let inventory = inventory(&CRONJOB.replace("SUSPEND", "suspend: true"));
    assert!(inventory.pods.is_empty());
}

#[test]
fn jobs_run_unless_suspended_at_parallelism_zero_or_finished() {
    let job = |extra: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: migrate, namespace: shop}}\n\
             spec:\n  {extra}\n  template: {{spec: {{containers: [{{name: m, image: busybox}}]}}}}\n"
        )
    };
    assert_eq!(
        pod_names(&inventory(&job("completions: 1"))),
        ["job/migrate"]
    );
    assert!(inventory(&job("suspend: true")).pods.is_empty());
    assert!(inventory(&job("parallelism: 0")).pods.is_empty());
    let finished = format!(
        "{}status: {{conditions: [{{type: Complete, status: 'True'}}]}}\n",
        job("completions: 1")
    );
    assert!(inventory(&finished).pods.is_empty());
}

#[test]
fn daemonset_runs_one_pod_for_its_nodes() {
    let inventory = inventory(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: ops}\n\
         spec: {template: {spec: {containers: [{name: a, image: agent}]}}}\n",
    );
    assert_eq!(pod_names(&inventory), ["daemonset/agent"]);
}

/// A Deployment, its ReplicaSet and the ReplicaSet's pod, as a cluster lists them.
const DEPLOYED: &str = "\
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d4f8
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true}]
spec:
  replicas: 3
  template: {spec: {containers: [{name: web, image: nginx}]}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d4f8-x7k2p
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f8, uid: u2, controller: true}]
spec: {containers: [{name: web, image: nginx}]}
status: {phase: Running}
";

#[test]
fn a_pod_owned_by_a_replicaset_of_a_deployment_is_not_counted_twice() {
    let yaml = format!("{}---\n{DEPLOYED}", DEPLOYMENT.replace("REPLICAS", "3"));
    let inventory = inventory(&yaml);
    assert_eq!(pod_names(&inventory), ["web-5d4f8-x7k2p"]);
}

#[test]
fn a_replicaset_of_a_deployment_is_predicted_through_the_deployment_only() {
    let replicaset = DEPLOYED.split("---").next().unwrap();
    let yaml = format!("{}---\n{replicaset}", DEPLOYMENT.replace("REPLICAS", "2"));
    let inventory = inventory(&yaml);
    assert_eq!(pod_names(&inventory), ["deployment/web"]);
}

#[test]
fn a_statefulset_with_real_pods_is_not_predicted() {
    let yaml = format!(
        "{STATEFULSET}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pg-0\n  namespace: data\n  \
         ownerReferences: [{{kind: StatefulSet, name: pg, controller: true}}]\nstatus: {{phase: Pending}}\n"
    );
    let inventory = inventory(&yaml);
    assert_eq!(pod_names(&inventory), ["pg-0"]);
    assert!(
        inventory.pvcs.is_empty(),
        "its claims are the cluster's: {:?}",
        claim_names(&inventory)
    );
}

#[test]
fn workloads_in_other_groups_are_not_read() {
    let mut inventory = Inventory::default();
    let kept = inventory
        .add_yaml(
            "apiVersion: example.com/v1\nkind: StatefulSet\nmetadata: {name: x}\n",
            "x.yaml",
        )
        .unwrap();
    assert_eq!(kept, 0);
}
