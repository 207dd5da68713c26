//! Turning per-schedule outcomes into one [`Verdict`] with its gaps and fix-it messages.

use std::time::Duration;

use crate::config::{Policy, Tier, TierSource};
use crate::cron::{RECONCILE_TICK, merged_worst_case_interval};
use crate::duration::{format_go_duration, format_human};
use crate::objects::Meta;
use crate::schedule::{CompiledSchedule, ScheduleState};
use crate::velero::keys::EXCLUDE_FROM_BACKUP;
use crate::verdict::{Detail, Gap, GapCode, ObjectKind, Severity, Subject, Verdict};

use super::rules::{DataGapReason, DataPath, Outcome, excluded_by_label};

/// Keeps an object out of every backup whatever the schedules say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exclusion {
    None,
    /// The object's namespace is labelled `velero.io/exclude-from-backup=true`: Velero adds it
    /// to every backup's excluded namespaces (`prepareBackupRequest`).
    Namespace,
}

pub(crate) fn verdict(
    policy: &Policy,
    kind: ObjectKind,
    meta: &Meta,
    (tier, source): (&Tier, TierSource),
    outcomes: Vec<(&CompiledSchedule, Outcome)>,
    exclusion: Exclusion,
    detail: Detail,
) -> Verdict {
    let namespace = match kind {
        ObjectKind::Namespace => meta.name.as_str(),
        ObjectKind::PersistentVolumeClaim => meta.namespace_or_default(),
    };
    let mut verdict = Verdict::unprotected(kind, namespace, &meta.name);
    verdict.tier = Some(tier.name.clone());
    verdict.tier_source = Some(source);
    verdict.rpo_target = Some(tier.rpo);
    verdict.min_retention = Some(tier.min_retention);
    let subject = Subject::new(kind, namespace, &meta.name);
    let mut gaps = Vec::new();

    if kind == ObjectKind::PersistentVolumeClaim
        && let Some(reason) = meta.annotations.get(&policy.keys.exempt)
    {
        if !reason.trim().is_empty() {
            verdict.exempt = Some(reason.trim().to_string());
            return verdict;
        }
        gaps.push(error(
            GapCode::ExemptionWithoutReason,
            detail.text(|| format!(
                "{subject} sets {} without a reason: write why it needs no backup (e.g. \"scratch data, rebuilt nightly\") or remove the annotation",
                policy.keys.exempt
            )),
            None,
        ));
    }
    if source == TierSource::Policy
        && let Some(declared) = meta
            .labels
            .get(&policy.keys.tier)
            .or_else(|| meta.annotations.get(&policy.keys.tier))
        && declared != &tier.name
    {
        gaps.push(warning(
            GapCode::TierAnnotationMismatch,
            detail.text(|| format!(
                "{subject} declares tier {declared:?} in {}, but the policy puts it in {:?}, which is what Backstop enforces; correct the label or annotation",
                policy.keys.tier, tier.name
            )),
            None,
        ));
    }

    let excluded = excluded_by_label(meta);
    let mut covering: Vec<&CompiledSchedule> = Vec::new();
    let mut blocked = Vec::new();
    let mut data_gaps = Vec::new();
    let mut once_mounted: Vec<&str> = Vec::new();
    for (schedule, outcome) in outcomes {
        if outcome == Outcome::NotSelected {
            continue;
        }
        match (schedule.state(), schedule.worst_interval()) {
            (ScheduleState::Invalid, _) => blocked.push((
                GapCode::ScheduleInvalid,
                detail.text(|| format!(
                    "schedule {} would back up {subject} but Velero refuses it: {}; fix the schedule",
                    schedule.name,
                    schedule.problems.join("; ")
                )),
                schedule,
            )),
            (ScheduleState::Paused, _) => blocked.push((
                GapCode::SchedulePaused,
                detail.text(|| format!(
                    "schedule {} would back up {subject} but is paused; unpause it (spec.paused: false)",
                    schedule.name
                )),
                schedule,
            )),
            (ScheduleState::Active, None) => blocked.push((
                GapCode::ScheduleNeverFires,
                detail.text(|| format!(
                    "schedule {} would back up {subject} but its cron {:?} never fires; fix spec.schedule",
                    schedule.name, schedule.expression
                )),
                schedule,
            )),
            (ScheduleState::Active, Some(_)) => match outcome {
                Outcome::Covers(DataPath::FsBackupOnceMounted) => {
                    covering.push(schedule);
                    once_mounted.push(&schedule.name);
                }
                Outcome::Covers(_) => covering.push(schedule),
                Outcome::DataGap { code, reason } => data_gaps.push((code, reason, schedule)),
                Outcome::NotSelected => {}
            },
        }
    }

    if exclusion == Exclusion::Namespace && !excluded {
        gaps.push(error(
            GapCode::ExcludedFromBackup,
            detail.text(|| format!(
                "{subject} is in namespace {namespace}, labelled {EXCLUDE_FROM_BACKUP}=true, which Velero adds to every backup's excludedNamespaces, so no backup takes it; remove the label from the namespace, or opt out explicitly with {}: \"<reason>\"",
                policy.keys.exempt
            )),
            None,
        ));
        covering.clear();
    }
    if excluded {
        gaps.push(error(
            GapCode::ExcludedFromBackup,
            detail.text(|| format!(
                "{subject} is labelled {EXCLUDE_FROM_BACKUP}=true, so no backup takes it; remove the label, or opt out explicitly with {}: \"<reason>\"",
                policy.keys.exempt
            )),
            None,
        ));
        covering.clear();
    }
    let excluded = excluded || exclusion == Exclusion::Namespace;

    covering.sort_by(|a, b| (a.worst_rpo(), &a.name).cmp(&(b.worst_rpo(), &b.name)));
    verdict.covered_by = covering
        .iter()
        .map(|schedule| schedule.name.clone())
        .collect();
    // Several schedules back the object up at the union of their firings: the worst case is the
    // largest gap of those merged firings, plus the tick.
    let merged_interval = merged_worst_case_interval(
        covering
            .iter()
            .filter_map(|schedule| schedule.cron.as_ref()),
    );
    verdict.rpo = merged_interval.map(|interval| interval + RECONCILE_TICK);
    verdict.retention = covering.iter().map(|schedule| schedule.ttl).max();
    verdict.met = verdict.rpo.is_some_and(|rpo| rpo <= tier.rpo);

    if covering.is_empty() {
        let mut grouped: Vec<(GapCode, DataGapReason, Vec<&str>)> = Vec::new();
        for (code, reason, schedule) in data_gaps {
            match grouped
                .iter_mut()
                .find(|(c, r, _)| *c == code && *r == reason)
            {
                Some((_, _, names)) => names.push(&schedule.name),
                None => grouped.push((code, reason, vec![&schedule.name])),
            }
        }
        for (code, reason, names) in grouped {
            gaps.push(error(
                code,
                detail.text(|| {
                    format!(
                        "{subject} is in {} {} but its volume data is not: {}",
                        if names.len() == 1 {
                            "schedule"
                        } else {
                            "schedules"
                        },
                        names.join(", "),
                        reason.describe(&meta.name),
                    )
                }),
                names.first().copied(),
            ));
        }
        let nothing_matched = gaps
            .iter()
            .all(|gap| gap.code == GapCode::TierAnnotationMismatch)
            && blocked.is_empty();
        for (code, message, schedule) in blocked {
            gaps.push(error(code, message, Some(&schedule.name)));
        }
        if nothing_matched && !excluded {
            gaps.push(error(
                GapCode::NoSchedule,
                detail.text(|| format!(
                    "no Velero schedule in namespace {} backs up {subject} ({} tier); add {} to a schedule's includedNamespaces, or create a schedule that fires at least every {}, e.g. {:?}",
                    policy.velero_namespace,
                    tier.name,
                    namespace,
                    format_human(max_interval(tier)),
                    suggested_cron(max_interval(tier)),
                )),
                None,
            ));
        }
    } else {
        for (code, message, schedule) in blocked {
            gaps.push(warning(code, message, Some(&schedule.name)));
        }
        if let Some(best) = covering.first()
            && !verdict.met
        {
            gaps.push(error(
                GapCode::RpoExceedsTarget,
                detail.text(|| {
                    format!(
                        "worst-case RPO of {subject} is {}, above the {} tier's {}",
                        rpo_summary(&covering, merged_interval),
                        tier.name,
                        tier_advice(tier),
                    )
                }),
                Some(&best.name),
            ));
        }
        if !covering.iter().any(|schedule| retention_ok(schedule, tier)) {
            gaps.push(retention_gap(subject, tier, &covering, detail));
        }
        for schedule in &covering {
            for (code, warning_text) in &schedule.warnings {
                // Volume policies concern a claim's data, not a Namespace's objects.
                if *code == GapCode::VolumePoliciesUnknown && kind == ObjectKind::Namespace {
                    continue;
                }
                gaps.push(warning(
                    *code,
                    detail.text(|| {
                        format!(
                            "schedule {} backs up {subject}, but {warning_text}",
                            schedule.name
                        )
                    }),
                    Some(&schedule.name),
                ));
            }
        }
        if once_mounted.len() == covering.len() {
            gaps.push(warning(
                GapCode::UnmountedFsBackupOnly,
                detail.text(|| format!(
                    "{subject} is not mounted yet; {} will back up its data through file-system backup only once a running pod mounts it",
                    once_mounted.join(", ")
                )),
                once_mounted.first().copied(),
            ));
        }
    }
    verdict.gaps = gaps;
    verdict
}

/// How the worst case was reached: the best schedule's own summary when the others do not
/// shorten its largest gap, else the merged firings of them all.
fn rpo_summary(covering: &[&CompiledSchedule], merged_interval: Option<Duration>) -> String {
    match (covering, merged_interval) {
        ([best, ..], merged) if best.worst_interval() == merged => best.rpo_summary.clone(),
        (_, Some(interval)) => format!(
            "{} (schedules {} together: their merged firings leave gaps of up to {}, plus the {} reconcile tick)",
            format_human(interval + RECONCILE_TICK),
            covering
                .iter()
                .map(|schedule| format!("{} {:?}", schedule.name, schedule.expression))
                .collect::<Vec<_>>()
                .join(", "),
            format_human(interval),
            format_human(RECONCILE_TICK),
        ),
        (_, None) => "unbounded (no covering schedule fires)".to_string(),
    }
}

/// A schedule keeps backups long enough when its ttl reaches the tier's minimum retention and
/// outlives its own interval (otherwise a backup expires before the next one lands).
fn retention_ok(schedule: &CompiledSchedule, tier: &Tier) -> bool {
    schedule.ttl >= tier.min_retention
        && schedule
            .worst_interval()
            .is_some_and(|interval| schedule.ttl > interval)
}

fn retention_gap(
    subject: Subject<'_>,
    tier: &Tier,
    covering: &[&CompiledSchedule],
    detail: Detail,
) -> Gap {
    let schedule = covering.first().map(|schedule| schedule.name.as_str());
    if detail == Detail::CodesOnly {
        return error(GapCode::RetentionBelowMinimum, String::new(), schedule);
    }
    let listing = covering
        .iter()
        .map(|schedule| format!("{} keeps {}", schedule.name, format_human(schedule.ttl)))
        .collect::<Vec<_>>()
        .join(", ");
    let short_of_interval = covering.iter().find(|schedule| {
        schedule
            .worst_interval()
            .is_some_and(|interval| schedule.ttl <= interval)
    });
    let message = match short_of_interval {
        Some(schedule) if schedule.ttl >= tier.min_retention => format!(
            "backups of {subject} expire before the next one lands ({listing}); set spec.template.ttl of {} above its interval",
            schedule.name
        ),
        _ => format!(
            "backups of {subject} are kept too briefly ({listing}); the {} tier needs at least {}: set spec.template.ttl to {:?} or more",
            tier.name,
            format_human(tier.min_retention),
            format_go_duration(tier.min_retention)
        ),
    };
    error(GapCode::RetentionBelowMinimum, message, schedule)
}

/// `15m target; add a schedule that fires at least every 14m, e.g. "*/12 * * * *"`.
fn tier_advice(tier: &Tier) -> String {
    format!(
        "{} target; add a schedule that fires at least every {}, e.g. {:?}",
        format_human(tier.rpo),
        format_human(max_interval(tier)),
        suggested_cron(max_interval(tier)),
    )
}

/// The longest interval between backups that still meets the tier: its RPO minus one tick.
fn max_interval(tier: &Tier) -> Duration {
    tier.rpo
        .saturating_sub(RECONCILE_TICK)
        .max(Duration::from_secs(60))
}

/// A standard cron expression whose largest gap fits within `interval`.
pub(crate) fn suggested_cron(interval: Duration) -> String {
    let minutes = (interval.as_secs() / 60).max(1);
    if minutes < 60 {
        let step = [30, 20, 15, 12, 10, 6, 5, 4, 3, 2, 1]
            .into_iter()
            .find(|step| *step <= minutes)
            .unwrap_or(1);
        return if step == 1 {
            "* * * * *".to_string()
        } else {
            format!("*/{step} * * * *")
        };
    }
    let hours = minutes / 60;
    if hours < 24 {
        let step = [12, 8, 6, 4, 3, 2, 1]
            .into_iter()
            .find(|step| *step <= hours)
            .unwrap_or(1);
        return if step == 1 {
            "0 * * * *".to_string()
        } else {
            format!("0 */{step} * * *")
        };
    }
    if hours < 168 {
        "0 2 * * *".to_string()
    } else {
        "0 3 * * 0".to_string()
    }
}

fn error(code: GapCode, message: String, schedule: Option<&str>) -> Gap {
    Gap {
        code,
        severity: Severity::Error,
        message,
        schedule: schedule.map(str::to_string),
    }
}

fn warning(code: GapCode, message: String, schedule: Option<&str>) -> Gap {
    Gap {
        code,
        severity: Severity::Warning,
        message,
        schedule: schedule.map(str::to_string),
    }
}
