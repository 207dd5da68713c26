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
    /// Backups by their schedule label, each group newest first.
    by_schedule: ByName<'a, Backup>,
    /// PodVolumeBackups by their backup label.
    volumes_by_backup: ByName<'a, PodVolumeBackup>,
    /// DataUploads by their backup label.
    uploads_by_backup: ByName<'a, DataUpload>,
}

/// Objects grouped by a label whose value names a Velero object (a schedule or a backup),
/// found again by that name as Velero shortens it: exactly when it fits in a label, else by its
/// first 57 characters among the labels of 63 ending in 6 hex digits.
struct ByName<'a, T> {
    exact: HashMap<&'a str, Vec<&'a T>>,
    shortened: HashMap<&'a str, Vec<&'a T>>,
}

impl<'a, T: Resource> ByName<'a, T> {
    /// Groups `objects` of the Velero namespace by the value of their label `key`.
    fn new(namespace: &str, objects: &[&'a T], key: &str) -> Self {
        let mut exact: HashMap<&str, Vec<&T>> = HashMap::new();
        let mut shortened: HashMap<&str, Vec<&T>> = HashMap::new();
        for object in objects
            .iter()
            .copied()
            .filter(|object| object.meta().namespace.as_deref() == Some(namespace))
        {
            let Some(value) = label(object.meta(), key) else {
                continue;
            };
            exact.entry(value).or_default().push(object);
            if let Some(kept) = shortened_prefix(value) {
                shortened.entry(kept).or_default().push(object);
            }
        }
        Self { exact, shortened }
    }

    /// Every object whose label names `name`.
    fn named(&self, name: &str) -> &[&'a T] {
        let found = if name.len() <= LABEL_MAX {
            self.exact.get(name)
        } else {
            name.get(..LABEL_KEPT)
                .and_then(|kept| self.shortened.get(kept))
        };
        found.map_or(&[], Vec::as_slice)
    }

    fn groups_mut(&mut self) -> impl Iterator<Item = &mut Vec<&'a T>> {
        self.exact.values_mut().chain(self.shortened.values_mut())
    }
}

/// The kept 57 characters of a label value Velero shortened (`GetValidName`), if it is one.
fn shortened_prefix(label: &str) -> Option<&str> {
    (label.len() == LABEL_MAX)
        .then(|| label.split_at_checked(LABEL_KEPT))
        .flatten()
        .filter(|(_, digest)| digest.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|(kept, _)| kept)
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
        let mut by_schedule = ByName::new(namespace, &records.backups, SCHEDULE_NAME);
        for group in by_schedule.groups_mut() {
            newest_first(group);
        }
        Self {
            by_schedule,
            volumes_by_backup: ByName::new(namespace, &records.pod_volume_backups, BACKUP_NAME),
            uploads_by_backup: ByName::new(namespace, &records.data_uploads, BACKUP_NAME),
        }
    }

    /// The backups the schedule `schedule` created, newest first (by start, else creation).
    pub(crate) fn of_schedule(&self, schedule: &str) -> &[&'a Backup] {
        self.by_schedule.named(schedule)
    }

    /// The PodVolumeBackups of `backup` that copy a volume of claim `namespace/claim` (Velero
    /// annotates each with the claim's name, `velero.io/pvc-name`).
    pub(crate) fn claim_volumes(
        &self,
        backup: &str,
        namespace: &str,
        claim: &str,
    ) -> Vec<&'a PodVolumeBackup> {
        self.volumes_by_backup
            .named(backup)
            .iter()
            .copied()
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
    pub(crate) fn uploads(&self, backup: &str) -> &[&'a DataUpload] {
        self.uploads_by_backup.named(backup)
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
