//! Markdown for a CI step summary (GitHub-flavoured tables, no HTML needed).

use std::fmt::Write as _;

use super::{
    ledger_items, ms, passed, rpo_text, rto_text, run_length_ms, verdict_word, versions_line,
};
use crate::result::RunResult;
use crate::timeline::PhaseSpan;
use crate::verdict::{Check, CheckName, Verdict};

pub(super) fn render(r: &RunResult) -> String {
    let mut out = String::new();
    let mark = if r.verdict == Verdict::Pass {
        "✅"
    } else {
        "❌"
    };
    let _ = writeln!(
        out,
        "## {mark} Chaos run `{}`: {}\n",
        code(&r.scenario.name),
        verdict_word(r.verdict)
    );
    let _ = writeln!(
        out,
        "{} on `{}` after {} · seed {} · run length {}\n",
        r.scenario.fault,
        code(&r.scenario.fault_target),
        r.scenario.fault_after,
        r.seed,
        ms(run_length_ms(r))
    );

    out.push_str("| | achieved | target | |\n|---|---|---|---|\n");
    let rto_ok = passed(r, CheckName::RtoWithinTarget);
    let rpo_ok = passed(r, CheckName::RpoWithinTarget);
    let _ = writeln!(
        out,
        "| RTO | {} | {} | {} |",
        rto_text(r),
        ms(r.targets.rto_ms),
        tick(rto_ok)
    );
    let _ = writeln!(
        out,
        "| RPO | {} | {} | {} |\n",
        rpo_text(r),
        ms(r.targets.rpo_ms),
        tick(rpo_ok)
    );

    out.push_str(&checks_table(&r.checks));
    out.push('\n');
    out.push_str(&phases_table("Phases", "phase", &r.phases));

    out.push_str("\n### Ledger\n\n");
    for item in ledger_items(r) {
        let _ = writeln!(out, "- {}", cell(&item));
    }

    out.push_str("\n### Restore\n\n");
    match &r.restore {
        None => out.push_str("No Restore was created.\n"),
        Some(x) => {
            let _ = writeln!(
                out,
                "Restore `{}` from backup `{}`: **{}**, {} warning(s), {} error(s)",
                code(&x.name),
                code(&x.backup),
                x.phase.name(),
                x.warnings.len(),
                x.errors.len()
            );
            for e in &x.errors {
                let _ = writeln!(out, "- error: {}", cell(e));
            }
            for w in &x.warnings {
                let _ = writeln!(out, "- warning: {}", cell(w));
            }
        }
    }

    if let Some(fault) = &r.fault {
        out.push_str("\n### Fault\n\n");
        for line in fault.lines() {
            let _ = writeln!(out, "- {}", cell(&line));
        }
    }

    if !r.clock_steps.is_empty() {
        out.push_str("\n### Clock\n\n");
        for s in &r.clock_steps {
            let sign = if s.step_ms < 0 { "-" } else { "+" };
            let _ = writeln!(
                out,
                "- ⚠️ the wall clock stepped {sign}{} between {} and {}; RTO and RPO use the monotonic clock",
                ms(s.step_ms.unsigned_abs()),
                s.after,
                s.before
            );
        }
    }

    let _ = writeln!(
        out,
        "\n<sub>{} · scenario {} · started {}</sub>",
        versions_line(&r.versions),
        cell(&r.scenario.file),
        r.started.wall.to_rfc3339()
    );
    out
}

/// The checks as a table under `### Checks`: a run's and a drill's alike.
pub(super) fn checks_table(checks: &[Check]) -> String {
    let mut out = String::from("### Checks\n\n| check | result | evidence |\n|---|---|---|\n");
    for c in checks {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            c.name,
            if c.passed { "✅ pass" } else { "❌ fail" },
            cell(&c.evidence)
        );
    }
    out
}

/// The phases, each with when it completed and how long it took, under `### {heading}` (a run
/// calls them phases, a drill steps).
pub(super) fn phases_table(heading: &str, column: &str, phases: &[PhaseSpan]) -> String {
    let mut out =
        format!("### {heading}\n\n| {column} | completed at (UTC) | duration |\n|---|---|---|\n");
    for p in phases {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            p.phase,
            p.ended.wall.format("%Y-%m-%d %H:%M:%S"),
            ms(p.duration_ms)
        );
    }
    out
}

fn tick(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

/// Text safe inside a table cell: no pipes, no newlines, no HTML.
pub(super) fn cell(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Text safe inside a code span.
pub(super) fn code(text: &str) -> String {
    text.replace('`', "'").replace(['\r', '\n'], " ")
}
