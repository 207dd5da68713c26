//! `--output sarif`: the findings as a SARIF 2.1.0 log, so code-scanning views and pull-request
//! diffs show them at the file and line of the object they are about.
//!
//! One run; one rule per gap code (and `defined-twice` for the input notes), each result at its
//! object's file and line (`physicalLocation`) with the object named as a logical location, and
//! the schedule a gap is about as a related location. An object read from a cluster, from
//! standard input or from a rendered kustomization has no file to point into: its result has the
//! logical location only, and its message says where it came from.

use policy::origin::{Origin, Place};
use policy::{GapCode, Severity};
use serde_json::{Value, json};

use super::AuditReport;
use super::findings::{Finding, file_of};

/// The schema the log declares (the OASIS SARIF 2.1.0 schema as GitHub validates it).
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The rule of the input notes.
const DEFINED_TWICE: &str = "defined-twice";

impl AuditReport {
    pub fn sarif(&self) -> String {
        let mut rules: Vec<Value> = GapCode::ALL.iter().map(|code| rule(*code)).collect();
        rules.push(json!({
            "id": DEFINED_TWICE,
            "name": "DefinedTwice",
            "shortDescription": {"text": "The same object is defined twice in the manifests; it is counted once."},
            "fullDescription": {"text": "Two documents define the same object (kind, namespace and name). The audit counts the later definition, as kubectl apply of both would leave it."},
            "defaultConfiguration": {"level": "warning"},
        }));
        let mut results: Vec<Value> = self.findings().iter().map(result).collect();
        results.extend(self.notes.iter().map(|note| {
            json!({
                "ruleId": DEFINED_TWICE,
                "ruleIndex": GapCode::ALL.len(),
                "level": "warning",
                "message": {"text": note.to_string()},
                "locations": [location(Some(note.place()), None)],
            })
        }));
        let log = json!({
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "backstop",
                    "fullName": "Backstop coverage audit (backstop-webhook audit)",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }],
        });
        format!(
            "{}\n",
            serde_json::to_string_pretty(&log).unwrap_or_default()
        )
    }
}

impl AuditReport {
    /// How many results of [`AuditReport::sarif`] have no file to point into (objects read from
    /// standard input, a rendered kustomization or a cluster): GitHub code scanning refuses a
    /// whole log that holds one.
    pub fn sarif_results_without_file(&self) -> usize {
        let findings = self
            .findings()
            .iter()
            .filter(|finding| {
                finding
                    .origin
                    .and_then(|origin| origin.place.as_ref())
                    .and_then(file_of)
                    .is_none()
            })
            .count();
        let notes = self
            .notes
            .iter()
            .filter(|note| file_of(note.place()).is_none())
            .count();
        findings + notes
    }
}

fn rule(code: GapCode) -> Value {
    json!({
        "id": code.as_str(),
        "name": camel_case(code.as_str()),
        "shortDescription": {"text": code.summary()},
        "fullDescription": {"text": format!("{} Each finding's message names the object, the schedules and the fix.", code.summary())},
        "defaultConfiguration": {"level": default_level(code)},
        "properties": {"tags": ["backup", "velero", "disaster-recovery"]},
    })
}

/// Codes that are warnings wherever they appear; the others are errors in an audit (a result
/// carries its own level either way).
fn default_level(code: GapCode) -> &'static str {
    match code {
        GapCode::SchedulePaused
        | GapCode::TierAnnotationMismatch
        | GapCode::StorageLocationUnavailable
        | GapCode::NoConsistencyHook => "warning",
        _ => "error",
    }
}

fn camel_case(code: &str) -> String {
    code.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn result(finding: &Finding<'_>) -> Value {
    let gap = finding.gap;
    let rule_index = GapCode::ALL
        .iter()
        .position(|code| *code == gap.code)
        .unwrap_or_default();
    let mut text = gap.message.clone();
    if let Some(origin) = finding.origin
        && origin.place.as_ref().and_then(file_of).is_none()
    {
        text.push_str(&format!(" (from {origin})"));
    }
    let mut result = json!({
        "ruleId": gap.code.as_str(),
        "ruleIndex": rule_index,
        "level": match gap.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        "message": {"text": text},
        "locations": [location(
            finding.origin.and_then(|origin| origin.place.as_ref()),
            Some(finding),
        )],
        "partialFingerprints": {
            "backstopFinding/v1": format!(
                "{}:{}:{}/{}",
                gap.code,
                finding.verdict.kind,
                finding.verdict.namespace,
                finding.verdict.name
            ),
        },
    });
    if let (Some(place), Some(object)) = (
        finding
            .schedule
            .and_then(|origin: &Origin| origin.place.as_ref()),
        result.as_object_mut(),
    ) && file_of(place).is_some()
    {
        let mut related = location(Some(place), None);
        if let Some(map) = related.as_object_mut() {
            map.insert("id".to_string(), json!(0));
            map.insert(
                "message".to_string(),
                json!({"text": format!("schedule {}", gap.schedule.as_deref().unwrap_or_default())}),
            );
        }
        object.insert("relatedLocations".to_string(), json!([related]));
    }
    result
}

/// A location at `place` when it is a file, named by the finding's object when there is one.
fn location(place: Option<&Place>, finding: Option<&Finding<'_>>) -> Value {
    let mut location = serde_json::Map::new();
    if let Some(place) = place
        && let Some(file) = file_of(place)
    {
        location.insert(
            "physicalLocation".to_string(),
            json!({
                "artifactLocation": {"uri": uri(file)},
                "region": {"startLine": place.line},
            }),
        );
    }
    if let Some(finding) = finding {
        let verdict = finding.verdict;
        let name = if verdict.namespace.is_empty() || verdict.name == verdict.namespace {
            format!("{}/{}", verdict.kind, verdict.name)
        } else {
            format!("{}/{}/{}", verdict.kind, verdict.namespace, verdict.name)
        };
        location.insert(
            "logicalLocations".to_string(),
            json!([{"fullyQualifiedName": name, "kind": "resource"}]),
        );
    }
    Value::Object(location)
}

/// A file name as a SARIF artifact URI: relative paths stay relative (to the directory the
/// audit ran in, usually the repository's root), with `/` separators and percent-encoding;
/// absolute paths become `file://` URIs.
fn uri(file: &str) -> String {
    let normalized = file.replace('\\', "/");
    let trimmed = normalized.trim_start_matches("./");
    let encoded: String = trimmed
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '.' | '_' | '~' | '/' => c.to_string(),
            other => {
                let mut buffer = [0; 4];
                other
                    .encode_utf8(&mut buffer)
                    .bytes()
                    .map(|byte| format!("%{byte:02X}"))
                    .collect()
            }
        })
        .collect();
    if trimmed.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_stay_relative_and_absolute_ones_become_file_uris() {
        assert_eq!(uri("./deploy/db.yaml"), "deploy/db.yaml");
        assert_eq!(uri("a dir/db #1.yaml"), "a%20dir/db%20%231.yaml");
        assert_eq!(uri("/tmp/x.yaml"), "file:///tmp/x.yaml");
    }

    #[test]
    fn rule_names_are_the_codes_in_camel_case() {
        assert_eq!(camel_case("no-consistency-hook"), "NoConsistencyHook");
    }
}
