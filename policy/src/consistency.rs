//! App-consistent backups: a database whose files are copied (by snapshot or file-system
//! backup) while it writes is not reliably restorable. Velero makes the copy consistent only
//! through a pre-backup hook run in the pod just before its volumes are taken.
//!
//! For every protected claim whose data a schedule backs up, mounted by a running pod whose
//! container runs a known database image ([`ENGINES`]), each covering schedule must run a pre
//! hook in that pod, or a `no-consistency-hook` warning names the image, the schedules and the
//! usual hook for that database. A warning only: it never fails a gate or denies anything.
//!
//! Velero's hook rules (`internal/hook/item_hook_handler.go`, `HandleHooks`): hooks run for a
//! pod the backup itself includes; the pod's annotations `pre.hook.backup.velero.io/command`
//! (or the legacy `hook.backup.velero.io/command`) win; otherwise every entry of the backup's
//! `hooks.resources` whose namespaces, resources and label selector apply to the pod
//! (`ResourceHookSelector.applicableTo`: empty lists apply to all, excludes win, namespaces
//! match as globs) runs its `pre` hooks (`pkg/backup/backup.go`, `getResourceHook`).

mod engines;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::core::{Selector, SelectorExt};

use crate::coverage::CoverageIndex;
use crate::inventory::Inventory;
use crate::objects::PodFacts;
use crate::origin::ObjectKey;
use crate::pattern::NamePattern;
use crate::resources::{PODS, canonical};
use crate::schedule::CompiledSchedule;
use crate::velero::keys::{
    EXCLUDE_FROM_BACKUP, LEGACY_BACKUP_HOOK_COMMAND, PRE_BACKUP_HOOK_COMMAND,
};
use crate::velero::{BackupResourceHookSpec, Schedule};
use crate::verdict::{Gap, GapCode, ObjectKind, Severity, Verdict};

pub use self::engines::{ENGINES, Engine};

/// The pods of an inventory that run a known database, and the schedules' hooks: gathered
/// before the inventory is consumed by [`CoverageIndex::build`], judged against its verdicts.
#[derive(Debug, Default)]
pub struct Databases {
    pods: Vec<DatabasePod>,
    /// Schedule name → its template's `hooks.resources` entries.
    hooks: HashMap<String, Vec<ResourceHook>>,
}

#[derive(Debug)]
struct DatabasePod {
    key: ObjectKey,
    labels: BTreeMap<String, String>,
    /// The pod's annotations define a pre-backup hook.
    annotated_hook: bool,
    excluded_from_backup: bool,
    engine: &'static Engine,
    image: String,
    container: String,
    /// The claims whose volume the database container mounts, and where.
    claims: Vec<(String, String)>,
}

/// One `hooks.resources` entry, compiled.
#[derive(Debug)]
struct ResourceHook {
    included_namespaces: Vec<NamePattern>,
    excluded_namespaces: Vec<NamePattern>,
    included_resources: Vec<String>,
    excluded_resources: Vec<String>,
    /// `None`: no selector; `Some(None)`: one that does not parse (it selects nothing).
    selector: Option<Option<Selector>>,
    has_pre_exec: bool,
}

/// A `no-consistency-hook` warning for the verdict at `verdict`, about the pod `pod`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyFinding {
    pub verdict: usize,
    pub gap: Gap,
    pub pod: ObjectKey,
}

impl Databases {
    /// The running pods of `inventory` with a container that runs a known database image and
    /// mounts a claim, and the hooks of the schedules in `velero_namespace`.
    pub fn find(inventory: &Inventory, velero_namespace: &str) -> Self {
        let pods = inventory
            .pods
            .iter()
            .filter(|pod| pod.is_running())
            .filter_map(database_pod)
            .collect();
        let hooks = inventory
            .schedules
            .iter()
            .filter(|schedule| schedule.metadata.namespace.as_deref() == Some(velero_namespace))
            .filter_map(|schedule| Some((schedule.metadata.name.clone()?, hooks_of(schedule))))
            .collect();
        Self { pods, hooks }
    }

    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// A warning for every protected claim in `verdicts` whose data a covering schedule backs
    /// up without running a pre-backup hook in the database pod that mounts it.
    pub fn judge(&self, index: &CoverageIndex, verdicts: &[Verdict]) -> Vec<ConsistencyFinding> {
        if self.pods.is_empty() {
            return Vec::new();
        }
        let claims: HashMap<(&str, &str), usize> = verdicts
            .iter()
            .enumerate()
            .filter(|(_, verdict)| {
                verdict.kind == ObjectKind::PersistentVolumeClaim
                    && verdict.is_protected()
                    && !verdict.covered_by.is_empty()
            })
            .map(|(at, verdict)| ((verdict.namespace.as_str(), verdict.name.as_str()), at))
            .collect();
        let schedules: HashMap<&str, &CompiledSchedule> = index
            .schedules()
            .map(|schedule| (schedule.name.as_str(), schedule))
            .collect();
        let mut findings = Vec::new();
        for pod in &self.pods {
            for (claim, mount) in &pod.claims {
                let Some(&at) = claims.get(&(pod.key.namespace.as_str(), claim.as_str())) else {
                    continue;
                };
                let Some(verdict) = verdicts.get(at) else {
                    continue;
                };
                let missing: Vec<(&str, Missing)> = verdict
                    .covered_by
                    .iter()
                    .filter_map(|name| {
                        let schedule = schedules.get(name.as_str())?;
                        self.missing_hook(pod, schedule)
                            .map(|missing| (name.as_str(), missing))
                    })
                    .collect();
                if missing.is_empty() {
                    continue;
                }
                findings.push(ConsistencyFinding {
                    verdict: at,
                    gap: Gap {
                        code: GapCode::NoConsistencyHook,
                        severity: Severity::Warning,
                        message: message(verdict, pod, mount, &missing),
                        schedule: missing.first().map(|(name, _)| (*name).to_string()),
                    },
                    pod: pod.key.clone(),
                });
            }
        }
        findings
    }

    /// Why `schedule` takes the pod's data without a pre-backup hook in it; `None` when a hook
    /// runs.
    fn missing_hook(&self, pod: &DatabasePod, schedule: &CompiledSchedule) -> Option<Missing> {
        let in_backup = schedule.resources.includes_namespaced(PODS)
            && schedule.labels.matches(&pod.labels)
            && !pod.excluded_from_backup;
        if !in_backup {
            return Some(Missing::PodNotInBackup);
        }
        if pod.annotated_hook {
            return None;
        }
        let applies = self
            .hooks
            .get(&schedule.name)
            .into_iter()
            .flatten()
            .any(|hook| hook.has_pre_exec && hook.applies_to(&pod.key.namespace, &pod.labels));
        (!applies).then_some(Missing::NoHook)
    }
}

/// Why a covering schedule runs no pre-backup hook in the database pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    NoHook,
    /// The schedule backs up the claim but not the pod, so no hook of any kind runs in it.
    PodNotInBackup,
}

fn database_pod(pod: &PodFacts) -> Option<DatabasePod> {
    let (container, engine) = pod.spec.containers.iter().find_map(|container| {
        engines::engine_of(&container.image).map(|engine| (container, engine))
    })?;
    let claims: Vec<(String, String)> = pod
        .spec
        .volumes
        .iter()
        .filter_map(|volume| {
            let claim = volume.persistent_volume_claim.as_ref()?;
            let mount = container
                .volume_mounts
                .iter()
                .find(|mount| mount.name == volume.name)?;
            Some((claim.claim_name.clone(), mount.mount_path.clone()))
        })
        .collect();
    if claims.is_empty() {
        return None;
    }
    let annotation = |key: &str| {
        pod.metadata
            .annotations
            .get(key)
            .is_some_and(|command| !command.is_empty())
    };
    Some(DatabasePod {
        key: ObjectKey::new(
            "Pod",
            pod.metadata.namespace_or_default(),
            &pod.metadata.name,
        ),
        labels: pod.metadata.labels.clone(),
        annotated_hook: annotation(PRE_BACKUP_HOOK_COMMAND)
            || annotation(LEGACY_BACKUP_HOOK_COMMAND),
        excluded_from_backup: pod
            .metadata
            .labels
            .get(EXCLUDE_FROM_BACKUP)
            .is_some_and(|value| value == "true"),
        engine,
        image: container.image.clone(),
        container: container.name.clone(),
        claims,
    })
}

fn hooks_of(schedule: &Schedule) -> Vec<ResourceHook> {
    schedule
        .spec
        .template
        .hooks
        .as_ref()
        .and_then(|hooks| hooks.resources.as_ref())
        .into_iter()
        .flatten()
        .map(ResourceHook::compile)
        .collect()
}

impl ResourceHook {
    fn compile(spec: &BackupResourceHookSpec) -> Self {
        let patterns = |list: &Option<Vec<String>>| -> Vec<NamePattern> {
            list.iter()
                .flatten()
                .filter_map(|pattern| NamePattern::parse(pattern).ok())
                .collect()
        };
        let resources = |list: &Option<Vec<String>>| -> Vec<String> {
            list.iter().flatten().map(|name| canonical(name)).collect()
        };
        Self {
            included_namespaces: patterns(&spec.included_namespaces),
            excluded_namespaces: patterns(&spec.excluded_namespaces),
            included_resources: resources(&spec.included_resources),
            excluded_resources: resources(&spec.excluded_resources),
            selector: spec.label_selector.as_ref().map(selector),
            has_pre_exec: spec.pre.iter().flatten().any(|hook| {
                hook.exec
                    .as_ref()
                    .is_some_and(|exec| !exec.command.is_empty())
            }),
        }
    }

    /// `ResourceHookSelector.applicableTo` for a pod.
    fn applies_to(&self, namespace: &str, labels: &BTreeMap<String, String>) -> bool {
        let namespace_ok = !self
            .excluded_namespaces
            .iter()
            .any(|pattern| pattern.matches(namespace))
            && (self.included_namespaces.is_empty()
                || self
                    .included_namespaces
                    .iter()
                    .any(|pattern| pattern.matches(namespace)));
        let resource_ok = !self.excluded_resources.iter().any(|name| name == PODS)
            && (self.included_resources.is_empty()
                || self
                    .included_resources
                    .iter()
                    .any(|name| name == PODS || name == "*"));
        let labels_ok = match &self.selector {
            None => true,
            Some(None) => false,
            Some(Some(selector)) => selector.matches(labels),
        };
        namespace_ok && resource_ok && labels_ok
    }
}

fn selector(selector: &LabelSelector) -> Option<Selector> {
    Selector::try_from(selector.clone()).ok()
}

fn message(
    verdict: &Verdict,
    pod: &DatabasePod,
    mount: &str,
    missing: &[(&str, Missing)],
) -> String {
    let engine = pod.engine;
    let names = |which: Missing| -> Vec<&str> {
        missing
            .iter()
            .filter(|(_, reason)| *reason == which)
            .map(|(name, _)| *name)
            .collect()
    };
    let mut why = Vec::new();
    let no_hook = names(Missing::NoHook);
    if !no_hook.is_empty() {
        why.push(format!(
            "{} back{} it up with no pre-backup hook in that pod (no {PRE_BACKUP_HOOK_COMMAND} annotation, no hooks.resources entry of the schedule's template selecting it)",
            plural("schedule", &no_hook),
            if no_hook.len() == 1 { "s" } else { "" },
        ));
    }
    let outside = names(Missing::PodNotInBackup);
    if !outside.is_empty() {
        why.push(format!(
            "{} back{} up the claim but not the pod, so no hook can run in it",
            plural("schedule", &outside),
            if outside.len() == 1 { "s" } else { "" },
        ));
    }
    let mount = if mount.is_empty() {
        "<data dir>"
    } else {
        mount
    };
    let suggestion = engine.suggestion(&pod.container, mount);
    format!(
        "{subject}: pod {pod} runs {engine_name} (image {image}) on it, and a volume copied while the database writes may not restore cleanly: {why}. {suggestion} Velero runs the hook just before it takes the pod's volumes (internal/hook, HandleHooks); the database's own backups are the stronger guarantee",
        subject = verdict.subject(),
        pod = pod.key.name,
        engine_name = engine.name,
        image = pod.image,
        why = why.join("; "),
    )
}

fn plural(noun: &str, names: &[&str]) -> String {
    match names {
        [one] => format!("{noun} {one}"),
        many => format!("{noun}s {}", many.join(", ")),
    }
}
