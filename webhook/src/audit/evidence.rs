//! `audit --verify-backups`: Velero's records taken out of the inventory, judged by
//! [`policy::evidence`], and the evidence section of each rendering.

use std::fmt::Write as _;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use k8s_openapi::jiff::Timestamp;
use policy::duration::format_human;
use policy::evidence::{self, BackupSummary, Evidence, VeleroRecords};
use policy::velero::{Backup, DataUpload, PodVolumeBackup};
use policy::{CoverageIndex, Inventory, ObjectKind, Verdict};
use serde_json::{Value, json};

/// The Backups, PodVolumeBackups and DataUploads read with the inventory.
pub struct Records {
    backups: Vec<Backup>,
    pod_volume_backups: Vec<PodVolumeBackup>,
    data_uploads: Vec<DataUpload>,
}

/// Takes Velero's records out of `inventory` (coverage never reads them).
pub fn take_records(inventory: &mut Inventory) -> Records {
    Records {
        backups: std::mem::take(&mut inventory.backups),
        pod_volume_backups: std::mem::take(&mut inventory.pod_volume_backups),
        data_uploads: std::mem::take(&mut inventory.data_uploads),
    }
}

impl Records {
    pub fn judge(&self, index: &CoverageIndex, verdicts: &[Verdict], now: Timestamp) -> Evidence {
        evidence::gather(
            index,
            verdicts,
            &VeleroRecords {
                backups: self.backups.iter().collect(),
                pod_volume_backups: self.pod_volume_backups.iter().collect(),
                data_uploads: self.data_uploads.iter().collect(),
            },
            now,
        )
    }
}

fn seconds(duration: Option<std::time::Duration>) -> Option<u64> {
    duration.map(|duration| duration.as_secs())
}

fn human(duration: Option<std::time::Duration>) -> String {
    duration.map_or_else(|| "-".to_string(), format_human)
}

fn backup_json(backup: Option<&BackupSummary>) -> Value {
    backup.map_or(Value::Null, |backup| {
        json!({
            "name": backup.name,
            "phase": backup.phase,
            "started": backup.started.map(|time| time.to_string()),
            "completed": backup.completed.map(|time| time.to_string()),
        })
    })
}

fn kind_short(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Namespace => "Namespace",
        ObjectKind::PersistentVolumeClaim => "PVC",
    }
}

/// `"evidence"` of the JSON report.
pub fn json(evidence: &Evidence) -> Value {
    json!({
        "schedules": evidence.schedules.iter().map(|schedule| json!({
            "name": schedule.schedule,
            "worstCaseSeconds": seconds(schedule.worst_case),
            "newest": backup_json(schedule.newest.as_ref()),
            "lastFinished": backup_json(schedule.last_finished.as_ref()),
            "lastCompleted": backup_json(schedule.last_completed.as_ref()),
            "lastCompletedAgeSeconds": seconds(schedule.last_completed_age),
            "overdueAfterSeconds": seconds(schedule.overdue_after),
            "overdue": schedule.overdue,
        })).collect::<Vec<_>>(),
        "objects": evidence.objects.iter().map(|object| json!({
            "kind": object.kind.as_str(),
            "namespace": object.namespace,
            "name": object.name,
            "tier": object.tier,
            "schedules": object.schedules,
            "predictedRpoSeconds": seconds(object.predicted_rpo),
            "achievedRpoSeconds": seconds(object.achieved_rpo),
            "restorableFrom": object.restorable_from,
            "findings": object.findings.iter().map(|gap| gap.code.as_str()).collect::<Vec<_>>(),
            "notes": object.notes,
        })).collect::<Vec<_>>(),
    })
}

/// The evidence table (terminal) and its notes.
pub fn table(evidence: &Evidence) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "KIND",
            "NAMESPACE",
            "NAME",
            "PREDICTED RPO",
            "ACHIEVED RPO",
            "RESTORABLE FROM",
            "FINDINGS",
        ]);
    for object in &evidence.objects {
        table.add_row(vec![
            kind_short(object.kind).to_string(),
            object.namespace.clone(),
            object.name.clone(),
            human(object.predicted_rpo),
            human(object.achieved_rpo),
            object.restorable_from.clone().unwrap_or_else(|| "-".into()),
            codes(object),
        ]);
    }
    let mut out = format!("\nBackup evidence\n{table}\n");
    write_notes(evidence, &mut out);
    out
}

/// The evidence table (Markdown) and its notes.
pub fn markdown(evidence: &Evidence) -> String {
    let mut out = String::from(
        "\n### Backup evidence\n\n| Kind | Namespace | Name | Predicted RPO | Achieved RPO | Restorable from | Findings |\n|---|---|---|---|---|---|---|\n",
    );
    for object in &evidence.objects {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            kind_short(object.kind),
            object.namespace.replace('|', "\\|"),
            object.name.replace('|', "\\|"),
            human(object.predicted_rpo),
            human(object.achieved_rpo),
            object.restorable_from.as_deref().unwrap_or("-"),
            codes(object),
        );
    }
    write_notes(evidence, &mut out);
    out
}

fn codes(object: &evidence::ObjectEvidence) -> String {
    if object.findings.is_empty() {
        return "-".to_string();
    }
    object
        .findings
        .iter()
        .map(|gap| gap.code.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_notes(evidence: &Evidence, out: &mut String) {
    let mut notes: Vec<&str> = evidence
        .objects
        .iter()
        .flat_map(|object| object.notes.iter().map(String::as_str))
        .collect();
    notes.sort_unstable();
    notes.dedup();
    if notes.is_empty() {
        return;
    }
    out.push_str("\nNot judged\n");
    for note in notes {
        let _ = writeln!(out, "- {note}");
    }
}
