//! The Velero inclusion rules for one (schedule, object) pair. Each rule cites the Velero
//! behaviour it models; its named tests are in `coverage/tests.rs`.

use crate::objects::{Meta, NamespaceFacts, PodFacts, PvcFacts};
use crate::resources::{PODS, PVCS};
use crate::schedule::CompiledSchedule;
use crate::velero::keys::{BACKUP_VOLUMES, BACKUP_VOLUMES_EXCLUDES, EXCLUDE_FROM_BACKUP};
use crate::verdict::GapCode;

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

/// Why a PVC's data is not backed up. Kept as a value and put into words only when a message
/// is wanted: edit judging and mutation compare codes and never read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DataGapReason {
    /// Only file-system backup could take the data, and no running pod in the backup mounts it.
    NoRunningPod,
    /// A pod lists the claim name in `backup.velero.io/backup-volumes`, which takes volume names.
    ClaimNamedInsteadOfVolume {
        pod: String,
        volume: String,
    },
    SnapshotsOff,
    PersistentVolumesExcluded,
    NoSnapshotPath,
}

impl DataGapReason {
    /// The sentence for a gap message about claim `claim`.
    pub(crate) fn describe(&self, claim: &str) -> String {
        match self {
            Self::NoRunningPod => "only file-system backup could take its data, and no running pod in the backup mounts it; mount it in a running pod, give it a snapshot path (a Velero-labelled VolumeSnapshotClass for its CSI driver), or exempt it with a reason".to_string(),
            Self::ClaimNamedInsteadOfVolume { pod, volume } => format!(
                "pod {pod} lists the claim name {claim:?} in {BACKUP_VOLUMES}, which takes pod volume names: write {volume:?}"
            ),
            Self::SnapshotsOff => "the schedule sets snapshotVolumes: false and no file-system backup applies".to_string(),
            Self::PersistentVolumesExcluded => "the schedule does not include persistentvolumes, so no snapshot is taken, and no file-system backup applies".to_string(),
            Self::NoSnapshotPath => "no VolumeSnapshotLocation or Velero-labelled VolumeSnapshotClass matches its storage, and no file-system backup applies".to_string(),
        }
    }
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
/// means all), its own labels pass the label filter, and `namespaces` is not filtered out.
pub(crate) fn namespace_outcome(
    schedule: &CompiledSchedule,
    namespace: &NamespaceFacts,
) -> Outcome {
    let meta = &namespace.metadata;
    if schedule.namespaces.selects(&meta.name)
        && schedule.labels.matches(&meta.labels)
        && schedule.resources.includes_namespace_objects()
    {
        Outcome::Covers(DataPath::Objects)
    } else {
        Outcome::NotSelected
    }
}

/// A PVC is covered when its namespace is selected, `persistentvolumeclaims` is included, its
/// own labels pass the label filter, and its data is reached by a snapshot or a file-system
/// backup (see [`volume_data`]).
pub(crate) fn pvc_outcome(
    schedule: &CompiledSchedule,
    pvc: &PvcFacts,
    world: &World,
    mount: MountAssumption,
) -> Outcome {
    let meta = &pvc.metadata;
    if !schedule.namespaces.selects(meta.namespace_or_default())
        || !schedule.resources.includes_namespaced(PVCS)
        || !schedule.labels.matches(&meta.labels)
    {
        return Outcome::NotSelected;
    }
    volume_data(schedule, pvc, world, mount)
}

/// Whether a PVC that no pod mounts is judged as it is, or as it will be once its pod starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MountAssumption {
    AsObserved,
    /// At admission: a PVC being created cannot be mounted yet.
    WillBeMounted,
}

/// Volume data is backed up by file-system backup through a *running* pod that mounts the claim
/// (when `defaultVolumesToFsBackup` is on and the volume is not opted out, or the pod's
/// `backup.velero.io/backup-volumes` names the pod *volume*), or by a snapshot when
/// `snapshotVolumes` is not false, PVs are included, and a snapshot path exists.
fn volume_data(
    schedule: &CompiledSchedule,
    pvc: &PvcFacts,
    world: &World,
    mount: MountAssumption,
) -> Outcome {
    let namespace = pvc.metadata.namespace_or_default();
    let claim = pvc.metadata.name.as_str();
    let mut unmounted_opt_in = false;
    let mut claim_named_instead_of_volume = None;
    for pod in world.pods_mounting(namespace, claim) {
        if !pod_is_backed_up(schedule, pod) {
            continue;
        }
        for volume in pod.volumes_for_claim(claim) {
            if fs_backup_selects(schedule, pod, volume) {
                if pod.is_running() {
                    return Outcome::Covers(DataPath::FsBackup);
                }
                unmounted_opt_in = true;
            } else if volume != claim && listed(pod, BACKUP_VOLUMES, claim) {
                claim_named_instead_of_volume = Some(DataGapReason::ClaimNamedInsteadOfVolume {
                    pod: pod.metadata.name.clone(),
                    volume: volume.to_string(),
                });
            }
        }
    }
    if schedule.snapshot_volumes
        && schedule.resources.includes_bound_volumes()
        && let Some(path) = world.snapshot_path(pvc)
    {
        return Outcome::Covers(DataPath::Snapshot(path));
    }
    if mount == MountAssumption::WillBeMounted
        && schedule.default_volumes_to_fs_backup
        && schedule.resources.includes_namespaced(PODS)
        && world.pods_mounting(namespace, claim).next().is_none()
    {
        return Outcome::Covers(DataPath::FsBackupOnceMounted);
    }
    if schedule.default_volumes_to_fs_backup || unmounted_opt_in {
        return Outcome::DataGap {
            code: GapCode::UnmountedFsBackupOnly,
            reason: DataGapReason::NoRunningPod,
        };
    }
    let reason = match claim_named_instead_of_volume {
        Some(reason) => reason,
        None if !schedule.snapshot_volumes => DataGapReason::SnapshotsOff,
        None if !schedule.resources.includes_bound_volumes() => {
            DataGapReason::PersistentVolumesExcluded
        }
        None => DataGapReason::NoSnapshotPath,
    };
    Outcome::DataGap {
        code: GapCode::VolumeNotBackedUp,
        reason,
    }
}

/// File-system backup reads a volume through its pod, so the pod itself must be in the backup.
fn pod_is_backed_up(schedule: &CompiledSchedule, pod: &PodFacts) -> bool {
    schedule.resources.includes_namespaced(PODS)
        && schedule.labels.matches(&pod.metadata.labels)
        && !excluded_by_label(&pod.metadata)
}

fn fs_backup_selects(schedule: &CompiledSchedule, pod: &PodFacts, volume: &str) -> bool {
    if schedule.default_volumes_to_fs_backup {
        !listed(pod, BACKUP_VOLUMES_EXCLUDES, volume)
    } else {
        listed(pod, BACKUP_VOLUMES, volume)
    }
}

fn listed(pod: &PodFacts, annotation: &str, volume: &str) -> bool {
    pod.metadata
        .annotations
        .get(annotation)
        .is_some_and(|list| list.split(',').any(|item| item.trim() == volume))
}
