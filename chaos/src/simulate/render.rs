//! The report as JSON (the documented shape, deterministic for a seed), a terminal table or
//! Markdown. Durations are seconds with millisecond precision; `null` means unbounded: some
//! instant had no restorable backup.

use std::fmt::Write as _;

use policy::duration::format_human;
use serde_json::{Value, json};

use super::{DurationFrom, Millis, ObjectResult, Report, Rpo, TierResult};

fn seconds(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

fn optional_seconds(ms: Option<Millis>) -> Value {
    ms.map_or(Value::Null, |ms| json!(seconds(ms)))
}

fn rpo_json(rpo: &Rpo) -> Value {
    json!({
        "p50Seconds": optional_seconds(rpo.p50),
        "p90Seconds": optional_seconds(rpo.p90),
        "p99Seconds": optional_seconds(rpo.p99),
        "maxSeconds": optional_seconds(rpo.max),
    })
}

pub fn json(report: &Report) -> String {
    let settings = &report.settings;
    let end = settings.start + chrono::Duration::from_std(settings.horizon).unwrap_or_default();
    let rfc3339 =
        |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let objects: Vec<Value> = report
        .objects
        .iter()
        .map(|result| {
            let object = &result.object;
            json!({
                "kind": object.kind.as_str(),
                "namespace": object.namespace,
                "name": object.name,
                "tier": object.tier,
                "targetSeconds": object.target.as_secs_f64(),
                "coveredBy": object.covered_by,
                "rpo": rpo_json(&result.rpo),
                "breachFraction": result.breach_fraction,
                "longestBreachSeconds": seconds(result.longest_breach),
                "noRestorableFraction": result.no_restorable_fraction,
            })
        })
        .collect();
    let tiers: Vec<Value> = report
        .tiers
        .iter()
        .map(|tier| {
            json!({
                "tier": tier.tier,
                "targetSeconds": tier.target.as_secs_f64(),
                "objects": tier.objects,
                "rpo": rpo_json(&tier.rpo),
                "breachFraction": tier.breach_fraction,
                "longestBreachSeconds": seconds(tier.longest_breach),
                "noRestorableFraction": tier.no_restorable_fraction,
                "worstObject": tier.worst_object,
            })
        })
        .collect();
    let schedules: Vec<Value> = report
        .schedules
        .iter()
        .map(|schedule| {
            let (source, backups, max) = match schedule.duration_from {
                DurationFrom::Flag => ("flag", Value::Null, Value::Null),
                DurationFrom::Cluster(measured) => (
                    "cluster",
                    json!(measured.backups),
                    json!(measured.max.as_secs_f64()),
                ),
                DurationFrom::ClusterHasNone => ("cluster", json!(0), Value::Null),
            };
            json!({
                "name": schedule.name,
                "schedule": schedule.cron.expression(),
                "ttlSeconds": schedule.ttl.as_secs_f64(),
                "backupDurationSeconds": schedule.backup_duration.as_secs_f64(),
                "durationFrom": source,
                "backupsMeasured": backups,
                "maxBackupDurationSeconds": max,
            })
        })
        .collect();
    let document = json!({
        "samples": settings.samples,
        "seed": settings.seed,
        "horizon": {"start": rfc3339(settings.start), "end": rfc3339(end)},
        "schedules": schedules,
        "objects": objects,
        "tiers": tiers,
    });
    format!("{document:#}\n")
}

fn human(ms: Option<Millis>) -> String {
    ms.map_or_else(
        || "unbounded".to_string(),
        |ms| {
            format_human(std::time::Duration::from_millis(
                u64::try_from(ms).unwrap_or(0),
            ))
        },
    )
}

fn percent(fraction: f64) -> String {
    format!("{:.2}%", fraction * 100.0)
}

struct Row {
    cells: [String; 11],
}

const HEADER: [&str; 11] = [
    "OBJECT",
    "TIER",
    "TARGET",
    "COVERED BY",
    "P50",
    "P90",
    "P99",
    "MAX",
    "BREACHED",
    "LONGEST BREACH",
    "NO BACKUP",
];

fn object_row(result: &ObjectResult) -> Row {
    let rpo = &result.rpo;
    Row {
        cells: [
            result.object.subject(),
            result.object.tier.clone(),
            format_human(result.object.target),
            if result.object.covered_by.is_empty() {
                "-".to_string()
            } else {
                result.object.covered_by.join(", ")
            },
            human(rpo.p50),
            human(rpo.p90),
            human(rpo.p99),
            human(rpo.max),
            percent(result.breach_fraction),
            human(Some(result.longest_breach)),
            percent(result.no_restorable_fraction),
        ],
    }
}

fn tier_row(tier: &TierResult) -> Row {
    let rpo = &tier.rpo;
    Row {
        cells: [
            format!(
                "{} objects (worst: {})",
                tier.objects,
                tier.worst_object.as_deref().unwrap_or("-")
            ),
            tier.tier.clone(),
            format_human(tier.target),
            "-".to_string(),
            human(rpo.p50),
            human(rpo.p90),
            human(rpo.p99),
            human(rpo.max),
            percent(tier.breach_fraction),
            human(Some(tier.longest_breach)),
            percent(tier.no_restorable_fraction),
        ],
    }
}

fn heading(report: &Report) -> String {
    let settings = &report.settings;
    format!(
        "{} failure instants (seed {}) over {} from {}",
        settings.samples,
        settings.seed,
        format_human(settings.horizon),
        settings
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

fn schedule_lines(report: &Report) -> Vec<String> {
    report
        .schedules
        .iter()
        .map(|schedule| {
            let source = match schedule.duration_from {
                DurationFrom::Flag => "--backup-duration".to_string(),
                DurationFrom::Cluster(measured) => format!(
                    "median of {} recent backups, max {}",
                    measured.backups,
                    format_human(measured.max)
                ),
                DurationFrom::ClusterHasNone => "no finished backup in the cluster".to_string(),
            };
            format!(
                "{} {:?}: ttl {}, backups take {} ({source})",
                schedule.name,
                schedule.cron.expression(),
                format_human(schedule.ttl),
                format_human(schedule.backup_duration),
            )
        })
        .collect()
}

/// A plain-text table, columns padded to their widest cell.
pub fn table(report: &Report) -> String {
    let mut out = format!("{}\n\n", heading(report));
    let render = |rows: &[Row], out: &mut String| {
        let mut widths = HEADER.map(str::len);
        for row in rows {
            for (width, cell) in widths.iter_mut().zip(&row.cells) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            cells
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        let _ = writeln!(out, "{}", line(HEADER.to_vec()));
        for row in rows {
            let _ = writeln!(
                out,
                "{}",
                line(row.cells.iter().map(String::as_str).collect())
            );
        }
    };
    let _ = writeln!(out, "Objects");
    render(
        &report.objects.iter().map(object_row).collect::<Vec<_>>(),
        &mut out,
    );
    let _ = writeln!(out, "\nTiers");
    render(
        &report.tiers.iter().map(tier_row).collect::<Vec<_>>(),
        &mut out,
    );
    let _ = writeln!(out, "\nSchedules");
    for line in schedule_lines(report) {
        let _ = writeln!(out, "- {line}");
    }
    out
}

pub fn markdown(report: &Report) -> String {
    let mut out = format!("# RPO simulation\n\n{}.\n", heading(report));
    let render = |title: &str, rows: &[Row], out: &mut String| {
        let _ = writeln!(out, "\n## {title}\n");
        let _ = writeln!(out, "| {} |", HEADER.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(HEADER.len()));
        for row in rows {
            let cells: Vec<String> = row
                .cells
                .iter()
                .map(|cell| cell.replace('|', "\\|"))
                .collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    };
    render(
        "Objects",
        &report.objects.iter().map(object_row).collect::<Vec<_>>(),
        &mut out,
    );
    render(
        "Tiers",
        &report.tiers.iter().map(tier_row).collect::<Vec<_>>(),
        &mut out,
    );
    let _ = writeln!(out, "\n## Schedules\n");
    for line in schedule_lines(report) {
        let _ = writeln!(out, "- {}", line.replace('|', "\\|"));
    }
    out
}
