//! Which backup a drill restores: the newest `Completed` backup of the schedule, chosen as
//! Velero chooses for a Restore with `spec.scheduleName` (`mostRecentCompletedBackup` in
//! Velero's `pkg/controller/restore_controller.go`: sort by `status.startTimestamp`, newest
//! first, a backup without one counting as the oldest; take the first whose phase is
//! `Completed`). The newer backups passed over on the way (`PartiallyFailed`, `Failed`, still
//! `InProgress`, ...) are listed, so the report says what was skipped and why.

use chrono::{DateTime, Utc};
use policy::velero::Backup;
use serde::{Deserialize, Serialize};

/// The label Velero puts on every backup a Schedule creates (`velero.io/schedule-name`).
pub const SCHEDULE_LABEL: &str = "velero.io/schedule-name";

/// Velero's `BackupPhaseCompleted`: the only phase a drill restores from.
const COMPLETED: &str = "Completed";

/// One backup as the drill's evidence names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupRef {
    pub name: String,
    /// `status.phase`, `(none)` when Velero has not written a status yet.
    pub phase: String,
    pub started: Option<DateTime<Utc>>,
    pub completed: Option<DateTime<Utc>>,
    pub warnings: u32,
    pub errors: u32,
}

/// The outcome of choosing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// `None` when the schedule has no Completed backup.
    pub chosen: Option<BackupRef>,
    /// Backups of the schedule newer than the chosen one (all of them when none was chosen)
    /// that are not Completed, newest first.
    pub skipped: Vec<BackupRef>,
}

/// Chooses among `backups` (a list of the Velero namespace, filtered here again to those
/// labelled for `schedule`).
pub fn choose(schedule: &str, backups: &[Backup]) -> Choice {
    let mut ours: Vec<BackupRef> = backups
        .iter()
        .filter(|b| {
            b.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SCHEDULE_LABEL))
                .is_some_and(|s| s == schedule)
        })
        .map(reference)
        .collect();
    // Newest start first; no start sorts last (Velero: the zero time). The name breaks ties
    // so the choice never depends on the order the API server listed them in.
    ours.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| b.name.cmp(&a.name)));
    let chosen_at = ours.iter().position(|b| b.phase == COMPLETED);
    let skipped = ours[..chosen_at.unwrap_or(ours.len())].to_vec();
    Choice {
        chosen: chosen_at.map(|i| ours[i].clone()),
        skipped,
    }
}

/// A Backup object in the words of the evidence (also the storage faults' view of the store).
pub fn reference(b: &Backup) -> BackupRef {
    let status = b.status.as_ref();
    // metav1.Time wraps a jiff timestamp in k8s-openapi; result.json speaks chrono.
    let chrono = |secs: i64, nanos: i32| {
        DateTime::<Utc>::from_timestamp(secs, u32::try_from(nanos).unwrap_or(0))
    };
    BackupRef {
        name: b.metadata.name.clone().unwrap_or_default(),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "(none)".to_owned()),
        started: status
            .and_then(|s| s.start_timestamp.as_ref())
            .and_then(|t| chrono(t.0.as_second(), t.0.subsec_nanosecond())),
        completed: status
            .and_then(|s| s.completion_timestamp.as_ref())
            .and_then(|t| chrono(t.0.as_second(), t.0.subsec_nanosecond())),
        warnings: status.and_then(|s| s.warnings).unwrap_or(0),
        errors: status.and_then(|s| s.errors).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests;
