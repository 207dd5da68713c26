//! Evidence, not prediction: what the newest real backups of each covering schedule hold.
//!
//! Coverage predicts from Schedules and specs. Velero's own records say what happened: each
//! Backup's phase and timestamps (labelled `velero.io/schedule-name` with its Schedule), and one
//! PodVolumeBackup per pod volume it copied (labelled `velero.io/backup-name`, annotated
//! `velero.io/pvc-name`); a volume it skipped has none, and the Backup still reads `Completed`.
//! [`gather`] reads them beside a [`CoverageIndex`] and finds, per protected object:
//!
//! - `last-backup-failed`: the newest *finished* backup of a covering schedule is `Failed`,
//!   `PartiallyFailed` or `FailedValidation`. A newer backup still running is not judged yet.
//! - `last-backup-missed-volume` (PVCs): the newest finished backup is `Completed` but holds no
//!   copy of the claim's data: no `Completed` PodVolumeBackup for it; where coverage expects a
//!   CSI snapshot moved by the data mover (the backup's `snapshotMoveData`), no `Completed`
//!   DataUpload for it; where it expects a snapshot left in place, fewer snapshots completed
//!   than attempted (the Backup counts them: Velero deletes a backup's VolumeSnapshots once it
//!   finalizes, so no cluster object names them per claim).
//! - `backup-overdue`: the achieved RPO (now − start of the newest `Completed` backup that holds
//!   the object) is beyond the predicted worst case (the merged firings of every covering
//!   schedule plus the reconcile tick, as coverage computes it) plus [`overdue_tolerance`].
//!
//! Pure: `now` is an argument. Evidence never changes an admission decision.

mod judge;
mod records;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::coverage::CoverageIndex;
use crate::velero::{Backup, DataUpload, PodVolumeBackup};
use crate::verdict::{Gap, ObjectKind, Verdict};

use records::Records;

/// Smallest allowance past the predicted worst case before a backup counts as overdue.
pub const OVERDUE_TOLERANCE_MIN: Duration = Duration::from_secs(5 * 60);
/// Largest allowance past the predicted worst case.
pub const OVERDUE_TOLERANCE_MAX: Duration = Duration::from_secs(60 * 60);

/// How far past its predicted worst case a restorable backup may be before it is overdue: a
/// quarter of the worst case, at least 5 minutes and at most 1 hour. It allows for how long a
/// backup runs (the RPO counts from its start, but it is only restorable once `Completed`) and
/// for a queue of backups waiting for Velero's one backup worker.
pub fn overdue_tolerance(worst_case: Duration) -> Duration {
    (worst_case / 4).clamp(OVERDUE_TOLERANCE_MIN, OVERDUE_TOLERANCE_MAX)
}

/// Velero's records, as read from a cluster, its caches or exported manifests. DataUploads
/// are optional: without any of a backup, its own counters stand in for them.
#[derive(Debug, Clone, Default)]
pub struct VeleroRecords<'a> {
    pub backups: Vec<&'a Backup>,
    pub pod_volume_backups: Vec<&'a PodVolumeBackup>,
    pub data_uploads: Vec<&'a DataUpload>,
}

/// One backup as the evidence reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub name: String,
    pub phase: String,
    pub started: Option<Timestamp>,
    pub completed: Option<Timestamp>,
}

/// What the backups of one schedule show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleEvidence {
    pub schedule: String,
    /// The schedule's own worst case (largest gap plus the reconcile tick).
    pub worst_case: Option<Duration>,
    /// The newest backup in any phase but `Deleting`.
    pub newest: Option<BackupSummary>,
    /// The newest finished backup: what is judged.
    pub last_finished: Option<BackupSummary>,
    /// The newest `Completed` backup.
    pub last_completed: Option<BackupSummary>,
    /// now − start of `last_completed`.
    pub last_completed_age: Option<Duration>,
    /// What the schedule's restorable data dates from: the start of `last_completed`, or,
    /// before its first `Completed` backup, the schedule's creation (when known).
    pub restorable_since: Option<Timestamp>,
    /// `worst_case` plus [`overdue_tolerance`]: past this age of `restorable_since` the schedule
    /// is overdue. `None` for a schedule that is paused, invalid or never fires.
    pub overdue_after: Option<Duration>,
    /// `restorable_since` is older than `overdue_after`.
    pub overdue: bool,
}

/// What the backups show for one protected object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEvidence {
    pub kind: ObjectKind,
    pub namespace: String,
    pub name: String,
    pub tier: Option<String>,
    /// The schedules whose backups were read for it.
    pub schedules: Vec<String>,
    /// Coverage's predicted worst-case RPO (merged firings of every covering schedule).
    pub predicted_rpo: Option<Duration>,
    /// now − start of the newest `Completed` backup holding it; `None` when none does.
    pub achieved_rpo: Option<Duration>,
    /// The start of that backup (what `achieved_rpo` counts from).
    pub restorable_since: Option<Timestamp>,
    /// That backup's name.
    pub restorable_from: Option<String>,
    /// Evidence gaps: `last-backup-missed-volume`, `last-backup-failed`, `backup-overdue`.
    pub findings: Vec<Gap>,
    /// What was seen but not judged: a backup still running, snapshots counted per backup.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub schedules: Vec<ScheduleEvidence>,
    pub objects: Vec<ObjectEvidence>,
}

impl Evidence {
    pub fn has_errors(&self) -> bool {
        self.objects
            .iter()
            .any(|object| !object.findings.is_empty())
    }
}

/// The evidence of every protected, non-exempt object in `verdicts` (from `index`), read from
/// Velero's records in the policy's Velero namespace. A schedule with no `Completed` backup is
/// overdue once it is older (its creation, as the index knows it) than its worst case plus the
/// tolerance.
pub fn gather(
    index: &CoverageIndex,
    verdicts: &[Verdict],
    records: &VeleroRecords<'_>,
    now: Timestamp,
) -> Evidence {
    let records = Records::new(&index.policy().velero_namespace, records);
    let schedules: Vec<ScheduleEvidence> = index
        .schedules()
        .map(|schedule| judge::schedule(schedule, &records, now))
        .collect();
    let by_name: HashMap<&str, &ScheduleEvidence> = schedules
        .iter()
        .map(|evidence| (evidence.schedule.as_str(), evidence))
        .collect();
    let objects = verdicts
        .iter()
        .filter(|verdict| verdict.is_protected())
        .map(|verdict| judge::object(index, verdict, &records, &by_name, now))
        .collect();
    Evidence { schedules, objects }
}
