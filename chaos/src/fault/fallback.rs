//! After `delete-newest-backup`: how Velero showed that the newest backup cannot be restored,
//! and which backup the run restores instead (pure decisions; the calls are in
//! [`super::lost_backup`]).
//!
//! Velero shows a backup whose folder is gone from the store in one of two ways:
//! - its backup sync removes the Backup object (`deleteOrphanedBackups` in
//!   `pkg/controller/backup_sync_controller.go`: a `Completed` or `PartiallyFailed` Backup of
//!   the location whose name `ListBackups` no longer finds), at the next sync period;
//! - until then, a Restore of it fails: `FailedValidation` once the Backup object is gone
//!   ("Error retrieving backup"), else `Failed` with `failureReason` "error downloading
//!   backup" (`runValidatedRestore` in `pkg/controller/restore_controller.go`).
//!
//! The run then restores the newest backup that is still whole: `Completed`, of the run's
//! Schedule, started after steady writes and before the fault, with its metadata and
//! contents still in the store.

use chrono::{DateTime, SubsecRound, Utc};
use policy::velero::Backup;
use serde::{Deserialize, Serialize};

use super::stored_backups::StoredBackup;
use crate::drill::backup::{self, BackupRef};
use crate::outcome::RestorePhase;

/// How Velero showed the lost backup cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "how", deny_unknown_fields)]
pub enum Unrestorable {
    /// The Backup object was gone from the cluster: Velero's backup sync removed it.
    RemovedBySync,
    /// A Restore of it ended in `phase`, for `reason`.
    RestoreFailed {
        restore: String,
        phase: RestorePhase,
        reason: String,
    },
}

impl Unrestorable {
    /// In words, for the report.
    pub fn describe(&self, backup: &str) -> String {
        match self {
            Self::RemovedBySync => format!(
                "Velero's backup sync removed the Backup {backup}: its folder is gone from the store"
            ),
            Self::RestoreFailed {
                restore,
                phase,
                reason,
            } => format!(
                "Restore {restore} of backup {backup} ended {}: {reason}",
                phase.name()
            ),
        }
    }
}

/// A backup newer than the one restored that the run passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PassedOver {
    pub backup: String,
    pub why: String,
}

/// The run's choice after the newest backup was lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fallback {
    /// The backup whose objects the fault deleted.
    pub lost: BackupRef,
    pub unrestorable: Unrestorable,
    /// The backup restored instead; `None` when no whole, older backup is left.
    pub restored_from: Option<BackupRef>,
    /// Backups between the two (newer than the one restored) that did not qualify.
    pub passed_over: Vec<PassedOver>,
}

impl Fallback {
    /// Why the RPO is what it is, in one sentence.
    pub fn explain(&self) -> String {
        let lost = self.unrestorable.describe(&self.lost.name);
        match &self.restored_from {
            Some(older) => format!(
                "the newest backup {} (started {}) could not be restored ({lost}); the run fell \
                 back to {} (started {}), so every write after that backup's start is lost",
                self.lost.name,
                started(&self.lost),
                older.name,
                started(older)
            ),
            None => format!(
                "the newest backup {} could not be restored ({lost}), and no older Completed \
                 backup of the schedule is whole in the store: there is nothing to restore",
                self.lost.name
            ),
        }
    }
}

fn started(b: &BackupRef) -> String {
    b.started
        .map_or_else(|| "at an unknown time".to_owned(), |t| t.to_rfc3339())
}

fn scheduled(b: &Backup, schedule: &str) -> bool {
    b.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(backup::SCHEDULE_LABEL))
        .is_some_and(|s| s == schedule)
}

/// The backups a fallback may use: of `schedule`, started after `after` (steady writes) and
/// before `before` (the fault).
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    pub schedule: &'a str,
    pub after: DateTime<Utc>,
    pub before: DateTime<Utc>,
}

/// Chooses the backup to fall back to, among the Schedule's Backups the cluster still lists
/// (`in_cluster`) and the backup folders of the store (`stored`).
pub fn choose(
    lost: BackupRef,
    unrestorable: Unrestorable,
    window: Window<'_>,
    in_cluster: &[Backup],
    stored: &[StoredBackup],
) -> Fallback {
    let mut passed_over = Vec::new();
    let mut whole = Vec::new();
    let Window {
        schedule,
        after,
        before,
    } = window;
    for b in in_cluster.iter().filter(|b| scheduled(b, schedule)) {
        let r = backup::reference(b);
        // Velero stamps whole seconds: a backup that started in the second steady writes
        // began counts, as it does for the run's backup watch (`completed_since`).
        let from = after.trunc_subsecs(0);
        if r.name == lost.name || r.started.is_none_or(|t| t >= before || t < from) {
            continue;
        }
        match stored.iter().find(|s| s.name == r.name) {
            Some(s) if s.is_whole() => whole.push(b.clone()),
            Some(s) => passed_over.push((
                r.started,
                PassedOver {
                    backup: r.name.clone(),
                    why: format!(
                        "its folder in the store is incomplete ({})",
                        s.problem
                            .clone()
                            .unwrap_or_else(|| format!("no {}.tar.gz", r.name))
                    ),
                },
            )),
            None => passed_over.push((
                r.started,
                PassedOver {
                    backup: r.name.clone(),
                    why: "the store holds nothing of it".into(),
                },
            )),
        }
    }
    let choice = backup::choose(schedule, &whole);
    for skipped in choice.skipped {
        passed_over.push((
            skipped.started,
            PassedOver {
                backup: skipped.name.clone(),
                why: format!("phase {}, not Completed", skipped.phase),
            },
        ));
    }
    let floor = choice.chosen.as_ref().and_then(|c| c.started);
    passed_over.retain(|(started, _)| floor.is_none() || *started > floor);
    passed_over.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.backup.cmp(&b.1.backup)));
    Fallback {
        lost,
        unrestorable,
        restored_from: choice.chosen,
        passed_over: passed_over.into_iter().map(|(_, p)| p).collect(),
    }
}

#[cfg(test)]
mod tests;
