//! Workload controllers as the pods and claims they will run.
//!
//! Repositories hold Deployments and StatefulSets, not Pods and PVCs. Coverage reads pods (which
//! claims they mount, their Velero annotations and labels) and claims, so each controller is
//! turned into what Kubernetes will create from it:
//!
//! - Deployments, ReplicaSets and StatefulSets run `spec.replicas` pods (1 when absent; none at
//!   0); DaemonSets run one pod per node (one here: nodes are not known); Jobs run pods unless
//!   suspended, at `parallelism: 0` or finished; CronJobs run their job template's pods unless
//!   `suspend: true`. A pod carries its template's labels and annotations
//!   (`backup.velero.io/backup-volumes`, `...-excludes`, hooks) and volumes. One pod stands for
//!   all replicas of a controller whose replicas share their claims; it is named
//!   `<kind>/<name>` (`deployment/web`), as `kubectl` names the controller.
//! - A StatefulSet's pods are `<name>-<ordinal>` (from `spec.ordinals.start`, default 0), and
//!   each `volumeClaimTemplates` entry becomes the claim `<template>-<name>-<ordinal>` that
//!   Kubernetes creates for that pod, with the template's labels plus the selector's
//!   `matchLabels` and the template's annotations; the pod mounts it under the template's name,
//!   replacing a template volume of that name (the StatefulSet controller's
//!   `getPersistentVolumeClaims` and `updateStorage`). The template's status is not copied: a
//!   claim Kubernetes will create is taken to be bound, as a claim from a manifest is.
//!
//! What is real wins: a controller whose pods exist (a pod's `ownerReferences` controller,
//! followed up through ReplicaSets to their Deployment and Jobs to their CronJob) is not
//! predicted, a pod or claim that exists by name is not predicted again, and a ReplicaSet or
//! Job whose controller is in the inventory is predicted through that controller only, so a
//! Deployment's pods are never counted twice.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use crate::PolicyError;
use crate::inventory::Inventory;
use crate::objects::{
    ClaimRef, Meta, PodFacts, PodSpecFacts, PodVolumeFacts, PvcFacts, null_as_default,
};
use crate::origin::{ObjectKey, Origin, Prediction};
use crate::yaml;

/// Label the StatefulSet controller puts on each of its pods (`updateIdentity`).
const STATEFULSET_POD_NAME: &str = "statefulset.kubernetes.io/pod-name";
/// Label with the pod's ordinal (Kubernetes ≥ 1.28, `updateIdentity`).
const POD_INDEX: &str = "apps.kubernetes.io/pod-index";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    Job,
    CronJob,
}

impl WorkloadKind {
    /// The controller kind of an API group and kind (`apps`, `StatefulSet`).
    pub fn of(group: &str, kind: &str) -> Option<Self> {
        match (group, kind) {
            ("apps", "Deployment") => Some(Self::Deployment),
            ("apps", "StatefulSet") => Some(Self::StatefulSet),
            ("apps", "DaemonSet") => Some(Self::DaemonSet),
            ("apps", "ReplicaSet") => Some(Self::ReplicaSet),
            ("batch", "Job") => Some(Self::Job),
            ("batch", "CronJob") => Some(Self::CronJob),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
            Self::DaemonSet => "DaemonSet",
            Self::ReplicaSet => "ReplicaSet",
            Self::Job => "Job",
            Self::CronJob => "CronJob",
        }
    }

    /// As `kubectl` names a controller: `deployment/web`.
    fn lowercase(self) -> &'static str {
        match self {
            Self::Deployment => "deployment",
            Self::StatefulSet => "statefulset",
            Self::DaemonSet => "daemonset",
            Self::ReplicaSet => "replicaset",
            Self::Job => "job",
            Self::CronJob => "cronjob",
        }
    }

    fn from_name(kind: &str) -> Option<Self> {
        [
            Self::Deployment,
            Self::StatefulSet,
            Self::DaemonSet,
            Self::ReplicaSet,
            Self::Job,
            Self::CronJob,
        ]
        .into_iter()
        .find(|candidate| candidate.as_str() == kind)
    }
}

/// The `ownerReferences` entry marked `controller: true`: who created an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Controller {
    pub kind: String,
    pub name: String,
}

impl Controller {
    /// The controller named in a Kubernetes object's `metadata.ownerReferences`.
    pub fn of(object: &Value) -> Option<Self> {
        object
            .pointer("/metadata/ownerReferences")?
            .as_array()?
            .iter()
            .find(|owner| owner.get("controller").and_then(Value::as_bool) == Some(true))
            .map(|owner| Self {
                kind: text(owner, "kind"),
                name: text(owner, "name"),
            })
    }
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A pod's namespace and controller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PodOwner {
    pub namespace: String,
    pub controller: Controller,
}

/// A workload controller, with the few fields that say which pods and claims it will create.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub metadata: Meta,
    pub spec: ControllerSpec,
    /// Set for a finished Job (`Complete` or `Failed`): it runs no pods any more.
    pub finished: bool,
    /// Its own controller: a ReplicaSet's Deployment, a Job's CronJob.
    pub owner: Option<Controller>,
}

/// The `spec` fields of every controller kind that matter, in one shape.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ControllerSpec {
    #[serde(default)]
    pub replicas: Option<i64>,
    /// Jobs: pods run at once; 0 runs none.
    #[serde(default)]
    pub parallelism: Option<i64>,
    /// Jobs and CronJobs.
    #[serde(default)]
    pub suspend: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub selector: SelectorFacts,
    #[serde(default)]
    pub template: Option<PodTemplateFacts>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub volume_claim_templates: Vec<PvcFacts>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ordinals: OrdinalsFacts,
    /// CronJobs: the Job each firing creates.
    #[serde(default)]
    pub job_template: Option<Box<JobTemplateFacts>>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SelectorFacts {
    #[serde(default, deserialize_with = "null_as_default")]
    pub match_labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct OrdinalsFacts {
    #[serde(default)]
    pub start: Option<i64>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct PodTemplateFacts {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: PodSpecFacts,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
pub struct JobTemplateFacts {
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: ControllerSpec,
}

#[derive(Deserialize, Debug, Clone, Default)]
struct WorkloadDocument {
    #[serde(default)]
    metadata: Meta,
    #[serde(default, deserialize_with = "null_as_default")]
    spec: ControllerSpec,
    #[serde(default, deserialize_with = "null_as_default")]
    status: JobStatusFacts,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
struct JobStatusFacts {
    #[serde(default, deserialize_with = "null_as_default")]
    conditions: Vec<ConditionFacts>,
}

#[derive(Deserialize, Debug, Clone, Default)]
struct ConditionFacts {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    status: String,
}

impl Workload {
    /// Decodes a controller of `kind` from its Kubernetes object; `origin` names it in errors.
    pub fn decode(kind: WorkloadKind, document: Value, origin: &str) -> Result<Self, PolicyError> {
        let owner = Controller::of(&document);
        let decoded: WorkloadDocument = yaml::decode(document, origin)?;
        let finished = kind == WorkloadKind::Job
            && decoded.status.conditions.iter().any(|condition| {
                matches!(condition.kind.as_str(), "Complete" | "Failed")
                    && condition.status == "True"
            });
        Ok(Self {
            kind,
            metadata: decoded.metadata,
            spec: decoded.spec,
            finished,
            owner,
        })
    }

    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(
            self.kind.as_str(),
            self.metadata.namespace_or_default(),
            &self.metadata.name,
        )
    }

    /// The pod template and how many pods run from it (0: none).
    fn pods(&self) -> (Option<&PodTemplateFacts>, i64) {
        let replicas = |spec: &ControllerSpec| spec.replicas.unwrap_or(1).max(0);
        let job = |spec: &ControllerSpec| {
            if spec.suspend == Some(true) {
                0
            } else {
                spec.parallelism.unwrap_or(1).max(0)
            }
        };
        match self.kind {
            WorkloadKind::Deployment | WorkloadKind::ReplicaSet | WorkloadKind::StatefulSet => {
                (self.spec.template.as_ref(), replicas(&self.spec))
            }
            WorkloadKind::DaemonSet => (self.spec.template.as_ref(), 1),
            WorkloadKind::Job if self.finished => (None, 0),
            WorkloadKind::Job => (self.spec.template.as_ref(), job(&self.spec)),
            WorkloadKind::CronJob if self.spec.suspend == Some(true) => (None, 0),
            WorkloadKind::CronJob => match &self.spec.job_template {
                Some(template) => (template.spec.template.as_ref(), job(&template.spec)),
                None => (None, 0),
            },
        }
    }
}

/// Adds to `inventory` the pods and claims its workloads will create (see the module docs),
/// each with its origin; the workloads are consumed.
pub(crate) fn predict(inventory: &mut Inventory) {
    let workloads = std::mem::take(&mut inventory.workloads);
    if workloads.is_empty() {
        return;
    }
    let owners: HashMap<(&str, WorkloadKind, &str), Option<&Controller>> = workloads
        .iter()
        .map(|workload| {
            (
                (
                    workload.metadata.namespace_or_default(),
                    workload.kind,
                    workload.metadata.name.as_str(),
                ),
                workload.owner.as_ref(),
            )
        })
        .collect();
    let running = running_controllers(&inventory.pod_owners, &owners);
    let mut pods: HashSet<(String, String)> = inventory
        .pods
        .iter()
        .map(|pod| {
            (
                pod.metadata.namespace_or_default().to_string(),
                pod.metadata.name.clone(),
            )
        })
        .collect();
    let mut claims: HashSet<(String, String)> = inventory
        .pvcs
        .iter()
        .map(|pvc| {
            (
                pvc.metadata.namespace_or_default().to_string(),
                pvc.metadata.name.clone(),
            )
        })
        .collect();
    for workload in &workloads {
        let namespace = workload.metadata.namespace_or_default();
        let managed_elsewhere = workload.owner.as_ref().is_some_and(|owner| {
            WorkloadKind::from_name(&owner.kind)
                .is_some_and(|kind| owners.contains_key(&(namespace, kind, owner.name.as_str())))
        });
        let key = (
            namespace.to_string(),
            workload.kind,
            workload.metadata.name.clone(),
        );
        if managed_elsewhere || running.contains(&key) {
            continue;
        }
        let (Some(template), count) = workload.pods() else {
            continue;
        };
        if count == 0 {
            continue;
        }
        let controller = workload.key();
        let place = inventory
            .origins
            .get(&controller)
            .and_then(|origin| origin.place.clone());
        let origin = |path: String| Origin {
            place: place.clone(),
            predicted: Some(Prediction {
                controller: controller.clone(),
                path,
            }),
        };
        if workload.kind != WorkloadKind::StatefulSet {
            let name = format!("{}/{}", workload.kind.lowercase(), workload.metadata.name);
            if pods.insert((namespace.to_string(), name.clone())) {
                let pod = pod_from(template, namespace, &name);
                inventory.origins.insert(
                    ObjectKey::new("Pod", namespace, &name),
                    origin(template_path(workload.kind)),
                );
                inventory.pods.push(pod);
            }
            continue;
        }
        let start = workload.spec.ordinals.start.unwrap_or(0).max(0);
        for ordinal in start..start.saturating_add(count) {
            let pod_name = format!("{}-{ordinal}", workload.metadata.name);
            for (index, claim_template) in workload.spec.volume_claim_templates.iter().enumerate() {
                let claim = claim_for(workload, claim_template, namespace, ordinal);
                if claims.insert((namespace.to_string(), claim.metadata.name.clone())) {
                    inventory.origins.insert(
                        ObjectKey::new("PersistentVolumeClaim", namespace, &claim.metadata.name),
                        origin(format!("spec.volumeClaimTemplates[{index}]")),
                    );
                    inventory.pvcs.push(claim);
                }
            }
            if pods.insert((namespace.to_string(), pod_name.clone())) {
                let mut pod = pod_from(template, namespace, &pod_name);
                stateful_identity(&mut pod, workload, ordinal);
                inventory.origins.insert(
                    ObjectKey::new("Pod", namespace, &pod_name),
                    origin("spec.template".to_string()),
                );
                inventory.pods.push(pod);
            }
        }
    }
}

fn template_path(kind: WorkloadKind) -> String {
    match kind {
        WorkloadKind::CronJob => "spec.jobTemplate.spec.template".to_string(),
        _ => "spec.template".to_string(),
    }
}

/// Controllers with a real pod: each pod's controller, and up from there through the
/// controllers' own owners (a ReplicaSet's Deployment, a Job's CronJob).
fn running_controllers(
    pod_owners: &[PodOwner],
    owners: &HashMap<(&str, WorkloadKind, &str), Option<&Controller>>,
) -> HashSet<(String, WorkloadKind, String)> {
    let mut running = HashSet::new();
    for pod_owner in pod_owners {
        let mut current = Some(&pod_owner.controller);
        while let Some(controller) = current {
            let Some(kind) = WorkloadKind::from_name(&controller.kind) else {
                break;
            };
            let namespace = pod_owner.namespace.as_str();
            if !running.insert((namespace.to_string(), kind, controller.name.clone())) {
                break;
            }
            current = owners
                .get(&(namespace, kind, controller.name.as_str()))
                .copied()
                .flatten();
        }
    }
    running
}

/// A pod as the controller creates it from `template`: the template's labels, annotations and
/// spec, in the controller's namespace, with no status (a pod from a manifest is taken to run).
fn pod_from(template: &PodTemplateFacts, namespace: &str, name: &str) -> PodFacts {
    PodFacts {
        metadata: Meta {
            name: name.to_string(),
            namespace: Some(namespace.to_string()),
            labels: template.metadata.labels.clone(),
            annotations: template.metadata.annotations.clone(),
        },
        spec: template.spec.clone(),
        status: Default::default(),
    }
}

/// The StatefulSet controller's `updateIdentity` labels and `updateStorage` volumes: each claim
/// template mounted under its own name, replacing a template volume of that name.
fn stateful_identity(pod: &mut PodFacts, workload: &Workload, ordinal: i64) {
    let name = pod.metadata.name.clone();
    pod.metadata
        .labels
        .insert(STATEFULSET_POD_NAME.to_string(), name);
    pod.metadata
        .labels
        .insert(POD_INDEX.to_string(), ordinal.to_string());
    for claim_template in &workload.spec.volume_claim_templates {
        let volume = PodVolumeFacts {
            name: claim_template.metadata.name.clone(),
            persistent_volume_claim: Some(ClaimRef {
                claim_name: claim_name(workload, claim_template, ordinal),
            }),
        };
        match pod
            .spec
            .volumes
            .iter_mut()
            .find(|existing| existing.name == volume.name)
        {
            Some(existing) => *existing = volume,
            None => pod.spec.volumes.push(volume),
        }
    }
}

/// `<template>-<statefulset>-<ordinal>` (`getPersistentVolumeClaimName`).
fn claim_name(workload: &Workload, claim_template: &PvcFacts, ordinal: i64) -> String {
    format!(
        "{}-{}-{ordinal}",
        claim_template.metadata.name, workload.metadata.name
    )
}

/// The claim the StatefulSet controller creates for one pod from one claim template: the
/// template's labels with the selector's `matchLabels` over them, its annotations and spec.
fn claim_for(
    workload: &Workload,
    claim_template: &PvcFacts,
    namespace: &str,
    ordinal: i64,
) -> PvcFacts {
    let mut labels = claim_template.metadata.labels.clone();
    labels.extend(
        workload
            .spec
            .selector
            .match_labels
            .iter()
            .map(|(key, value)| (key.clone(), value.clone())),
    );
    PvcFacts {
        metadata: Meta {
            name: claim_name(workload, claim_template, ordinal),
            namespace: Some(namespace.to_string()),
            labels,
            annotations: claim_template.metadata.annotations.clone(),
        },
        spec: claim_template.spec.clone(),
        status: Default::default(),
    }
}

#[cfg(test)]
mod tests;
