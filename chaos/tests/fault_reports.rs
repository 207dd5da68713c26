//! The `fault` section of `result.json` (`fixtures/chaos/faults/fault-report-*.json`): it
//! round-trips through the file, and every rendering shows it.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use backstop_chaos::fault::report::FaultReport;
use backstop_chaos::report::{Format, render};
use backstop_chaos::result::{self, RunResult};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/chaos")
}

fn fault_report(name: &str) -> FaultReport {
    let path = fixtures().join(format!("faults/fault-report-{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A stored result (`fixtures/chaos/results/<base>.json`) with the fault section `name`.
fn with_fault(base: &str, name: &str) -> RunResult {
    let mut r = result::load(&fixtures().join(format!("results/{base}.json"))).unwrap();
    r.fault = Some(fault_report(name));
    r
}

#[test]
fn every_fault_section_round_trips_through_result_json() {
    for name in [
        "node-loss",
        "cluster-loss",
        "delete-newest-backup",
        "corrupt-repository",
    ] {
        let r = with_fault("pass-with-torn-tail", name);
        let text = serde_json::to_string_pretty(&r).unwrap();
        let back = result::parse(Path::new("result.json"), &text).unwrap();
        assert_eq!(back, r, "{name}");
        assert!(!r.fault.as_ref().unwrap().lines().is_empty(), "{name}");
    }
}

#[test]
fn a_result_without_a_cluster_level_fault_has_no_fault_section() {
    let r = result::load(&fixtures().join("results/pass-with-torn-tail.json")).unwrap();
    assert_eq!(r.fault, None);
    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert!(json.get("fault").is_none());
}

#[test]
fn the_markdown_of_a_fallback_says_which_backup_was_lost_how_and_what_was_restored() {
    let text = render(
        &with_fault("pass-with-torn-tail", "delete-newest-backup"),
        Format::Markdown,
    );
    let section = text.split("### Fault\n\n").nth(1).unwrap();
    let section = section.split("\n\n").next().unwrap();
    insta::assert_snapshot!(section);
}

#[test]
fn the_corruption_finding_is_in_every_rendering() {
    let r = with_fault("partially-failed-restore", "corrupt-repository");
    let reason = "the restore from the corrupted repository ended PartiallyFailed: pod volume \
                  restore failed: error to restore: unable to read content 3f1c2a9d: invalid checksum";
    assert!(render(&r, Format::Markdown).contains(reason));
    assert!(render(&r, Format::Html).contains(&format!("<li>{reason}</li>")));
    let junit = render(&r, Format::Junit);
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let system_out = doc
        .descendants()
        .rfind(|n| n.has_tag_name("system-out"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        system_out.contains(&format!("fault: {reason}")),
        "{system_out}"
    );
    assert!(
        system_out.contains("fault: overwrote 1 kopia data object(s) under kopia/backstop-chaos/"),
        "{system_out}"
    );
}

#[test]
fn the_node_loss_section_names_the_dead_node_what_was_removed_and_where_it_came_back() {
    let lines = fault_report("node-loss").lines();
    assert_eq!(
        lines,
        [
            "node backstop-node-loss-0000002a-worker (container backstop-node-loss-0000002a-worker) \
             stopped; the API server showed it dead: Ready=Unknown (NodeStatusUnknown: Kubelet \
             stopped posting node status.)",
            "removed what the dead node held: pod backstop-chaos/ledger-0 (grace period 0), claim \
             backstop-chaos/data-ledger-0, volume pvc-7d3f0c2e-5b1a-4e9f-9c8d-1a2b3c4d5e6f",
            "the restored pod runs on backstop-node-loss-0000002a-worker2",
        ]
    );
}
