//! The Velero inclusion rules for one (schedule, object) pair. Each rule cites the Velero
//! behaviour it models; its named tests are in `coverage/tests/`. A claim's data is decided in
//! `volume_data`, which pods and claims a label selector takes in `membership`.

use crate::objects::{Meta, NamespaceFacts, PvcFacts};
use crate::resources::PVCS;
use crate::schedule::CompiledSchedule;
use crate::velero::keys::EXCLUDE_FROM_BACKUP;
use crate::verdict::GapCode;

pub(crate) use super::data_gap::DataGapReason;
use super::membership::Members;
use super::volume_data::volume_data;
use super::world::{SnapshotPath, World};

/// What one schedule does for one object, ignoring whether the schedule is paused or valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The schedule's namespace, resource or label filters leave the object out.
    NotSelected,
    /// The object (and, for a PVC, its volume data) is backed up.
    Covers(DataPath),
    /// The PVC object is backed up but its data is not.
    DataGap {
        code: GapCode,
        reason: DataGapReason,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DataPath {
    /// A Namespace: its objects are backed up.
    Objects,
    Snapshot(SnapshotPath),
    /// Through a running pod that mounts the claim.
    FsBackup,
    /// At admission a new PVC has no pod yet: file-system backup will take its data once a
    /// running pod mounts it.
    FsBackupOnceMounted,
}

/// `velero.io/exclude-from-backup=true` on the object keeps it out of every backup.
pub(crate) fn excluded_by_label(meta: &Meta) -> bool {
    meta.labels.get(EXCLUDE_FROM_BACKUP).map(String::as_str) == Some("true")
}

/// A Namespace is covered when the namespace filter selects it (excludes win, empty or `*`
/// means all), the resource filter keeps Namespace objects, and Velero's namespace tracker
/// takes it (`pkg/backup/item_collector.go`, `nsTracker.init`): with no label selector, always;
/// with one, when the namespace's own labels match, when the namespace filter is not "every
/// namespace" (a namespace named or globbed in `includedNamespaces`, or any exclude, keeps its
/// Namespace object whatever the selector says), or when a selected PVC or pod lives in it.
pub(crate) fn namespace_outcome(
    schedule: &CompiledSchedule,
    namespace: &NamespaceFacts,
    world: &World,
) -> Outcome {
    let meta = &namespace.metadata;
    if !schedule.namespaces.selects(&meta.name) || !schedule.resources.includes_namespace_objects()
    {
        return Outcome::NotSelected;
    }
    let tracked = schedule.labels.is_all()
        || schedule.labels.matches(&meta.labels)
        || !schedule.namespaces.includes_everything()
        || world.selects_an_item_in(&meta.name, |labels, resource| {
            schedule.resources.includes_namespaced(resource) && schedule.labels.matches(labels)
        });
    if tracked {
        Outcome::Covers(DataPath::Objects)
    } else {
        Outcome::NotSelected
    }
}

/// A PVC is covered when its namespace is selected, `persistentvolumeclaims` is included, the
/// label filter takes it (its own labels, or a pod or claim in the backup pulls it in: see
/// `membership`), and its data is reached by a snapshot or a file-system backup (see
/// `volume_data`).
pub(crate) fn pvc_outcome(
    schedule: &CompiledSchedule,
    pvc: &PvcFacts,
    world: &World,
    mount: MountAssumption,
) -> Outcome {
    let meta = &pvc.metadata;
    if !schedule.namespaces.selects(meta.namespace_or_default())
        || !schedule.resources.includes_namespaced(PVCS)
    {
        return Outcome::NotSelected;
    }
    let members = Members::around(schedule, world, pvc);
    if !members.claim() {
        return Outcome::NotSelected;
    }
    volume_data(schedule, pvc, world, mount, &members)
}

/// Whether a PVC that no pod mounts is judged as it is, or as it will be once its pod starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MountAssumption {
    AsObserved,
    /// At admission: a PVC being created cannot be mounted yet.
    WillBeMounted,
}
