//! Which pods and claims around one claim a schedule's backup holds. Without a label selector,
//! every one its resource filter includes and that is not labelled
//! `velero.io/exclude-from-backup=true`. With `labelSelector` or `orLabelSelectors`, the items
//! whose own labels match, and the items they pull in:
//!
//! - a pod in the backup brings the claims it mounts, whatever its phase (before 1.15 the pod's
//!   BackupItemAction, `pkg/backup/actions/pod_action.go`; from 1.15 its ItemBlockAction,
//!   `pkg/itemblock/actions/pod_action.go`, both through `RelatedItemsForPod`);
//! - from 1.15, a bound claim in the backup brings the running pods that mount it
//!   (`pkg/itemblock/actions/pvc_action.go`, `GetRelatedItems`), which bring their claims in
//!   turn (`pkg/backup/backup.go`, `executeItemBlockActions`, recursively).
//!
//! A pulled-in item still passes Velero's inclusion checks (`pkg/backup/item_backupper.go`,
//! `itemInclusionChecks`): its resource included, not labelled out of backups.

use std::collections::BTreeSet;

use crate::objects::{Meta, PodFacts, PvcFacts};
use crate::resources::{PODS, PVCS};
use crate::schedule::CompiledSchedule;
use crate::versions::VersionedRule;

use super::rules::excluded_by_label;
use super::world::World;

/// The backup's pods and claims in the claim's neighbourhood.
#[derive(Debug)]
pub(crate) enum Members {
    /// No label selector: every includable item.
    Everything,
    /// A label selector: the claim's membership, and the pods (by world index) in the backup
    /// among those connected to it by mounts.
    Selected { claim: bool, pods: BTreeSet<usize> },
}

impl Members {
    /// The members around `pvc` (which need not be in the world: at admission it is new).
    pub fn around(schedule: &CompiledSchedule, world: &World, pvc: &PvcFacts) -> Self {
        if schedule.labels.is_all() {
            return Self::Everything;
        }
        let namespace = pvc.metadata.namespace_or_default();
        let query = pvc.metadata.name.as_str();
        let claim_facts = |name: &str| {
            if name == query {
                Some(pvc)
            } else {
                world.claim(namespace, name)
            }
        };
        // The component: claims and pods connected to the claim by mounts.
        let mut claims: BTreeSet<&str> = BTreeSet::from([query]);
        let mut pods: BTreeSet<usize> = BTreeSet::new();
        let mut frontier = vec![query];
        while let Some(claim) = frontier.pop() {
            for (index, pod) in world.pods_mounting_indexed(namespace, claim) {
                if !pods.insert(index) {
                    continue;
                }
                for name in claims_of(pod) {
                    if claims.insert(name) {
                        frontier.push(name);
                    }
                }
            }
        }
        let includable_claim = |name: &str| {
            claim_facts(name).is_some_and(|facts| {
                name == query
                    || (schedule.resources.includes_namespaced(PVCS)
                        && !excluded_by_label(&facts.metadata))
            })
        };
        let includable_pod = |pod: &PodFacts| {
            schedule.resources.includes_namespaced(PODS) && !excluded_by_label(&pod.metadata)
        };
        let selected = |meta: &Meta| schedule.labels.matches(&meta.labels);
        let mut claims_in: BTreeSet<&str> = claims
            .iter()
            .copied()
            .filter(|name| {
                includable_claim(name)
                    && claim_facts(name).is_some_and(|facts| selected(&facts.metadata))
            })
            .collect();
        let mut pods_in: BTreeSet<usize> = pods
            .iter()
            .copied()
            .filter(|index| {
                world
                    .pod(*index)
                    .is_some_and(|pod| includable_pod(pod) && selected(&pod.metadata))
            })
            .collect();
        let pvc_pulls_pods = schedule.version.has(VersionedRule::PvcPullsInPods);
        loop {
            let mut changed = false;
            for index in pods_in.clone() {
                let Some(pod) = world.pod(index) else {
                    continue;
                };
                for name in claims_of(pod) {
                    if includable_claim(name) && claims_in.insert(name) {
                        changed = true;
                    }
                }
            }
            if pvc_pulls_pods {
                for name in claims_in.clone() {
                    if !claim_facts(name).is_some_and(PvcFacts::is_bound) {
                        continue;
                    }
                    for (index, pod) in world.pods_mounting_indexed(namespace, name) {
                        if includable_pod(pod) && pod.is_running() && pods_in.insert(index) {
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        Self::Selected {
            claim: claims_in.contains(query),
            pods: pods_in,
        }
    }

    /// The claim is in the backup, as far as the label selector goes.
    pub fn claim(&self) -> bool {
        match self {
            Self::Everything => true,
            Self::Selected { claim, .. } => *claim,
        }
    }

    /// The pod (world index `index`) is in the backup.
    pub fn pod(&self, schedule: &CompiledSchedule, index: usize, pod: &PodFacts) -> bool {
        match self {
            Self::Everything => {
                schedule.resources.includes_namespaced(PODS) && !excluded_by_label(&pod.metadata)
            }
            Self::Selected { pods, .. } => pods.contains(&index),
        }
    }
}

/// The claims a pod mounts, by name.
fn claims_of(pod: &PodFacts) -> impl Iterator<Item = &str> {
    pod.spec.volumes.iter().filter_map(|volume| {
        volume
            .persistent_volume_claim
            .as_ref()
            .map(|claim| claim.claim_name.as_str())
    })
}
