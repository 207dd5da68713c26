//! Velero's per-claim choice between file-system backup and a snapshot, and whether either
//! really copies the data (`internal/volumehelper/volume_policy_helper.go`,
//! `ShouldPerformFSBackup` and `ShouldPerformSnapshot`):
//!
//! - A volume policy of the schedule's resource-policy ConfigMap that matches the claim decides:
//!   `fs-backup` through the pods that mount it, `snapshot` (even with `snapshotVolumes: false`),
//!   `skip` neither. The claim is matched with its PersistentVolume (known, or predicted from its
//!   class) and, from 1.16, its own labels and phase; an unbound claim, from 1.18, by the claim
//!   alone.
//! - Without a matching policy, each pod volume backed by the claim is chosen for file-system
//!   backup by the pod's annotations (`shouldPerformFSBackupLegacy`), and a claim that *any*
//!   pod of its namespace chooses is never snapshotted, whatever that pod's phase and whether
//!   the backup holds it; otherwise `snapshotVolumes` decides.
//! - The copy happens only through a running pod in the backup, and is skipped, with only a
//!   warning, for `hostPath` volumes, block devices and volumes no regular container mounts
//!   (`pkg/podvolume/backupper.go`, `BackupPodVolumes`).
//! - A snapshot is CSI (`pkg/backup/actions/csi/pvc_action.go`: the server's `EnableCSI`, a bound
//!   claim with a storage class whose volume is a CSI volume, and a VolumeSnapshotClass, see
//!   `snapshot_class`) or through a VolumeSnapshotLocation (`item_backupper.go`,
//!   `takePVSnapshot`: the PersistentVolume in the backup, and not a CSI volume while
//!   `EnableCSI` is on).

use crate::objects::{PodFacts, PvcFacts};
use crate::resources::PODS;
use crate::schedule::CompiledSchedule;
use crate::velero::keys::{BACKUP_VOLUMES, BACKUP_VOLUMES_EXCLUDES, CSI_SNAPSHOT_CLASS};
use crate::verdict::GapCode;
use crate::versions::VersionedRule;
use crate::volume_policy::{ClaimSide, Matched, VolumeAction, VolumeFacts};

use super::data_gap::{CsiMiss, DataGapReason, FsSkip, LocationMiss, SnapshotMiss};
use super::membership::Members;
use super::rules::{DataPath, MountAssumption, Outcome};
use super::snapshot_class::{self, Request};
use super::storage::ClaimVolume;
use super::world::{SnapshotPath, World};

/// The data outcome of a claim the schedule backs up (as an object).
pub(crate) fn volume_data(
    schedule: &CompiledSchedule,
    pvc: &PvcFacts,
    world: &World,
    mount: MountAssumption,
    members: &Members,
) -> Outcome {
    let namespace = pvc.metadata.namespace_or_default();
    let claim = pvc.metadata.name.as_str();
    let volume = world.storage.claim_volume(pvc);
    let claim_side = claim_side(pvc);
    let policy = schedule.volume_policies.as_deref().and_then(|policies| {
        let facts = claim_facts(schedule, &volume, claim_side)?;
        policies
            .matching(&facts)
            .map(|matched| (policies.origin.as_str(), matched))
    });
    if let Some((origin, Matched { index, action })) = policy
        && matches!(action, VolumeAction::Skip | VolumeAction::Custom)
    {
        return gap(DataGapReason::PolicySkips {
            origin: origin.to_string(),
            index,
            action: action.as_str(),
        });
    }
    let policy_action = policy.map(|(_, matched)| matched.action);

    let mut chosen_outside_backup = None;
    let mut chosen_by_pod = false;
    let mut not_running = false;
    let mut skipped = None;
    let mut hint = None;
    for (index, pod) in world.pods_mounting_indexed(namespace, claim) {
        let in_backup = members.pod(schedule, index, pod);
        for volume_name in pod.volumes_for_claim(claim) {
            let chosen = match policy_action {
                Some(action) => *action == VolumeAction::FsBackup,
                None => fs_backup_selects(schedule, pod, volume_name),
            };
            if !chosen {
                if policy_action.is_none() && in_backup && hint.is_none() {
                    hint = why_not_chosen(schedule, pod, volume_name, claim);
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
            match fs_skip(pvc, world, pod, volume_name) {
                None => return Outcome::Covers(DataPath::FsBackup),
                Some(skip) => {
                    skipped.get_or_insert(DataGapReason::FsBackupSkipped {
                        pod: pod.metadata.name.clone(),
                        volume: volume_name.to_string(),
                        skip,
                    });
                }
            }
        }
    }

    let snapshot_allowed = match policy_action {
        Some(action) => matches!(action, VolumeAction::Snapshot { .. }),
        None => !chosen_by_pod && schedule.snapshot_volumes,
    };
    let mut miss = None;
    if snapshot_allowed {
        match snapshot(schedule, pvc, world, &volume, policy_action, chosen_by_pod) {
            Ok(path) => return Outcome::Covers(DataPath::Snapshot(path)),
            Err(reason) => miss = Some(reason),
        }
    }

    let fs_once_mounted = match policy_action {
        Some(action) => *action == VolumeAction::FsBackup,
        None => schedule.default_volumes_to_fs_backup,
    };
    if mount == MountAssumption::WillBeMounted
        && fs_once_mounted
        && schedule.resources.includes_namespaced(PODS)
        && world.pods_mounting(namespace, claim).next().is_none()
    {
        // Once mounted, file-system backup will be chosen for it: unless Velero will skip it.
        let skip = match world.storage.host_path_source(pvc) {
            Some(source) => Some(FsSkip::HostPath(source)),
            None => pvc.spec.is_block().then_some(FsSkip::BlockDevice),
        };
        return match skip {
            None => Outcome::Covers(DataPath::FsBackupOnceMounted),
            Some(skip) => gap(DataGapReason::FsBackupSkipped {
                pod: String::new(),
                volume: claim.to_string(),
                skip,
            }),
        };
    }
    if let Some(reason) = skipped {
        return gap(reason);
    }
    let policy_wants_fs = policy_action == Some(&VolumeAction::FsBackup);
    if not_running
        || policy_wants_fs
        || (schedule.default_volumes_to_fs_backup
            && policy_action.is_none()
            && !chosen_by_pod
            && hint.is_none())
    {
        return Outcome::DataGap {
            code: GapCode::UnmountedFsBackupOnly,
            reason: DataGapReason::NoRunningPod,
        };
    }
    let reason = match (chosen_outside_backup, hint) {
        (Some(pod), _) => DataGapReason::FsChosenByPodOutsideBackup { pod },
        (None, Some(reason)) => reason,
        (None, None) => DataGapReason::NoSnapshot {
            miss: miss.unwrap_or(SnapshotMiss::SnapshotsOff),
            policy: policy.map(|(origin, matched)| (origin.to_string(), matched.index)),
        },
    };
    gap(reason)
}

fn gap(reason: DataGapReason) -> Outcome {
    Outcome::DataGap {
        code: GapCode::VolumeNotBackedUp,
        reason,
    }
}

/// `parsePVC`: the claim's labels, phase (a manifest's claim is taken to be what it asks to
/// be, bound), volume mode (the API server's default, `Filesystem`) and access modes.
fn claim_side(pvc: &PvcFacts) -> ClaimSide<'_> {
    ClaimSide {
        labels: &pvc.metadata.labels,
        phase: pvc.status.phase.as_deref().unwrap_or("Bound"),
        volume_mode: pvc.spec.volume_mode.as_deref().unwrap_or("Filesystem"),
        access_modes: &pvc.spec.access_modes,
    }
}

/// What a volume policy is matched against for the claim's own decisions (the CSI snapshot and
/// file-system backup): the volume, and from 1.16 the claim; an unbound claim by the claim
/// alone from 1.18 (before, Velero fails to find its volume and no policy applies).
fn claim_facts<'a>(
    schedule: &CompiledSchedule,
    volume: &ClaimVolume<'a>,
    claim: ClaimSide<'a>,
) -> Option<VolumeFacts<'a>> {
    let with_claim = schedule.version.has(VersionedRule::VolumePolicyPvcLabels);
    match volume.side {
        Some(side) => Some(VolumeFacts {
            volume: Some(side),
            claim: with_claim.then_some(claim),
        }),
        None if schedule.version.has(VersionedRule::VolumePolicyPvcPhase) => Some(VolumeFacts {
            volume: None,
            claim: Some(claim),
        }),
        None => None,
    }
}

/// A CSI snapshot, else a VolumeSnapshotLocation one; the error says why neither applies.
fn snapshot(
    schedule: &CompiledSchedule,
    pvc: &PvcFacts,
    world: &World,
    volume: &ClaimVolume<'_>,
    policy_action: Option<&VolumeAction>,
    chosen_by_pod: bool,
) -> Result<SnapshotPath, SnapshotMiss> {
    if !pvc.is_bound() {
        return Err(SnapshotMiss::Unbound {
            phase: pvc.status.phase.clone().unwrap_or_default(),
        });
    }
    let policy_class = match policy_action {
        Some(VolumeAction::Snapshot { snapshot_class }) => snapshot_class.as_deref(),
        _ => None,
    };
    let csi = csi_snapshot(schedule, pvc, world, volume, policy_class);
    if csi.is_ok() {
        return Ok(SnapshotPath::Csi);
    }
    let location = location_snapshot(schedule, world, volume, chosen_by_pod);
    match (csi, location) {
        (_, Ok(())) => Ok(SnapshotPath::VolumeSnapshotLocation),
        (Err(csi), Err(location)) => Err(SnapshotMiss::NoPath { csi, location }),
        (Ok(()), Err(_)) => Ok(SnapshotPath::Csi),
    }
}

fn csi_snapshot(
    schedule: &CompiledSchedule,
    pvc: &PvcFacts,
    world: &World,
    volume: &ClaimVolume<'_>,
    policy_class: Option<&str>,
) -> Result<(), CsiMiss> {
    let provisioner = world.storage.provisioner(pvc).map_err(CsiMiss::from)?;
    let Some(driver) = volume.csi_driver else {
        let what = match (volume.predicted, world.storage.claim_class(pvc)) {
            (true, Some(class)) => {
                format!(
                    "its storage class {class} (provisioner {provisioner}) does not provision CSI volumes"
                )
            }
            _ => format!(
                "its PersistentVolume {} is not a CSI volume",
                pvc.spec.volume_name.as_deref().unwrap_or_default()
            ),
        };
        return Err(CsiMiss::NotCsi { what });
    };
    let request = Request {
        provisioner,
        claim_annotation: pvc
            .metadata
            .annotations
            .get(CSI_SNAPSHOT_CLASS)
            .map(String::as_str),
        policy_class,
        backup_annotations: &schedule.snapshot_class_by_driver,
        version: schedule.version,
    };
    let class = snapshot_class::choose(&world.storage.snapshot_classes, &request);
    if !schedule.csi_enabled {
        return Err(CsiMiss::Disabled {
            driver: driver.to_string(),
            class: class.map(|(class, _)| class.name.clone()),
            origin: schedule.server_origin.to_string(),
            version: schedule.version,
        });
    }
    class.map(|_| ()).map_err(|miss| CsiMiss::NoClass {
        miss,
        version: schedule.version,
    })
}

/// A VolumeSnapshotLocation snapshot, taken when the PersistentVolume itself is backed up
/// (`takePVSnapshot`): the volume policies are matched there against the PersistentVolume
/// without its claim, and a `skip` matched with the claim stops it too.
fn location_snapshot(
    schedule: &CompiledSchedule,
    world: &World,
    volume: &ClaimVolume<'_>,
    chosen_by_pod: bool,
) -> Result<(), LocationMiss> {
    if !world.storage.has_snapshot_location {
        return Err(LocationMiss::NoLocation);
    }
    if !schedule.resources.includes_bound_volumes() {
        return Err(LocationMiss::VolumesExcluded);
    }
    if schedule.csi_enabled && volume.csi_driver.is_some() {
        return Err(LocationMiss::CsiVolume);
    }
    if let (Some(policies), Some(side)) = (schedule.volume_policies.as_deref(), volume.side) {
        let facts = VolumeFacts {
            volume: Some(side),
            claim: None,
        };
        let allowed = match policies.matching(&facts) {
            Some(matched) => matches!(matched.action, VolumeAction::Snapshot { .. }),
            None => !chosen_by_pod && schedule.snapshot_volumes,
        };
        if !allowed {
            return Err(LocationMiss::Policy);
        }
    }
    Ok(())
}

/// Why `BackupPodVolumes` would skip a volume chosen for file-system backup, in its order:
/// `hostPath` first (`isHostPathVolume`, the bound PV's source), then block devices, then
/// volumes no regular container mounts.
fn fs_skip(pvc: &PvcFacts, world: &World, pod: &PodFacts, volume: &str) -> Option<FsSkip> {
    if let Some(source) = world.storage.host_path_source(pvc) {
        return Some(FsSkip::HostPath(source));
    }
    if pod.attaches_as_device(volume) || pvc.spec.is_block() {
        return Some(FsSkip::BlockDevice);
    }
    (!pod.mounts(volume)).then_some(FsSkip::NotMountedByContainer)
}

/// The likely mistake behind a pod in the backup not choosing `volume` for file-system backup,
/// when its data ends up uncopied.
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

/// `shouldPerformFSBackupLegacy`: with `defaultVolumesToFsBackup` every volume not in
/// `backup-volumes-excludes`, otherwise the volumes in `backup-volumes`.
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
