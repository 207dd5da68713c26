//! The audit report and its three renderings.

use std::fmt::Write as _;

use std::collections::HashMap;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};
use policy::consistency::ConsistencyFinding;
use policy::duration::format_human;
use policy::evidence::Evidence;
use policy::inventory::InputNote;
use policy::origin::{ObjectKey, Origins};
use policy::schedule::ScheduleState;
use policy::{CoverageIndex, Severity, Verdict};
use serde_json::{Value, json};

use super::evidence as section;
use super::findings::{origin_json, verdict_key};

#[derive(Debug, Clone)]
pub struct ScheduleSummary {
    pub name: String,
    pub expression: String,
    pub worst_interval_seconds: Option<u64>,
    pub ttl_seconds: u64,
    pub paused: bool,
    pub valid: bool,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct AuditReport {
    pub objects: Vec<Verdict>,
    pub schedules: Vec<ScheduleSummary>,
    /// With `--verify-backups`: what the newest real backups hold.
    pub evidence: Option<Evidence>,
    /// Where each object and schedule came from (manifests; predicted objects).
    pub origins: Origins,
    /// What is worth telling about the input itself (an object defined twice).
    pub notes: Vec<InputNote>,
    /// The object a gap is about when it is not the verdict's own (the database pod of a
    /// `no-consistency-hook`): (object index, gap index) → that object.
    pub(super) gap_subjects: HashMap<(usize, usize), ObjectKey>,
    pub(super) velero_namespace: String,
}

impl AuditReport {
    /// Adds the evidence: its findings join each object's gaps (so they count, and print, as
    /// gaps do), and its own section follows the coverage tables.
    #[must_use]
    pub fn with_evidence(mut self, evidence: Evidence) -> Self {
        for object in &evidence.objects {
            if let Some(verdict) = self.objects.iter_mut().find(|verdict| {
                verdict.kind == object.kind
                    && verdict.namespace == object.namespace
                    && verdict.name == object.name
            }) {
                verdict.gaps.extend(object.findings.iter().cloned());
            }
        }
        self.evidence = Some(evidence);
        self
    }

    /// Adds where the objects came from, and the notes about the input.
    #[must_use]
    pub fn with_origins(mut self, origins: Origins, notes: Vec<InputNote>) -> Self {
        self.origins = origins;
        self.notes = notes;
        self
    }

    /// Adds the `no-consistency-hook` warnings to the claims they are about, each pointing at
    /// its database pod.
    #[must_use]
    pub fn with_consistency(mut self, findings: Vec<ConsistencyFinding>) -> Self {
        for finding in findings {
            if let Some(verdict) = self.objects.get_mut(finding.verdict) {
                self.gap_subjects
                    .insert((finding.verdict, verdict.gaps.len()), finding.pod);
                verdict.gaps.push(finding.gap);
            }
        }
        self
    }

    pub fn new(index: &CoverageIndex) -> Self {
        Self {
            evidence: None,
            origins: Origins::default(),
            notes: Vec::new(),
            gap_subjects: HashMap::new(),
            velero_namespace: index.policy().velero_namespace.clone(),
            objects: index.evaluate_all(),
            schedules: index
                .schedules()
                .map(|schedule| ScheduleSummary {
                    name: schedule.name.clone(),
                    expression: schedule.expression.clone(),
                    worst_interval_seconds: schedule
                        .worst_interval()
                        .map(|interval| interval.as_secs()),
                    ttl_seconds: schedule.ttl.as_secs(),
                    paused: schedule.paused,
                    valid: schedule.state() != ScheduleState::Invalid,
                    problems: schedule.problems.clone(),
                })
                .collect(),
        }
    }

    /// An object "has a gap" when one of its gaps is an error; warnings are shown, never fatal.
    pub fn has_gaps(&self) -> bool {
        self.objects.iter().any(Verdict::has_errors)
    }

    fn failing(&self) -> usize {
        self.objects
            .iter()
            .filter(|verdict| verdict.has_errors())
            .count()
    }

    pub fn json(&self) -> String {
        let objects: Vec<_> = self
            .objects
            .iter()
            .map(|verdict| {
                json!({
                    "kind": verdict.kind.as_str(),
                    "namespace": verdict.namespace,
                    "name": verdict.name,
                    "tier": verdict.tier,
                    "exempt": verdict.exempt,
                    "coveredBy": verdict.covered_by,
                    "rpoSeconds": verdict.rpo.map(|rpo| rpo.as_secs()),
                    "rpoTargetSeconds": verdict.rpo_target.map(|rpo| rpo.as_secs()),
                    "retentionSeconds": verdict.retention.map(|ttl| ttl.as_secs()),
                    "minRetentionSeconds": verdict.min_retention.map(|ttl| ttl.as_secs()),
                    "met": verdict.met,
                    "source": origin_json(self.origins.get(&verdict_key(verdict))),
                    "gaps": verdict.gaps.iter().map(|gap| json!({
                        "code": gap.code.as_str(),
                        "severity": gap.severity.as_str(),
                        "schedule": gap.schedule,
                        "message": gap.message,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let findings: Vec<Value> = self
            .findings()
            .iter()
            .map(|finding| {
                json!({
                    "code": finding.gap.code.as_str(),
                    "severity": finding.gap.severity.as_str(),
                    "kind": finding.verdict.kind.as_str(),
                    "namespace": finding.verdict.namespace,
                    "name": finding.verdict.name,
                    "schedule": finding.gap.schedule,
                    "message": finding.gap.message,
                    "source": origin_json(finding.origin),
                    "scheduleSource": origin_json(finding.schedule),
                })
            })
            .collect();
        let notes: Vec<Value> = self
            .notes
            .iter()
            .map(|note| {
                json!({
                    "code": note.code(),
                    "message": note.to_string(),
                    "file": note.place().file.to_string(),
                    "document": note.place().document,
                    "line": note.place().line,
                })
            })
            .collect();
        let schedules: Vec<_> = self
            .schedules
            .iter()
            .map(|schedule| {
                json!({
                    "name": schedule.name,
                    "schedule": schedule.expression,
                    "worstIntervalSeconds": schedule.worst_interval_seconds,
                    "ttlSeconds": schedule.ttl_seconds,
                    "paused": schedule.paused,
                    "valid": schedule.valid,
                    "problems": schedule.problems,
                })
            })
            .collect();
        let mut document = json!({
            "objects": objects,
            "findings": findings,
            "notes": notes,
            "schedules": schedules,
            "summary": {
                "protected": self.objects.len(),
                "withGaps": self.failing(),
            },
        });
        if let (Some(evidence), Some(map)) = (&self.evidence, document.as_object_mut()) {
            map.insert("evidence".to_string(), section::json(evidence));
        }
        format!(
            "{}\n",
            serde_json::to_string_pretty(&document).unwrap_or_default()
        )
    }

    pub fn table(&self) -> String {
        let mut objects = Table::new();
        objects
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header([
                "KIND",
                "NAMESPACE",
                "NAME",
                "TIER",
                "COVERED BY",
                "WORST RPO",
                "TARGET",
                "MET",
                "GAPS",
            ]);
        for verdict in &self.objects {
            let met = if verdict.exempt.is_some() {
                Cell::new("exempt")
            } else if verdict.met {
                Cell::new("yes").fg(Color::Green)
            } else {
                Cell::new("no").fg(Color::Red)
            };
            objects.add_row(vec![
                Cell::new(kind_short(verdict)),
                Cell::new(&verdict.namespace),
                Cell::new(&verdict.name),
                Cell::new(verdict.tier.as_deref().unwrap_or("-")),
                Cell::new(or_dash(verdict.covered_by.join(", "))),
                Cell::new(verdict.rpo.map_or("-".to_string(), format_human)),
                Cell::new(verdict.rpo_target.map_or("-".to_string(), format_human)),
                met,
                Cell::new(or_dash(
                    verdict
                        .gaps
                        .iter()
                        .map(|gap| gap.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                )),
            ]);
        }
        let mut schedules = Table::new();
        schedules
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["SCHEDULE", "CRON", "WORST INTERVAL", "TTL", "STATE"]);
        for schedule in &self.schedules {
            schedules.add_row(vec![
                schedule.name.clone(),
                schedule.expression.clone(),
                schedule
                    .worst_interval_seconds
                    .map_or("never fires".to_string(), |secs| {
                        format_human(std::time::Duration::from_secs(secs))
                    }),
                format_human(std::time::Duration::from_secs(schedule.ttl_seconds)),
                schedule_state(schedule),
            ]);
        }
        let mut out = format!("Protected objects\n{objects}\n\nVelero schedules\n{schedules}\n");
        if let Some(evidence) = &self.evidence {
            out.push_str(&section::table(evidence));
        }
        self.write_findings(&mut out, "- ");
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from("## Backstop coverage audit\n\n");
        let _ = writeln!(
            out,
            "{} protected objects, {} with gaps.\n",
            self.objects.len(),
            self.failing()
        );
        out.push_str(
            "| Kind | Namespace | Name | Tier | Covered by | Worst RPO | Target | Met | Gaps |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|---|---|\n");
        for verdict in &self.objects {
            let met = if verdict.exempt.is_some() {
                "exempt"
            } else if verdict.met {
                "✅"
            } else {
                "❌"
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                kind_short(verdict),
                md(&verdict.namespace),
                md(&verdict.name),
                md(verdict.tier.as_deref().unwrap_or("-")),
                md(&or_dash(verdict.covered_by.join(", "))),
                verdict.rpo.map_or("-".to_string(), format_human),
                verdict.rpo_target.map_or("-".to_string(), format_human),
                met,
                or_dash(
                    verdict
                        .gaps
                        .iter()
                        .map(|gap| format!("`{}`", gap.code.as_str()))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            );
        }
        out.push_str(
            "\n| Schedule | Cron | Worst interval | TTL | State |\n|---|---|---|---|---|\n",
        );
        for schedule in &self.schedules {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} |",
                md(&schedule.name),
                schedule.expression.replace('`', "'"),
                schedule
                    .worst_interval_seconds
                    .map_or("never fires".to_string(), |secs| format_human(
                        std::time::Duration::from_secs(secs)
                    )),
                format_human(std::time::Duration::from_secs(schedule.ttl_seconds)),
                md(&schedule_state(schedule)),
            );
        }
        if let Some(evidence) = &self.evidence {
            out.push_str(&section::markdown(evidence));
        }
        out.push('\n');
        self.write_findings(&mut out, "- ");
        out
    }

    fn write_findings(&self, out: &mut String, bullet: &str) {
        if !self.notes.is_empty() {
            out.push_str("\nInput\n");
            for note in &self.notes {
                let _ = writeln!(out, "{bullet}warning [{}] {note}", note.code());
            }
        }
        let findings = self.findings();
        if findings.is_empty() {
            out.push_str("\nNo gaps: every protected object meets its tier.\n");
            return;
        }
        out.push_str("\nFindings\n");
        // Every gap message names its object; the line below names where it is defined.
        for finding in findings {
            let gap = finding.gap;
            let level = match gap.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let _ = writeln!(out, "{bullet}{level} [{}] {}", gap.code, gap.message);
            if let Some(origin) = finding.origin {
                let _ = writeln!(out, "  at {origin}");
            }
        }
    }
}

fn kind_short(verdict: &Verdict) -> &'static str {
    match verdict.kind {
        policy::ObjectKind::Namespace => "Namespace",
        policy::ObjectKind::PersistentVolumeClaim => "PVC",
    }
}

fn schedule_state(schedule: &ScheduleSummary) -> String {
    if !schedule.valid {
        format!("invalid: {}", schedule.problems.join("; "))
    } else if schedule.paused {
        "paused".to_string()
    } else {
        "active".to_string()
    }
}

fn or_dash(text: String) -> String {
    if text.is_empty() {
        "-".to_string()
    } else {
        text
    }
}

fn md(text: &str) -> String {
    text.replace('|', "\\|")
}
