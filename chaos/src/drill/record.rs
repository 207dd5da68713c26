//! The drill's own evidence in `result.json` (its `drill` field: the field that says a result
//! is a drill's), and the checks a drill is judged by. Pure.
//!
//! A drill passes only if a Completed backup was found, and then, with `--wait`: the Restore
//! is `Completed`, the pods are Ready, every `--check` answered 2xx, the restore holds what
//! the backup holds, and (with `--cleanup`) the namespace and the Restore were deleted.
//! Without `--wait` a drill only starts the restore: it is judged on that.

use serde::{Deserialize, Serialize};

use super::backup::BackupRef;
use super::check::ServiceCheck;
use super::compare::Comparison;
use crate::clock::Stamp;
use crate::outcome::{PodsOutcome, RestoreOutcome};
use crate::verdict::{Check, CheckName, restore_completed};

/// How many differences a check's evidence names before it says "and N more".
const DIFFERENCES_NAMED: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrillRecord {
    pub schedule: String,
    pub source_namespace: String,
    pub restore_namespace: String,
    pub in_place: bool,
    pub restore_pvs: bool,
    /// `--wait`: the drill watched the restore, the pods, ran the checks and compared.
    pub wait: bool,
    pub timeout_ms: u64,
    /// The backup restored; `None` when the schedule has no Completed backup.
    pub backup: Option<BackupRef>,
    /// Newer backups of the schedule passed over, newest first.
    pub skipped_backups: Vec<BackupRef>,
    /// Every `--check` given, as normalised targets.
    pub checks_requested: Vec<String>,
    /// What each `--check` that ran got.
    pub service_checks: Vec<ServiceCheck>,
    /// `None` when the drill never got to compare; `why_not_compared` says why.
    pub comparison: Option<Comparison>,
    pub why_not_compared: Option<String>,
    pub cleanup_requested: bool,
    pub cleanup: Option<Cleanup>,
}

/// What `--cleanup` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cleanup {
    /// The API server accepted the namespace's deletion (it answers with the Namespace in
    /// phase Terminating; it is gone once its finalizers ran).
    pub namespace_deleted: bool,
    pub restore_deleted: bool,
    /// What the API server said, in words.
    pub detail: String,
    pub at: Stamp,
}

impl DrillRecord {
    /// Every check of the drill, in a fixed order.
    pub fn checks(&self, restore: Option<&RestoreOutcome>, pods: &PodsOutcome) -> Vec<Check> {
        let mut checks = vec![self.backup_found()];
        if self.backup.is_none() {
            return checks;
        }
        if !self.wait {
            checks.push(Check {
                name: CheckName::RestoreCreated,
                passed: restore.is_some(),
                evidence: restore.map_or_else(
                    || "no Restore was created".to_owned(),
                    |r| {
                        format!(
                            "Restore {} of backup {} created; not watched (--wait not given)",
                            r.name, r.backup
                        )
                    },
                ),
            });
            return checks;
        }
        checks.push(restore_completed(restore));
        checks.push(Check {
            name: CheckName::PodsReady,
            passed: pods.ready,
            evidence: pods.detail.clone(),
        });
        if !self.checks_requested.is_empty() {
            checks.push(self.service_checks_pass());
        }
        checks.push(self.restored_matches_backup());
        if self.cleanup_requested {
            checks.push(self.cleaned_up());
        }
        checks
    }

    fn backup_found(&self) -> Check {
        let skipped = if self.skipped_backups.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = self
                .skipped_backups
                .iter()
                .map(|b| format!("{} ({}, {} error(s))", b.name, b.phase, b.errors))
                .collect();
            format!("; skipped {}", list.join(", "))
        };
        let evidence = match &self.backup {
            Some(b) => format!(
                "backup {} of schedule {}, Completed{}, {} warning(s){skipped}",
                b.name,
                self.schedule,
                b.completed
                    .map(|t| format!(" at {}", t.format("%Y-%m-%d %H:%M:%S UTC")))
                    .unwrap_or_default(),
                b.warnings
            ),
            None if self.skipped_backups.is_empty() => format!(
                "schedule {} has no backups (label velero.io/schedule-name={})",
                self.schedule, self.schedule
            ),
            None => format!("no Completed backup of schedule {}{skipped}", self.schedule),
        };
        Check {
            name: CheckName::CompletedBackupFound,
            passed: self.backup.is_some(),
            evidence,
        }
    }

    fn service_checks_pass(&self) -> Check {
        let ran = self.service_checks.len();
        let failed: Vec<String> = self
            .service_checks
            .iter()
            .filter(|c| !c.passed())
            .map(|c| match c.status {
                Some(status) => format!("{} answered {status}: {}", c.target, c.detail),
                None => format!("{} got no answer: {}", c.target, c.detail),
            })
            .collect();
        let not_run = self.checks_requested.len().saturating_sub(ran);
        let passed = failed.is_empty() && not_run == 0;
        let mut evidence = format!(
            "{} of {} check(s) answered 2xx",
            ran - failed.len(),
            self.checks_requested.len()
        );
        if !failed.is_empty() {
            evidence.push_str(&format!("; {}", failed.join("; ")));
        }
        if not_run > 0 {
            evidence.push_str(&format!(
                "; {not_run} not run (the drill stopped before them)"
            ));
        }
        Check {
            name: CheckName::ServiceChecksPass,
            passed,
            evidence,
        }
    }

    fn restored_matches_backup(&self) -> Check {
        let (passed, evidence) = match &self.comparison {
            None => (
                false,
                format!(
                    "not compared: {}",
                    self.why_not_compared.as_deref().unwrap_or("unknown reason")
                ),
            ),
            Some(c) if c.differences.is_empty() => (
                true,
                format!(
                    "{} item(s), {} claim(s) and {} pod volume(s) restored as the backup holds them{}{}",
                    c.items_compared,
                    c.pvcs_compared,
                    c.pod_volumes_compared,
                    passed_over(c),
                    not_listed(c)
                ),
            ),
            Some(c) => {
                let named: Vec<String> = c
                    .differences
                    .iter()
                    .take(DIFFERENCES_NAMED)
                    .map(super::compare::Difference::describe)
                    .collect();
                let more = c.differences.len().saturating_sub(DIFFERENCES_NAMED);
                (
                    false,
                    format!(
                        "{} difference(s): {}{}{}{}",
                        c.differences.len(),
                        named.join("; "),
                        if more > 0 {
                            format!("; and {more} more")
                        } else {
                            String::new()
                        },
                        passed_over(c),
                        not_listed(c)
                    ),
                )
            }
        };
        Check {
            name: CheckName::RestoredMatchesBackup,
            passed,
            evidence,
        }
    }

    fn cleaned_up(&self) -> Check {
        let (passed, evidence) = match &self.cleanup {
            None => (false, "cleanup did not run".to_owned()),
            Some(c) => (c.namespace_deleted && c.restore_deleted, c.detail.clone()),
        };
        Check {
            name: CheckName::CleanedUp,
            passed,
            evidence,
        }
    }
}

/// `; passed over by Velero, as completed when backed up: v1/Pod a, …` for the Pods and Jobs
/// Velero never restores.
pub fn passed_over(c: &Comparison) -> String {
    let all: Vec<String> = c
        .passed_over
        .iter()
        .flat_map(|(resource, names)| names.iter().map(move |name| format!("{resource} {name}")))
        .collect();
    if all.is_empty() {
        return String::new();
    }
    let more = all.len().saturating_sub(DIFFERENCES_NAMED);
    format!(
        "; {} passed over by Velero, which never restores Pods and Jobs that had completed: {}{}",
        all.len(),
        all[..all.len().min(DIFFERENCES_NAMED)].join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// `; not compared: v1/Secret (forbidden …)` for resources the drill may not list.
fn not_listed(c: &Comparison) -> String {
    if c.not_listed.is_empty() {
        return String::new();
    }
    let list: Vec<String> = c
        .not_listed
        .iter()
        .map(|(resource, why)| format!("{resource} ({why})"))
        .collect();
    format!(
        "; not compared, the drill may not list them: {}",
        list.join(", ")
    )
}
