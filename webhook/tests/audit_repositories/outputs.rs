//! `--output sarif` (validated against the official SARIF 2.1.0 schema, vendored in
//! `fixtures/sarif/`) and `--output github` (workflow-command annotations).

use policy::GapCode;
use serde_json::Value;

use crate::*;

fn sarif_schema() -> Value {
    let text =
        std::fs::read_to_string(repo().join("fixtures/sarif/sarif-schema-2.1.0.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every violation of `log` against the SARIF 2.1.0 schema (draft-04, formats checked).
pub fn schema_errors(log: &Value) -> Vec<String> {
    let validator = jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&sarif_schema())
        .expect("the vendored SARIF schema compiles");
    validator
        .iter_errors(log)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

fn sarif(args: &[&str], stdin: &[u8]) -> (std::process::Output, Value) {
    let mut all = vec!["--policy", POLICY, "--output", "sarif"];
    all.extend_from_slice(args);
    let output = audit_with_stdin(&all, stdin);
    let log = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("SARIF is JSON: {error}; {}", stderr(&output)));
    (output, log)
}

/// The platform (files), a Helm stream (standard input), a schedule defined twice and a
/// database without a hook: every kind of result the log can hold.
fn everything() -> (std::process::Output, Value) {
    let stream = std::fs::read(repo().join(fixture("helm-rendered-stream/stream.yaml"))).unwrap();
    sarif(
        &[
            "--manifests",
            "fixtures/platform",
            "--manifests",
            "-",
            "--manifests",
            &fixture("helm-rendered-stream/velero.yaml"),
            "--manifests",
            &fixture("schedule-defined-twice"),
            "--manifests",
            &fixture("postgres-statefulset-without-hook.yaml"),
        ],
        &stream,
    )
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let (output, log) = everything();
    assert_eq!(
        output.status.code(),
        Some(1),
        "the exit code follows the gaps"
    );
    let errors = schema_errors(&log);
    assert!(errors.is_empty(), "{errors:#?}");
    let results = log["runs"][0]["results"].as_array().unwrap();
    for level in ["error", "warning"] {
        assert!(
            results.iter().any(|result| result["level"] == level),
            "a {level} result is among those validated"
        );
    }
}

#[test]
fn sarif_results_without_a_file_are_counted_in_a_warning_as_code_scanning_refuses_them() {
    let (output, log) = everything();
    let without_file = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|result| result["locations"][0].get("physicalLocation").is_none())
        .count();
    assert!(without_file > 0, "the Helm stream's results have no file");
    assert!(
        stderr(&output).contains(&format!(
            "warning: {without_file} SARIF result(s) have no file to point into"
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_schema_check_rejects_a_log_sarif_does_not_allow() {
    let (_, mut log) = everything();
    log["runs"][0]["results"][0]["level"] = Value::from("fatal");
    log["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    let errors = schema_errors(&log);
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

#[test]
fn sarif_has_one_rule_per_gap_code_and_results_at_the_file_and_line_of_their_object() {
    let (_, log) = everything();
    let run = &log["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| rule["id"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = GapCode::ALL.iter().map(|code| code.as_str()).collect();
    expected.push("defined-twice");
    assert_eq!(rules, expected);
    let results = run["results"].as_array().unwrap();
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(result["ruleId"], rules[index], "{result:#}");
    }
    let data_platform = results
        .iter()
        .find(|result| {
            result["ruleId"] == "rpo-exceeds-target"
                && result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                    == "Namespace/data-platform"
        })
        .unwrap();
    let physical = &data_platform["locations"][0]["physicalLocation"];
    assert_eq!(
        physical["artifactLocation"]["uri"],
        "fixtures/platform/cluster/data-platform.yaml"
    );
    assert_eq!(physical["region"]["startLine"], 2);
    let related = &data_platform["relatedLocations"][0];
    assert_eq!(
        related["physicalLocation"]["artifactLocation"]["uri"],
        "fixtures/platform/velero/schedules.yaml",
        "the schedule the gap is about"
    );
    assert_eq!(related["message"]["text"], "schedule critical-backup");

    let twice = results
        .iter()
        .find(|result| result["ruleId"] == "defined-twice")
        .unwrap();
    assert_eq!(twice["level"], "warning");
    assert_eq!(
        twice["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "fixtures/workload-controllers/schedule-defined-twice/deploy-velero.yaml"
    );
}

#[test]
fn a_finding_from_standard_input_has_no_file_to_point_into_and_says_where_it_came_from() {
    let (_, log) = everything();
    let result = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| {
            result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                == "PersistentVolumeClaim/team-shop/data-shop-db-0"
        })
        .unwrap();
    assert!(
        result["locations"][0].get("physicalLocation").is_none(),
        "{result:#}"
    );
    let text = result["message"]["text"].as_str().unwrap();
    assert!(
        text.contains("<stdin> (document 4, line 43, rendered from shop/templates/db.yaml)"),
        "{text}"
    );
}

#[test]
fn github_output_annotates_each_finding_at_its_file_and_line() {
    let output = audit(&[
        "--policy",
        POLICY,
        "--manifests",
        "fixtures/platform",
        "--manifests",
        &fixture("postgres-statefulset-without-hook.yaml"),
        "--output",
        "github",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines {
        let (command, message) = line
            .strip_prefix("::")
            .and_then(|rest| rest.split_once("::"))
            .unwrap_or_else(|| panic!("a workflow command: {line}"));
        let (level, properties) = command.split_once(' ').unwrap_or((command, ""));
        assert!(["error", "warning", "notice"].contains(&level), "{line}");
        for property in properties.split(',').filter(|p| !p.is_empty()) {
            let (key, value) = property.split_once('=').unwrap();
            assert!(["file", "line", "title"].contains(&key), "{line}");
            assert!(!value.contains(':'), "escaped: {line}");
        }
        assert!(!message.is_empty(), "{line}");
    }
    assert!(
        lines.iter().any(|line| line.starts_with(
            "::error file=fixtures/platform/cluster/data-platform.yaml,line=9,title=volume-not-backed-up::PersistentVolumeClaim data-platform/data-postgres-0 is in schedules daily-backup, critical-backup, weekly-full-backup but its volume data is not: "
        )),
        "{text}"
    );
    let hook = lines
        .iter()
        .find(|line| line.contains("title=no-consistency-hook"))
        .unwrap();
    assert!(
        hook.starts_with(
            "::warning file=fixtures/workload-controllers/postgres-statefulset-without-hook.yaml,line=34,"
        ),
        "at the StatefulSet whose pod runs the database: {hook}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("::notice title=backstop audit::")
    );
}
