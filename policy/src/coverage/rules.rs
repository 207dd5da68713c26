//! The Velero inclusion rules for one (schedule, object) pair. Each rule cites the Velero
//! behaviour it models; its named tests are in `coverage/tests.rs`.

use crate::objects::{Meta, NamespaceFacts, PodFacts, PvcFacts};
use crate::resources::{PODS, PVCS};
use crate::schedule::CompiledSchedule;
use crate::velero::keys::{BACKUP_VOLUMES, BACKUP_VOLUMES_EXCLUDES, EXCLUDE_FROM_BACKUP};
use crate::verdict::GapCode;

use super::world::{
    HostPathSource, LOCAL_PATH_CLAIM_VOLUME_TYPE, LOCAL_PATH_CLASS_VOLUME_TYPE, SnapshotPath, World,
};

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
    /// A pod's annotation lists the volume with blanks around it; Velero does not trim items.
    ListedWithBlanks {
        pod: String,
        volume: String,
        annotation: &'static str,
    },
    /// File-system backup is the default, but a running pod in the backup opts the volume out
    /// with `backup.velero.io/backup-volumes-excludes`, and no snapshot applies.
    ExcludedByPod {
        pod: String,
        volume: String,
    },
    /// File-system backup was chosen for the volume, and Velero skips it: the volume is
    /// `hostPath`, a raw block device, or mounted by no regular container.
    FsBackupSkipped {
        pod: String,
        volume: String,
        skip: FsSkip,
    },
    /// A pod selects the volume for file-system backup, so Velero takes no snapshot of it, but
    /// that pod is not in the backup.
    FsChosenByPodOutsideBackup {
        pod: String,
    },
    SnapshotsOff,
    /// The claim is not bound to a volume (`GetPVForPVC`), so no snapshot is taken.
    Unbound {
        phase: String,
    },
    PersistentVolumesExcluded,
    NoSnapshotPath,
}

/// Why Velero's file-system backup skips a pod volume it was asked to copy
/// (`pkg/podvolume/backupper.go`, `BackupPodVolumes`), with only a warning in the Backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FsSkip {
    HostPath(HostPathSource),
    /// The pod attaches the volume as a raw block device (`volumeDevices`), or the claim is
    /// `volumeMode: Block`.
    BlockDevice,
    /// No regular container mounts it (init containers do not count).
    NotMountedByContainer,
}

impl DataGapReason {
    /// The sentence for a gap message about claim `claim`.
    pub(crate) fn describe(&self, claim: &str) -> String {
        match self {
            Self::NoRunningPod => "only file-system backup could take its data, and no running pod in the backup mounts it; mount it in a running pod, give it a snapshot path (a Velero-labelled VolumeSnapshotClass for its CSI driver), or exempt it with a reason".to_string(),
            Self::ClaimNamedInsteadOfVolume { pod, volume } => format!(
                "pod {pod} lists the claim name {claim:?} in {BACKUP_VOLUMES}, which takes pod volume names: write {volume:?}"
            ),
            Self::ListedWithBlanks { pod, volume, annotation } => format!(
                "pod {pod} lists {volume:?} in {annotation} with blanks around it; Velero splits the list on ',' without trimming, so it names a different volume: remove the spaces"
            ),
            Self::ExcludedByPod { pod, volume } => format!(
                "pod {pod} mounts it as volume {volume:?} but opts that volume out of file-system backup with {BACKUP_VOLUMES_EXCLUDES}, and no snapshot applies; remove {volume:?} from the annotation, give it a snapshot path, or exempt the claim with a reason"
            ),
            Self::FsBackupSkipped { pod, volume, skip } => {
                let via = if pod.is_empty() {
                    "file-system backup of it will be skipped once a pod mounts it".to_string()
                } else {
                    format!("file-system backup through pod {pod} (volume {volume:?}) is skipped")
                };
                match skip {
                    FsSkip::HostPath(HostPathSource::BoundVolume(pv)) => format!(
                        "{via}: its PersistentVolume {pv} is a hostPath volume, which Velero's node agent cannot read, and a volume chosen for file-system backup is not snapshotted; move the data to a volume that is not hostPath (for local-path, a claim annotated {LOCAL_PATH_CLAIM_VOLUME_TYPE}: local) or exempt it with a reason"
                    ),
                    FsSkip::HostPath(HostPathSource::LocalPathClass(class)) => format!(
                        "{via}: storage class {class} (Rancher local-path) provisions hostPath volumes, which Velero's node agent cannot read, and a volume chosen for file-system backup is not snapshotted; annotate the claim {LOCAL_PATH_CLAIM_VOLUME_TYPE}: local before it is provisioned (or the class {LOCAL_PATH_CLASS_VOLUME_TYPE}: local), or use a class with CSI snapshots"
                    ),
                    FsSkip::BlockDevice => format!(
                        "{via}: it is a raw block device, which Velero cannot copy file by file, and a volume chosen for file-system backup is not snapshotted; back it up by CSI snapshot instead (leave it out of file-system backup with {BACKUP_VOLUMES_EXCLUDES}, or out of {BACKUP_VOLUMES})"
                    ),
                    FsSkip::NotMountedByContainer => format!(
                        "{via}: the volume is declared in the pod but mounted by no regular container (init containers do not count), and a volume chosen for file-system backup is not snapshotted; mount it in a container or leave it out of file-system backup"
                    ),
                }
            }
            Self::FsChosenByPodOutsideBackup { pod } => format!(
                "pod {pod} selects it for file-system backup, so Velero takes no snapshot of it, but the pod is not in the backup (resource or label filter, or excluded); include the pod or stop selecting the volume"
            ),
            Self::SnapshotsOff => "the schedule sets snapshotVolumes: false and no file-system backup applies".to_string(),
            Self::Unbound { phase } => format!("it is not bound to a volume (phase {phase}), and Velero snapshots only bound claims (GetPVForPVC), while no file-system backup applies; find out why it is not bound (kubectl describe pvc {claim})"),
            Self::PersistentVolumesExcluded => "the schedule does not include persistentvolumes, which a VolumeSnapshotLocation snapshot needs (a CSI snapshot would not), and no file-system backup applies".to_string(),
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

/// Velero's per-claim choice between file-system backup and snapshot:
///
/// - Each pod volume backed by the claim is chosen for file-system backup by the pod's
///   annotations (`internal/volumehelper/volume_policy_helper.go`, `shouldPerformFSBackupLegacy`:
///   with `defaultVolumesToFsBackup` every volume not in `backup-volumes-excludes`, otherwise
///   those in `backup-volumes`; both lists split on `,` without trimming).
/// - A claim that *any* pod of its namespace chooses for file-system backup is never
///   snapshotted, whatever that pod's phase and whether the backup holds it (`ShouldPerformSnapshot`).
/// - The copy itself happens only through a pod in the backup that is running, and is skipped,
///   with only a warning, for `hostPath` volumes, block devices and volumes no regular container
///   mounts (`pkg/podvolume/backupper.go`, `BackupPodVolumes`).
/// - Otherwise a snapshot is taken when `snapshotVolumes` is not false, PVs are included and a
///   snapshot path exists.
fn volume_data(
    schedule: &CompiledSchedule,
    pvc: &PvcFacts,
    world: &World,
    mount: MountAssumption,
) -> Outcome {
    let namespace = pvc.metadata.namespace_or_default();
    let claim = pvc.metadata.name.as_str();
    let mut chosen_outside_backup = None;
    let mut chosen_by_pod = false;
    let mut not_running = false;
    let mut skipped = None;
    let mut hint = None;
    for pod in world.pods_mounting(namespace, claim) {
        let in_backup = pod_is_backed_up(schedule, pod);
        for volume in pod.volumes_for_claim(claim) {
            if !fs_backup_selects(schedule, pod, volume) {
                if in_backup && hint.is_none() {
                    hint = why_not_chosen(schedule, pod, volume, claim);
                }
                continue;
            }
            chosen_by_pod = true;
            if !in_backup {
                chosen_outside_backup.get_or_insert_with(|| pod.metadata.name.clone());
                continue;
            }
            if !pod.is_running() {
                not_running = true;
                continue;
            }
            match fs_skip(pvc, world, pod, volume) {
                None => return Outcome::Covers(DataPath::FsBackup),
                Some(skip) => {
                    skipped.get_or_insert(DataGapReason::FsBackupSkipped {
                        pod: pod.metadata.name.clone(),
                        volume: volume.to_string(),
                        skip,
                    });
                }
            }
        }
    }
    if !chosen_by_pod
        && schedule.snapshot_volumes
        && pvc.is_bound()
        && let Some(path) = world.snapshot_path(pvc, schedule.resources.includes_bound_volumes())
    {
        return Outcome::Covers(DataPath::Snapshot(path));
    }
    if mount == MountAssumption::WillBeMounted
        && schedule.default_volumes_to_fs_backup
        && schedule.resources.includes_namespaced(PODS)
        && world.pods_mounting(namespace, claim).next().is_none()
    {
        // Once mounted, file-system backup will be chosen for it: unless Velero will skip it.
        let skip = match world.host_path_source(pvc) {
            Some(source) => Some(FsSkip::HostPath(source)),
            None => pvc.spec.is_block().then_some(FsSkip::BlockDevice),
        };
        return match skip {
            None => Outcome::Covers(DataPath::FsBackupOnceMounted),
            Some(skip) => Outcome::DataGap {
                code: GapCode::VolumeNotBackedUp,
                reason: DataGapReason::FsBackupSkipped {
                    pod: String::new(),
                    volume: claim.to_string(),
                    skip,
                },
            },
        };
    }
    if let Some(reason) = skipped {
        return Outcome::DataGap {
            code: GapCode::VolumeNotBackedUp,
            reason,
        };
    }
    if not_running || (schedule.default_volumes_to_fs_backup && !chosen_by_pod && hint.is_none()) {
        return Outcome::DataGap {
            code: GapCode::UnmountedFsBackupOnly,
            reason: DataGapReason::NoRunningPod,
        };
    }
    let reason = match (chosen_outside_backup, hint) {
        (Some(pod), _) => DataGapReason::FsChosenByPodOutsideBackup { pod },
        (None, Some(reason)) => reason,
        (None, None) if !schedule.snapshot_volumes => DataGapReason::SnapshotsOff,
        (None, None) if !pvc.is_bound() => DataGapReason::Unbound {
            phase: pvc.status.phase.clone().unwrap_or_default(),
        },
        (None, None) if !schedule.resources.includes_bound_volumes() => {
            DataGapReason::PersistentVolumesExcluded
        }
        (None, None) => DataGapReason::NoSnapshotPath,
    };
    Outcome::DataGap {
        code: GapCode::VolumeNotBackedUp,
        reason,
    }
}

/// Why `BackupPodVolumes` would skip a volume chosen for file-system backup, in its order:
/// `hostPath` first (`isHostPathVolume`, the bound PV's source), then block devices, then
/// volumes no regular container mounts.
fn fs_skip(pvc: &PvcFacts, world: &World, pod: &PodFacts, volume: &str) -> Option<FsSkip> {
    if let Some(source) = world.host_path_source(pvc) {
        return Some(FsSkip::HostPath(source));
    }
    if pod.attaches_as_device(volume) || pvc.spec.is_block() {
        return Some(FsSkip::BlockDevice);
    }
    (!pod.mounts(volume)).then_some(FsSkip::NotMountedByContainer)
}

/// The likely mistake behind a running pod in the backup not choosing `volume` for
/// file-system backup, when its data ends up uncopied.
fn why_not_chosen(
    schedule: &CompiledSchedule,
    pod: &PodFacts,
    volume: &str,
    claim: &str,
) -> Option<DataGapReason> {
    let annotation = if schedule.default_volumes_to_fs_backup {
        BACKUP_VOLUMES_EXCLUDES
    } else {
        BACKUP_VOLUMES
    };
    let pod_name = || pod.metadata.name.clone();
    if listed_with_blanks(pod, annotation, volume) {
        return Some(DataGapReason::ListedWithBlanks {
            pod: pod_name(),
            volume: volume.to_string(),
            annotation,
        });
    }
    if schedule.default_volumes_to_fs_backup {
        return pod.is_running().then(|| DataGapReason::ExcludedByPod {
            pod: pod_name(),
            volume: volume.to_string(),
        });
    }
    (volume != claim && listed(pod, BACKUP_VOLUMES, claim)).then(|| {
        DataGapReason::ClaimNamedInsteadOfVolume {
            pod: pod_name(),
            volume: volume.to_string(),
        }
    })
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

/// The annotation's comma-separated list names `volume` exactly: Velero splits it on `,` and
/// does not trim the items (`pkg/util/podvolume/pod_volume.go`, `GetVolumesToBackup`,
/// `GetVolumesToExclude`), so `"a, b"` names `a` and `" b"`.
fn listed(pod: &PodFacts, annotation: &str, volume: &str) -> bool {
    pod.metadata
        .annotations
        .get(annotation)
        .is_some_and(|list| list.split(',').any(|item| item == volume))
}

/// The list names `volume` only once blanks are trimmed: the likely mistake.
fn listed_with_blanks(pod: &PodFacts, annotation: &str, volume: &str) -> bool {
    pod.metadata
        .annotations
        .get(annotation)
        .is_some_and(|list| {
            list.split(',')
                .any(|item| item != volume && item.trim() == volume)
        })
}
