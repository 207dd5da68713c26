//! Judging one schedule's backups, and one protected object against the backups of the
//! schedules covering it. Messages are written here, once.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::coverage::{CoverageIndex, DataRoute};
use crate::duration::format_human;
use crate::schedule::{CompiledSchedule, ScheduleState};
use crate::velero::{Backup, DataUpload, PodVolumeBackup};
use crate::verdict::{Gap, GapCode, ObjectKind, Severity, Verdict};

use super::records::{self, PhaseClass, Records};
use super::{BackupSummary, ObjectEvidence, ScheduleEvidence, overdue_tolerance};

fn summary(backup: &Backup) -> BackupSummary {
    BackupSummary {
        name: backup.metadata.name.clone().unwrap_or_default(),
        phase: records::phase(backup).to_string(),
        started: records::started(backup),
        completed: records::completed(backup),
    }
}

fn since(now: Timestamp, then: Timestamp) -> Duration {
    Duration::from_secs(
        u64::try_from(now.as_second().saturating_sub(then.as_second())).unwrap_or(0),
    )
}

/// The backups of a schedule that still count (not `Deleting`), newest first.
fn live<'a>(records: &Records<'a>, schedule: &str) -> Vec<&'a Backup> {
    records
        .of_schedule(schedule)
        .iter()
        .copied()
        .filter(|backup| records::classify(records::phase(backup)) != PhaseClass::Deleting)
        .collect()
}

fn is_finished(backup: &Backup) -> bool {
    matches!(
        records::classify(records::phase(backup)),
        PhaseClass::Completed | PhaseClass::Failed
    )
}

fn is_completed(backup: &Backup) -> bool {
    records::classify(records::phase(backup)) == PhaseClass::Completed
}

/// The moment a Completed backup's data dates from: its start (its completion if it has none).
fn data_time(backup: &Backup) -> Option<Timestamp> {
    records::started(backup).or_else(|| records::completed(backup))
}

pub(super) fn schedule(
    schedule: &CompiledSchedule,
    records: &Records<'_>,
    now: Timestamp,
) -> ScheduleEvidence {
    let backups = live(records, &schedule.name);
    let last_completed = backups.iter().copied().find(|backup| is_completed(backup));
    let last_completed_time = last_completed.and_then(data_time);
    let restorable_since = last_completed_time.or(schedule.created);
    let worst_case = schedule.worst_rpo();
    let overdue_after = match (schedule.state(), worst_case) {
        (ScheduleState::Active, Some(worst)) => Some(worst + overdue_tolerance(worst)),
        _ => None,
    };
    let overdue = overdue_after
        .zip(restorable_since)
        .is_some_and(|(limit, since_time)| since(now, since_time) > limit);
    ScheduleEvidence {
        schedule: schedule.name.clone(),
        worst_case,
        newest: backups.first().map(|backup| summary(backup)),
        last_finished: backups
            .iter()
            .find(|backup| is_finished(backup))
            .map(|backup| summary(backup)),
        last_completed: last_completed.map(summary),
        last_completed_age: last_completed_time.map(|time| since(now, time)),
        restorable_since,
        overdue_after,
        overdue,
    }
}

/// What one schedule's backups are checked for: the object alone (a Namespace), or a claim's
/// data along the route coverage predicts.
#[derive(Debug, Clone, Copy)]
enum Wanted<'a> {
    Objects,
    Claim {
        namespace: &'a str,
        claim: &'a str,
        route: DataRoute,
    },
}

/// Whether a backup holds a copy of what is wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holding {
    Held,
    /// Velero's own record of the claim's copy (a PodVolumeBackup or DataUpload) says why not.
    Recorded(String),
    /// Velero kept no record of a copy: why that means the data is missing.
    Unrecorded(String),
}

impl Holding {
    fn missing(&self) -> Option<&str> {
        match self {
            Self::Held => None,
            Self::Recorded(reason) | Self::Unrecorded(reason) => Some(reason),
        }
    }
}

/// Whether `backup` holds a copy of a claim's data, along the route coverage predicts.
fn holding(records: &Records<'_>, backup: &Backup, wanted: Wanted<'_>) -> Holding {
    let Wanted::Claim {
        namespace,
        claim,
        route,
    } = wanted
    else {
        return Holding::Held;
    };
    let name = backup.metadata.name.as_deref().unwrap_or_default();
    let volumes = records.claim_volumes(name, namespace, claim);
    if volumes
        .iter()
        .any(|volume| pvb_phase(volume) == "Completed")
    {
        return Holding::Held;
    }
    let status = backup.status.as_ref();
    match route {
        DataRoute::CsiSnapshot if volumes.is_empty() && moves_data(backup) => {
            moved_data(records, backup, namespace, claim)
        }
        DataRoute::CsiSnapshot if volumes.is_empty() => counted(
            name,
            status.and_then(|s| s.csi_volume_snapshots_attempted),
            status.and_then(|s| s.csi_volume_snapshots_completed),
            "a CSI snapshot of it",
            "CSI snapshots",
        ),
        DataRoute::NativeSnapshot if volumes.is_empty() => counted(
            name,
            status.and_then(|s| s.volume_snapshots_attempted),
            status.and_then(|s| s.volume_snapshots_completed),
            "a native snapshot of it",
            "native snapshots",
        ),
        _ => match volumes.first() {
            Some(volume) => {
                let message = volume
                    .status
                    .as_ref()
                    .and_then(|status| status.message.as_deref())
                    .filter(|message| !message.is_empty())
                    .map_or_else(String::new, |message| format!(": {message}"));
                Holding::Recorded(format!(
                    "its PodVolumeBackup {} (pod {}/{}, volume {:?}) is {}{message}",
                    volume.metadata.name.as_deref().unwrap_or_default(),
                    volume.spec.pod.namespace,
                    volume.spec.pod.name,
                    volume.spec.volume,
                    pvb_phase(volume),
                ))
            }
            None => {
                let warnings = status.and_then(|s| s.warnings).unwrap_or(0);
                Holding::Unrecorded(format!(
                    "Velero made no PodVolumeBackup for it, so the backup holds the claim object but not its data; a volume Velero's file-system backup skips (hostPath, a raw block device, a volume no container mounts) leaves only a warning in the backup log (`velero backup logs {name}`; this backup counts {warnings} warning{})",
                    if warnings == 1 { "" } else { "s" }
                ))
            }
        },
    }
}

/// Whether `backup` moves its CSI snapshots' data with the data mover (its own
/// `spec.snapshotMoveData`, which may differ from its schedule's template today).
fn moves_data(backup: &Backup) -> bool {
    backup.spec.snapshot_move_data == Some(true)
}

/// Snapshots the Backup counts but no cluster object names per claim: held when every one it
/// attempted completed. Velero deletes a backup's VolumeSnapshots (and their contents) once it
/// finalizes (`pkg/backup/actions/csi/volumesnapshot_action.go`, `Execute` in `Finalizing`),
/// so nothing finer is left to read.
fn counted(
    backup: &str,
    attempted: Option<u32>,
    completed: Option<u32>,
    one: &str,
    many: &str,
) -> Holding {
    let (attempted, completed) = (attempted.unwrap_or(0), completed.unwrap_or(0));
    if attempted > 0 && completed >= attempted {
        return Holding::Held;
    }
    Holding::Unrecorded(format!(
        "coverage expects {one}, and Velero completed {completed} of the {attempted} {many} it attempted in this backup (counted per backup, not named per claim: `velero backup describe {backup} --details`)"
    ))
}

/// The data mover's record of a claim: a `Completed` DataUpload of `backup` for it. Without
/// any DataUpload of the backup (an export without them, or a cluster that does not serve
/// `velero.io/v2alpha1`), the backup's item-operation counters stand in, as [`counted`].
fn moved_data(records: &Records<'_>, backup: &Backup, namespace: &str, claim: &str) -> Holding {
    let name = backup.metadata.name.as_deref().unwrap_or_default();
    let uploads = records.uploads(name);
    if uploads.is_empty() {
        let status = backup.status.as_ref();
        return counted(
            name,
            status.and_then(|s| s.backup_item_operations_attempted),
            status.and_then(|s| s.backup_item_operations_completed),
            "a CSI snapshot of it moved by the data mover",
            "item operations (DataUploads among them)",
        );
    }
    let of_claim: Vec<&DataUpload> = uploads
        .iter()
        .copied()
        .filter(|upload| {
            upload.spec.source_namespace == namespace && upload.spec.source_pvc == claim
        })
        .collect();
    if of_claim
        .iter()
        .any(|upload| upload_phase(upload) == "Completed")
    {
        return Holding::Held;
    }
    match of_claim.first() {
        Some(upload) => {
            let message = upload
                .status
                .as_ref()
                .and_then(|status| status.message.as_deref())
                .filter(|message| !message.is_empty())
                .map_or_else(String::new, |message| format!(": {message}"));
            Holding::Recorded(format!(
                "its DataUpload {} (the data mover's copy of its CSI snapshot) is {}{message}",
                upload.metadata.name.as_deref().unwrap_or_default(),
                upload_phase(upload),
            ))
        }
        None => Holding::Unrecorded(format!(
            "coverage expects a CSI snapshot of it moved by the data mover, and Velero made no DataUpload for it (the backup has DataUploads for other claims); the CSI plugin skipped the claim, which the backup log says (`velero backup logs {name}`)"
        )),
    }
}

fn upload_phase(upload: &DataUpload) -> &str {
    upload
        .status
        .as_ref()
        .and_then(|status| status.phase.as_deref())
        .unwrap_or("New")
}

fn pvb_phase(volume: &PodVolumeBackup) -> &str {
    volume
        .status
        .as_ref()
        .and_then(|status| status.phase.as_deref())
        .unwrap_or("New")
}

fn describe(backup: &Backup) -> String {
    let phase = records::phase(backup);
    let name = backup.metadata.name.as_deref().unwrap_or_default();
    match records::started(backup) {
        Some(started) => format!("{name} ({phase}, started {started})"),
        None => format!("{name} ({phase})"),
    }
}

/// Velero's own words for why a backup failed: its failure reason and validation errors.
fn failure_reasons(backup: &Backup) -> String {
    let status = backup.status.as_ref();
    let mut out = String::new();
    if let Some(reason) = status
        .and_then(|s| s.failure_reason.as_deref())
        .filter(|reason| !reason.is_empty())
    {
        out.push_str(&format!(", failure reason: {reason}"));
    }
    let errors = status
        .and_then(|s| s.validation_errors.as_deref())
        .unwrap_or_default();
    if !errors.is_empty() {
        out.push_str(&format!(", validation errors: {}", errors.join("; ")));
    }
    out
}

fn error(code: GapCode, schedule: &str, message: String) -> Gap {
    Gap {
        code,
        severity: Severity::Error,
        message,
        schedule: Some(schedule.to_string()),
    }
}

pub(super) fn object(
    index: &CoverageIndex,
    verdict: &Verdict,
    records: &Records<'_>,
    schedules: &HashMap<&str, &ScheduleEvidence>,
    now: Timestamp,
) -> ObjectEvidence {
    let subject = verdict.subject();
    let reads: Vec<(String, Wanted<'_>)> = match verdict.kind {
        ObjectKind::Namespace => verdict
            .covered_by
            .iter()
            .map(|schedule| (schedule.clone(), Wanted::Objects))
            .collect(),
        ObjectKind::PersistentVolumeClaim => index
            .claim_routes(&verdict.namespace, &verdict.name)
            .into_iter()
            .map(|(schedule, route)| {
                (
                    schedule.name.clone(),
                    Wanted::Claim {
                        namespace: &verdict.namespace,
                        claim: &verdict.name,
                        route,
                    },
                )
            })
            .collect(),
    };
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let mut restorable: Option<(Timestamp, String)> = None;
    for (schedule, wanted) in &reads {
        let backups = live(records, schedule);
        for running in backups.iter().take_while(|backup| !is_finished(backup)) {
            notes.push(format!(
                "backup {} of schedule {schedule} is not finished: not judged yet",
                describe(running)
            ));
        }
        match backups.iter().find(|backup| is_finished(backup)) {
            None => notes.push(format!("schedule {schedule} has no finished backup yet")),
            Some(last) if !is_completed(last) => {
                let status = last.status.as_ref();
                let errors = status.and_then(|s| s.errors).unwrap_or(0);
                let name = last.metadata.name.as_deref().unwrap_or_default();
                let claim = match holding(records, last, *wanted) {
                    Holding::Recorded(reason) => format!("; for this claim, {reason}"),
                    Holding::Held | Holding::Unrecorded(_) => String::new(),
                };
                findings.push(error(
                    GapCode::LastBackupFailed,
                    schedule,
                    format!(
                        "{subject}: the newest finished backup of schedule {schedule}, {}, did not complete ({errors} error{}{}){claim}; see `velero backup describe {name} --details` and `velero backup logs {name}`",
                        describe(last),
                        if errors == 1 { "" } else { "s" },
                        failure_reasons(last),
                    ),
                ));
            }
            Some(last) => {
                if let Some(reason) = holding(records, last, *wanted).missing() {
                    findings.push(error(
                        GapCode::LastBackupMissedVolume,
                        schedule,
                        format!(
                            "{subject}: the newest finished backup of schedule {schedule}, {}, holds no copy of its data: {reason}",
                            describe(last)
                        ),
                    ));
                }
            }
        }
        let holding = backups.iter().find(|backup| {
            is_completed(backup) && holding(records, backup, *wanted) == Holding::Held
        });
        if let Some(backup) = holding
            && let Some(time) = data_time(backup)
            && restorable.as_ref().is_none_or(|(best, _)| time > *best)
        {
            restorable = Some((time, backup.metadata.name.clone().unwrap_or_default()));
        }
    }
    let achieved_rpo = restorable.as_ref().map(|(time, _)| since(now, *time));
    if let Some(predicted) = verdict.rpo {
        let tolerance = overdue_tolerance(predicted);
        let limit = predicted + tolerance;
        let overdue_schedules: Vec<&str> = verdict
            .covered_by
            .iter()
            .filter(|name| schedules.get(name.as_str()).is_some_and(|s| s.overdue))
            .map(String::as_str)
            .collect();
        let message = match (&restorable, achieved_rpo) {
            (Some((_, backup)), Some(achieved)) if achieved > limit => Some(format!(
                "{subject}: its newest restorable backup, {backup}, started {} ago: beyond the predicted worst case of {} plus the {} tolerance",
                format_human(achieved),
                format_human(predicted),
                format_human(tolerance),
            )),
            (None, _)
                if !overdue_schedules.is_empty()
                    && overdue_schedules.len() == verdict.covered_by.len() =>
            {
                Some(format!(
                    "{subject}: no Completed backup holds it, and its schedules have existed for longer than the predicted worst case of {} plus the {} tolerance",
                    format_human(predicted),
                    format_human(tolerance),
                ))
            }
            _ => None,
        };
        if let Some(message) = message {
            let schedule = overdue_schedules
                .first()
                .copied()
                .or_else(|| verdict.covered_by.first().map(String::as_str))
                .unwrap_or_default();
            let stuck = if overdue_schedules.is_empty() {
                String::new()
            } else {
                format!(" (overdue: {})", overdue_schedules.join(", "))
            };
            findings.push(error(
                GapCode::BackupOverdue,
                schedule,
                format!(
                    "{message}{stuck}; check the schedules' recent backups and the BackupStorageLocation (`velero backup get`, `velero backup-location get`)"
                ),
            ));
        }
    }
    ObjectEvidence {
        kind: verdict.kind,
        namespace: verdict.namespace.clone(),
        name: verdict.name.clone(),
        tier: verdict.tier.clone(),
        schedules: reads.into_iter().map(|(schedule, _)| schedule).collect(),
        predicted_rpo: verdict.rpo,
        achieved_rpo,
        restorable_since: restorable.as_ref().map(|(time, _)| *time),
        restorable_from: restorable.map(|(_, backup)| backup),
        findings,
        notes,
    }
}
