//! Velero's records, indexed for the questions the evidence asks: the backups of a schedule,
//! newest first, and the PodVolumeBackups and DataUploads of a backup.

use std::collections::HashMap;

use k8s_openapi::jiff::Timestamp;

use kube::Resource;

use super::VeleroRecords;
use crate::velero::keys::{BACKUP_NAME, PVC_NAME, SCHEDULE_NAME};
use crate::velero::{Backup, DataUpload, PodVolumeBackup};

/// Longest label value; Velero shortens longer names (`pkg/label/label.go`, `GetValidName`).
const LABEL_MAX: usize = 63;
/// `GetValidName` keeps this many characters and appends 6 hex digits of the name's SHA-256.
const LABEL_KEPT: usize = LABEL_MAX - 6;

/// Whether a `velero.io/schedule-name` or `velero.io/backup-name` label value names `name`.
/// Velero writes `GetValidName(name)`: the name itself up to 63 characters, else its first 57
/// characters and 6 hex digits of its SHA-256; those 6 digits are not checked here.
pub(crate) fn label_names(label: &str, name: &str) -> bool {
    if name.len() <= LABEL_MAX {
        return label == name;
    }
    label.len() == LABEL_MAX
        && name
            .get(..LABEL_KEPT)
            .is_some_and(|kept| label.starts_with(kept))
        && label
            .get(LABEL_KEPT..)
            .is_some_and(|digest| digest.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What a Backup's phase says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhaseClass {
    /// `Completed`: restorable, and judged.
    Completed,
    /// `Failed`, `PartiallyFailed`, `FailedValidation`: finished, judged, a failure.
    Failed,
    /// `New`, `Queued`, `ReadyToStart`, `InProgress`, `WaitingForPluginOperations*`,
    /// `Finalizing*` (or no phase yet): not judged yet.
    Running,
    /// `Deleting`: on its way out; neither judged nor restorable.
    Deleting,
}

pub(crate) fn phase(backup: &Backup) -> &str {
    backup
        .status
        .as_ref()
        .and_then(|status| status.phase.as_deref())
        .unwrap_or("New")
}

pub(crate) fn classify(phase: &str) -> PhaseClass {
    match phase {
        "Completed" => PhaseClass::Completed,
        "Failed" | "PartiallyFailed" | "FailedValidation" => PhaseClass::Failed,
        "Deleting" => PhaseClass::Deleting,
        _ => PhaseClass::Running,
    }
}

pub(crate) fn started(backup: &Backup) -> Option<Timestamp> {
    backup
        .status
        .as_ref()
        .and_then(|status| status.start_timestamp.as_ref())
        .map(|time| time.0)
}

pub(crate) fn completed(backup: &Backup) -> Option<Timestamp> {
    backup
        .status
        .as_ref()
        .and_then(|status| status.completion_timestamp.as_ref())
        .map(|time| time.0)
}

/// When a backup began: its start, or (not started yet) its creation.
fn began(backup: &Backup) -> Option<Timestamp> {
    started(backup).or_else(|| {
        backup
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|time| time.0)
    })
}

pub(crate) struct Records<'a> {
    /// Schedule label value → its backups, newest first.
    by_schedule: HashMap<&'a str, Vec<&'a Backup>>,
    /// Backup label value → its PodVolumeBackups.
    volumes_by_backup: HashMap<&'a str, Vec<&'a PodVolumeBackup>>,
    /// Backup label value → its DataUploads.
    uploads_by_backup: HashMap<&'a str, Vec<&'a DataUpload>>,
}

/// Groups `objects` of the Velero namespace by the value of their label `key`.
fn by_label<'a, T: Resource>(
    namespace: &str,
    objects: &[&'a T],
    key: &str,
) -> HashMap<&'a str, Vec<&'a T>> {
    let mut grouped: HashMap<&str, Vec<&T>> = HashMap::new();
    for object in objects
        .iter()
        .copied()
        .filter(|object| object.meta().namespace.as_deref() == Some(namespace))
    {
        if let Some(value) = label(object.meta(), key) {
            grouped.entry(value).or_default().push(object);
        }
    }
    grouped
}

/// Every object filed under a label value that names `name` (exactly, or shortened by Velero).
fn named<'a, T>(grouped: &HashMap<&'a str, Vec<&'a T>>, name: &str) -> Vec<&'a T> {
    grouped
        .iter()
        .filter(|(label, _)| label_names(label, name))
        .flat_map(|(_, objects)| objects.iter().copied())
        .collect()
}

fn newest_first(backups: &mut [&Backup]) {
    backups.sort_by(|a, b| {
        began(b)
            .cmp(&began(a))
            .then_with(|| b.metadata.name.cmp(&a.metadata.name))
    });
}

impl<'a> Records<'a> {
    /// Indexes the records of the Velero namespace `namespace`.
    pub(crate) fn new(namespace: &str, records: &VeleroRecords<'a>) -> Self {
        let mut by_schedule = by_label(namespace, &records.backups, SCHEDULE_NAME);
        for list in by_schedule.values_mut() {
            newest_first(list);
        }
        Self {
            by_schedule,
            volumes_by_backup: by_label(namespace, &records.pod_volume_backups, BACKUP_NAME),
            uploads_by_backup: by_label(namespace, &records.data_uploads, BACKUP_NAME),
        }
    }

    /// The backups the schedule `schedule` created, newest first (by start, else creation).
    pub(crate) fn of_schedule(&self, schedule: &str) -> Vec<&'a Backup> {
        let mut found = named(&self.by_schedule, schedule);
        newest_first(&mut found);
        found
    }

    /// The PodVolumeBackups of `backup` that copy a volume of claim `namespace/claim` (Velero
    /// annotates each with the claim's name, `velero.io/pvc-name`).
    pub(crate) fn claim_volumes(
        &self,
        backup: &str,
        namespace: &str,
        claim: &str,
    ) -> Vec<&'a PodVolumeBackup> {
        named(&self.volumes_by_backup, backup)
            .into_iter()
            .filter(|volume| {
                volume.spec.pod.namespace == namespace
                    && volume
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|annotations| annotations.get(PVC_NAME))
                        .is_some_and(|name| name == claim)
            })
            .collect()
    }

    /// Every DataUpload of `backup`.
    pub(crate) fn uploads(&self, backup: &str) -> Vec<&'a DataUpload> {
        named(&self.uploads_by_backup, backup)
    }
}

fn label<'m>(
    meta: &'m k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
) -> Option<&'m str> {
    meta.labels
        .as_ref()
        .and_then(|labels| labels.get(key))
        .map(String::as_str)
}
