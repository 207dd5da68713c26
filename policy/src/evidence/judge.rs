//! Judging one schedule's backups, and one protected object against the backups of the
//! schedules covering it. Messages are written here, once.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::coverage::{CoverageIndex, DataRoute};
use crate::duration::format_human;
use crate::schedule::{CompiledSchedule, ScheduleState};
use crate::velero::{Backup, PodVolumeBackup};
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
        .into_iter()
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
    created: &HashMap<String, Timestamp>,
    now: Timestamp,
) -> ScheduleEvidence {
    let backups = live(records, &schedule.name);
    let last_completed = backups.iter().copied().find(|backup| is_completed(backup));
    let last_completed_age = last_completed
        .and_then(data_time)
        .map(|time| since(now, time));
    let worst_case = schedule.worst_rpo();
    let overdue = match (schedule.state(), worst_case) {
        (ScheduleState::Active, Some(worst)) => {
            let limit = worst + overdue_tolerance(worst);
            match last_completed_age {
                Some(age) => age > limit,
                None => created
                    .get(&schedule.name)
                    .is_some_and(|created| since(now, *created) > limit),
            }
        }
        _ => false,
    };
    ScheduleEvidence {
        schedule: schedule.name.clone(),
        worst_case,
        newest: backups.first().map(|backup| summary(backup)),
        last_finished: backups
            .iter()
            .find(|backup| is_finished(backup))
            .map(|backup| summary(backup)),
        last_completed: last_completed.map(summary),
        last_completed_age,
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

/// Why a Completed backup holds no copy of a claim's data; `None` when it holds one.
fn missing_data(records: &Records<'_>, backup: &Backup, wanted: Wanted<'_>) -> Option<String> {
    let Wanted::Claim {
        namespace,
        claim,
        route,
    } = wanted
    else {
        return None;
    };
    let name = backup.metadata.name.as_deref().unwrap_or_default();
    let volumes = records.claim_volumes(name, namespace, claim);
    if volumes
        .iter()
        .any(|volume| pvb_phase(volume) == "Completed")
    {
        return None;
    }
    let status = backup.status.as_ref();
    let counted = |attempted: Option<u32>, completed: Option<u32>, kind: &str| {
        let (attempted, completed) = (attempted.unwrap_or(0), completed.unwrap_or(0));
        (attempted == 0 || completed < attempted).then(|| {
            format!(
                "coverage expects a {kind} snapshot of it, and Velero completed {completed} of the {attempted} {kind} snapshots it attempted in this backup (snapshots are counted per backup, not named per claim: `velero backup describe {name} --details`)"
            )
        })
    };
    match route {
        DataRoute::CsiSnapshot if volumes.is_empty() => counted(
            status.and_then(|s| s.csi_volume_snapshots_attempted),
            status.and_then(|s| s.csi_volume_snapshots_completed),
            "CSI",
        ),
        DataRoute::NativeSnapshot if volumes.is_empty() => counted(
            status.and_then(|s| s.volume_snapshots_attempted),
            status.and_then(|s| s.volume_snapshots_completed),
            "native",
        ),
        _ => Some(match volumes.first() {
            Some(volume) => {
                let message = volume
                    .status
                    .as_ref()
                    .and_then(|status| status.message.as_deref())
                    .filter(|message| !message.is_empty())
                    .map_or_else(String::new, |message| format!(": {message}"));
                format!(
                    "its PodVolumeBackup {} (pod {}/{}, volume {:?}) is {}{message}",
                    volume.metadata.name.as_deref().unwrap_or_default(),
                    volume.spec.pod.namespace,
                    volume.spec.pod.name,
                    volume.spec.volume,
                    pvb_phase(volume),
                )
            }
            None => {
                let warnings = status.and_then(|s| s.warnings).unwrap_or(0);
                format!(
                    "Velero made no PodVolumeBackup for it, so the backup holds the claim object but not its data; a volume Velero's file-system backup skips (hostPath, a raw block device, a volume no container mounts) leaves only a warning in the backup log (`velero backup logs {name}`; this backup counts {warnings} warning{})",
                    if warnings == 1 { "" } else { "s" }
                )
            }
        }),
    }
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
                let reason = status
                    .and_then(|s| s.failure_reason.as_deref())
                    .filter(|reason| !reason.is_empty())
                    .map_or_else(String::new, |reason| format!(", failure reason: {reason}"));
                let name = last.metadata.name.as_deref().unwrap_or_default();
                findings.push(error(
                    GapCode::LastBackupFailed,
                    schedule,
                    format!(
                        "{subject}: the newest finished backup of schedule {schedule}, {}, did not complete ({errors} error{}{reason}); see `velero backup describe {name} --details` and `velero backup logs {name}`",
                        describe(last),
                        if errors == 1 { "" } else { "s" },
                    ),
                ));
            }
            Some(last) => {
                if let Some(reason) = missing_data(records, last, *wanted) {
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
            is_completed(backup) && missing_data(records, backup, *wanted).is_none()
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
        restorable_from: restorable.map(|(_, backup)| backup),
        findings,
        notes,
    }
}
