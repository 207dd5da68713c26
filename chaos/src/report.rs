//! Renderings of a `result.json` for people and CI: Markdown (a CI step summary),
//! JUnit XML (one test case per check) and one self-contained HTML page.

mod drill;
mod html;
mod junit;
mod markdown;

use std::time::Duration;

use clap::ValueEnum;

use policy::duration::format_elapsed;

use crate::drill::result::DrillResult;
use crate::result::{RunResult, Versions};
use crate::verdict::{CheckName, Verdict, describe};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Markdown,
    Junit,
    Html,
}

/// Renders a result in the given format.
pub fn render(result: &RunResult, format: Format) -> String {
    match format {
        Format::Markdown => markdown::render(result),
        Format::Junit => junit::render(result),
        Format::Html => html::render(result),
    }
}

/// Renders a drill's result in the given format.
pub fn render_drill(result: &DrillResult, format: Format) -> String {
    match format {
        Format::Markdown => drill::markdown(result),
        Format::Junit => drill::junit(result),
        Format::Html => drill::html(result),
    }
}

/// `PASS` or `FAIL`.
fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
    }
}

/// Whether the result's own check `name` passed: the one judgement every renderer shows.
fn passed(r: &RunResult, name: CheckName) -> bool {
    r.checks
        .iter()
        .any(|check| check.name == name && check.passed)
}

fn ms(ms: u64) -> String {
    format_elapsed(Duration::from_millis(ms))
}

/// The achieved RTO, or why there is none.
fn rto_text(r: &RunResult) -> String {
    r.rto
        .map_or_else(|| "not measured".to_owned(), |x| ms(x.ms))
}

/// The achieved RPO, or why there is none.
fn rpo_text(r: &RunResult) -> String {
    r.rpo.ms.map_or_else(|| "not measured".to_owned(), ms)
}

/// Total monotonic length of the run so far.
fn run_length_ms(r: &RunResult) -> u64 {
    r.phases.last().map_or(0, |p| {
        p.ended.mono_nanos.saturating_sub(r.started.mono_nanos) / 1_000_000
    })
}

/// The ledger findings, one plain sentence per list item (unescaped: each
/// renderer escapes and marks them up its own way).
fn ledger_items(r: &RunResult) -> Vec<String> {
    let l = &r.ledger;
    let seq = |s: Option<u64>| s.map_or_else(|| "none".to_owned(), |s| format!("seq {s}"));
    let mut items = vec![
        format!(
            "newest write seen acknowledged before the fault: {}",
            seq(l.acknowledged_before_fault)
        ),
        format!(
            "restored: {} intact record(s), {} chain-valid, newest valid {}",
            l.restored_records,
            l.chain_valid_records,
            seq(l.newest_valid_seq)
        ),
        format!("acknowledged writes lost: {}", l.lost_acknowledged_writes),
        format!(
            "restored records never seen acknowledged: {}",
            l.present_never_acknowledged
        ),
    ];
    if let Some(t) = l.torn_tail {
        items.push(format!(
            "torn write at the end: seq {} ({} bytes, not counted)",
            t.seq, t.bytes
        ));
    }
    if !l.duplicates.is_empty() {
        items.push(format!("duplicated records: {}", l.duplicates.len()));
    }
    for p in &l.problems {
        items.push(format!("chain problem: {}", describe(p)));
    }
    items
}

/// One-line "versions" summary.
fn versions_line(v: &Versions) -> String {
    format!(
        "Kubernetes {} · kind {} · Velero {} · Backstop {}",
        v.kubernetes, v.kind, v.velero, v.backstop
    )
}

#[cfg(test)]
mod tests;
