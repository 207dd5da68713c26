//! Why a claim's data is not backed up, as values: edit judging and mutation compare gap codes
//! and never read them; they are put into words only when a message is wanted.

use crate::velero::keys::{BACKUP_VOLUMES, BACKUP_VOLUMES_EXCLUDES};
use crate::versions::VeleroVersion;

use super::snapshot_class::NoClass;
use super::storage::{
    ClassProblem, HostPathSource, LOCAL_PATH_CLAIM_VOLUME_TYPE, LOCAL_PATH_CLASS_VOLUME_TYPE,
};

/// Why a PVC's data is not backed up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DataGapReason {
    /// Only file-system backup could take the data, and no running pod in the backup mounts it.
    NoRunningPod,
    /// A pod lists the claim name in `backup.velero.io/backup-volumes`, which takes volume names.
    ClaimNamedInsteadOfVolume { pod: String, volume: String },
    /// A pod's annotation lists the volume with blanks around it; Velero does not trim items.
    ListedWithBlanks {
        pod: String,
        volume: String,
        annotation: &'static str,
    },
    /// File-system backup is the default, but a running pod in the backup opts the volume out
    /// with `backup.velero.io/backup-volumes-excludes`, and no snapshot applies.
    ExcludedByPod { pod: String, volume: String },
    /// File-system backup was chosen for the volume, and Velero skips it: the volume is
    /// `hostPath`, a raw block device, or mounted by no regular container.
    FsBackupSkipped {
        pod: String,
        volume: String,
        skip: FsSkip,
    },
    /// A pod selects the volume for file-system backup, so Velero takes no snapshot of it, but
    /// that pod is not in the backup.
    FsChosenByPodOutsideBackup { pod: String },
    /// A volume policy of the schedule's resource-policy ConfigMap matches the claim with the
    /// `skip` action (or, after 1.18, `custom`: left to an external plugin).
    PolicySkips {
        origin: String,
        index: usize,
        action: &'static str,
    },
    /// No snapshot is taken, and no file-system backup applies. `policy`: a volume policy (its
    /// ConfigMap and index) chose `snapshot`.
    NoSnapshot {
        miss: SnapshotMiss,
        policy: Option<(String, usize)>,
    },
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

/// Why no snapshot is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SnapshotMiss {
    /// `snapshotVolumes: false`, and no volume policy chose `snapshot`.
    SnapshotsOff,
    /// The claim is not bound to a volume (`GetPVForPVC`).
    Unbound { phase: String },
    /// Neither a CSI snapshot nor a VolumeSnapshotLocation one applies.
    NoPath {
        csi: CsiMiss,
        location: LocationMiss,
    },
}

/// Why no CSI snapshot is taken (`pkg/backup/actions/csi/pvc_action.go`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CsiMiss {
    /// The claim names no storage class (a CSI snapshot needs its provisioner).
    NoStorageClass,
    /// The class it names is not among the known StorageClasses.
    UnknownStorageClass(String),
    /// Its volume is not a CSI volume (a provisioner built into Kubernetes, Rancher local-path,
    /// or a bound PersistentVolume without a `csi` source).
    NotCsi { what: String },
    /// No VolumeSnapshotClass fits its driver.
    NoClass {
        miss: NoClass,
        version: VeleroVersion,
    },
    /// The server runs without `--features=EnableCSI`; `class`: the class Velero would use,
    /// `None` when none fits either.
    Disabled {
        driver: String,
        class: Result<String, NoClass>,
        origin: String,
        version: VeleroVersion,
    },
}

impl From<ClassProblem> for CsiMiss {
    fn from(problem: ClassProblem) -> Self {
        match problem {
            ClassProblem::NoClass => Self::NoStorageClass,
            ClassProblem::UnknownClass(class) => Self::UnknownStorageClass(class),
        }
    }
}

/// Why no VolumeSnapshotLocation snapshot is taken (`pkg/backup/item_backupper.go`,
/// `takePVSnapshot`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LocationMiss {
    /// No VolumeSnapshotLocation exists in the Velero namespace.
    NoLocation,
    /// The backup leaves PersistentVolumes out, and this snapshot is taken when the PV is
    /// backed up.
    VolumesExcluded,
    /// With `EnableCSI` on, a VolumeSnapshotLocation never snapshots a CSI volume.
    CsiVolume,
    /// A volume policy decides the VolumeSnapshotLocation path otherwise (it matches the
    /// PersistentVolume without the claim there).
    Policy,
}

impl DataGapReason {
    /// The sentence for a gap message about claim `claim`.
    pub(crate) fn describe(&self, claim: &str) -> String {
        match self {
            Self::NoRunningPod => "only file-system backup could take its data, and no running pod in the backup mounts it; mount it in a running pod, give it a snapshot path (a VolumeSnapshotClass for its CSI driver, with EnableCSI), or exempt it with a reason".to_string(),
            Self::ClaimNamedInsteadOfVolume { pod, volume } => format!(
                "pod {pod} lists the claim name {claim:?} in {BACKUP_VOLUMES}, which takes pod volume names: write {volume:?}"
            ),
            Self::ListedWithBlanks { pod, volume, annotation } => format!(
                "pod {pod} lists {volume:?} in {annotation} with blanks around it; Velero splits the list on ',' without trimming, so it names a different volume: remove the spaces"
            ),
            Self::ExcludedByPod { pod, volume } => format!(
                "pod {pod} mounts it as volume {volume:?} but opts that volume out of file-system backup with {BACKUP_VOLUMES_EXCLUDES}, and no snapshot applies; remove {volume:?} from the annotation, give it a snapshot path, or exempt the claim with a reason"
            ),
            Self::FsBackupSkipped { pod, volume, skip } => describe_skip(pod, volume, skip),
            Self::FsChosenByPodOutsideBackup { pod } => format!(
                "pod {pod} selects it for file-system backup, so Velero takes no snapshot of it, but the pod is not in the backup (resource or label filter, or excluded); include the pod or stop selecting the volume"
            ),
            Self::PolicySkips { origin, index, action: "custom" } => format!(
                "volume policy {index} of ConfigMap {origin} hands it to an external plugin (action custom), so Velero takes neither a snapshot nor a file-system copy; make sure that plugin backs it up, or exempt the claim with a reason"
            ),
            Self::PolicySkips { origin, index, .. } => format!(
                "volume policy {index} of ConfigMap {origin} matches it with the action skip, so Velero takes neither a snapshot nor a file-system copy; narrow that policy's conditions, or exempt the claim with a reason"
            ),
            Self::NoSnapshot { miss, policy } => {
                let by_policy = policy.as_ref().map_or(String::new(), |(origin, index)| {
                    format!("volume policy {index} of ConfigMap {origin} chooses a snapshot, but ")
                });
                format!("{by_policy}{}", miss.describe(claim))
            }
        }
    }
}

fn describe_skip(pod: &str, volume: &str, skip: &FsSkip) -> String {
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

impl SnapshotMiss {
    fn describe(&self, claim: &str) -> String {
        match self {
            Self::SnapshotsOff => {
                "the schedule sets snapshotVolumes: false and no file-system backup applies"
                    .to_string()
            }
            Self::Unbound { phase } => format!(
                "it is not bound to a volume (phase {phase}), and Velero snapshots only bound claims (GetPVForPVC), while no file-system backup applies; find out why it is not bound (kubectl describe pvc {claim})"
            ),
            Self::NoPath { csi, location } => {
                format!(
                    "no snapshot applies: {}; {}; and no file-system backup applies",
                    csi.describe(),
                    location.describe()
                )
            }
        }
    }
}

impl CsiMiss {
    fn describe(&self) -> String {
        match self {
            Self::NoStorageClass => {
                "it names no storage class, which a CSI snapshot needs (Velero: PVC has no storage class)".to_string()
            }
            Self::UnknownStorageClass(class) => {
                format!("its storage class {class} does not exist, so no CSI snapshot is taken")
            }
            Self::NotCsi { what } => format!("{what}, so no CSI snapshot is taken"),
            Self::NoClass { miss, version } => miss.describe(*version),
            Self::Disabled {
                driver,
                class,
                origin,
                version,
            } => {
                let class = match class {
                    Ok(name) => format!("VolumeSnapshotClass {name} would serve its CSI driver {driver}"),
                    Err(miss) => miss.describe(*version),
                };
                format!(
                    "{class}, but the Velero server runs without --features=EnableCSI (per {origin}), so it takes no CSI snapshot at all; add EnableCSI to the server's --features"
                )
            }
        }
    }
}

impl LocationMiss {
    fn describe(&self) -> &'static str {
        match self {
            Self::NoLocation => "no VolumeSnapshotLocation exists",
            Self::VolumesExcluded => {
                "the schedule does not include persistentvolumes, which a VolumeSnapshotLocation snapshot needs (a CSI snapshot would not)"
            }
            Self::CsiVolume => {
                "a VolumeSnapshotLocation does not snapshot CSI volumes while EnableCSI is on"
            }
            Self::Policy => {
                "the schedule's volume policies do not choose a snapshot for its PersistentVolume"
            }
        }
    }
}
