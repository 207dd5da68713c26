//! One self-contained HTML page: inline CSS and SVG, no script, no external asset,
//! readable offline. An SVG phase timeline and RTO/RPO drawn against the targets.

use std::fmt::Write as _;

use super::junit::escape;
use super::{
    ledger_items, ms, passed, rpo_text, rto_text, run_length_ms, verdict_word, versions_line,
};
use crate::clock::Stamp;
use crate::result::RunResult;
use crate::timeline::{Phase, PhaseSpan};
use crate::verdict::{Check, CheckName, Verdict};

pub(super) const CSS: &str = "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:960px;color:#1f2328;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:.4rem;color:#fff;font-weight:600}
.pass{background:#1a7f37}.fail{background:#cf222e}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.muted{color:#59636e;font-size:.9rem}
svg text{font-family:system-ui,sans-serif;font-size:12px;fill:#1f2328}svg text.alert{fill:#cf222e}";

const LABEL_W: f64 = 130.0;
const CHART_W: f64 = 700.0;
const ROW_H: f64 = 24.0;

pub(super) fn render(r: &RunResult) -> String {
    let class = if r.verdict == Verdict::Pass {
        "pass"
    } else {
        "fail"
    };
    let title = format!("Chaos run {}: {}", r.scenario.name, verdict_word(r.verdict));
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = writeln!(
        out,
        "<h1>Chaos run <code>{}</code> <span class=\"badge {class}\">{}</span></h1>",
        escape(&r.scenario.name),
        verdict_word(r.verdict)
    );
    let _ = writeln!(
        out,
        "<p>{} on <code>{}</code> after {} · seed {} · run length {}</p>",
        r.scenario.fault,
        escape(&r.scenario.fault_target),
        r.scenario.fault_after,
        r.seed,
        ms(run_length_ms(r))
    );

    out.push_str("<h2>RTO and RPO against the targets</h2>\n<p class=\"muted\">Each bar is drawn to the scale of its own target (dashed line).</p>\n");
    out.push_str(&targets_svg(r));

    out.push_str("<h2>Timeline</h2>\n");
    out.push_str(&timeline_svg(&r.started, &r.phases, &rto_text(r)));

    out.push_str(&checks_table(&r.checks));
    out.push_str(&phases_table("Phases", "phase", &r.phases));

    out.push_str("<h2>Ledger</h2>\n<ul>\n");
    for item in ledger_items(r) {
        let _ = writeln!(out, "<li>{}</li>", escape(&item));
    }
    out.push_str("</ul>\n");

    out.push_str("<h2>Restore</h2>\n");
    match &r.restore {
        None => out.push_str("<p>No Restore was created.</p>\n"),
        Some(x) => {
            let _ = writeln!(
                out,
                "<p>Restore <code>{}</code> from backup <code>{}</code>: <strong>{}</strong>, {} warning(s), {} error(s)</p>",
                escape(&x.name),
                escape(&x.backup),
                x.phase.name(),
                x.warnings.len(),
                x.errors.len()
            );
            if !x.errors.is_empty() || !x.warnings.is_empty() {
                out.push_str("<ul>\n");
                for e in &x.errors {
                    let _ = writeln!(out, "<li>error: {}</li>", escape(e));
                }
                for w in &x.warnings {
                    let _ = writeln!(out, "<li>warning: {}</li>", escape(w));
                }
                out.push_str("</ul>\n");
            }
        }
    }

    if let Some(fault) = &r.fault {
        out.push_str("<h2>Fault</h2>\n<ul>\n");
        for line in fault.lines() {
            let _ = writeln!(out, "<li>{}</li>", escape(&line));
        }
        out.push_str("</ul>\n");
    }

    if !r.clock_steps.is_empty() {
        out.push_str("<h2>Clock</h2>\n<ul>\n");
        for s in &r.clock_steps {
            let sign = if s.step_ms < 0 { "-" } else { "+" };
            let _ = writeln!(
                out,
                "<li>the wall clock stepped {sign}{} between {} and {}; RTO and RPO use the monotonic clock</li>",
                ms(s.step_ms.unsigned_abs()),
                escape(&s.after),
                escape(&s.before)
            );
        }
        out.push_str("</ul>\n");
    }

    let _ = writeln!(
        out,
        "<p class=\"muted\">{} · scenario {} · started {}</p>\n</body>\n</html>",
        escape(&versions_line(&r.versions)),
        escape(&r.scenario.file),
        r.started.wall.to_rfc3339()
    );
    out
}

/// The checks as a table under `<h2>Checks</h2>`: a run's and a drill's alike.
pub(super) fn checks_table(checks: &[Check]) -> String {
    let mut out = String::from(
        "<h2>Checks</h2>\n<table>\n<tr><th>check</th><th>result</th><th>evidence</th></tr>\n",
    );
    for c in checks {
        let (cls, word) = if c.passed {
            ("pass", "pass")
        } else {
            ("fail", "fail")
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><span class=\"badge {cls}\">{word}</span></td><td>{}</td></tr>",
            c.name,
            escape(&c.evidence)
        );
    }
    out.push_str("</table>\n");
    out
}

/// The phases, each with when it completed and how long it took, under `<h2>{heading}</h2>` (a
/// run calls them phases, a drill steps).
pub(super) fn phases_table(heading: &str, column: &str, phases: &[PhaseSpan]) -> String {
    let mut out = format!(
        "<h2>{heading}</h2>\n<table>\n<tr><th>{column}</th><th>completed at (UTC)</th><th>duration</th></tr>\n"
    );
    for p in phases {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.phase,
            p.ended.wall.format("%Y-%m-%d %H:%M:%S"),
            ms(p.duration_ms)
        );
    }
    out.push_str("</table>\n");
    out
}

/// A Gantt-like chart: one row per phase, the fault as a line, recovery (labelled with the
/// RTO, `rto`) shaded when there was a fault. A drill has none: its steps alone.
pub(super) fn timeline_svg(started: &Stamp, phases: &[PhaseSpan], rto: &str) -> String {
    let total = phases.last().map_or(0, |p| {
        p.ended.mono_nanos.saturating_sub(started.mono_nanos) / 1_000_000
    });
    let total = total.max(1) as f64;
    let x_of = |mono_nanos: u64| {
        let ms = mono_nanos.saturating_sub(started.mono_nanos) as f64 / 1e6;
        LABEL_W + CHART_W * ms / total
    };
    let rows = phases.len() as f64;
    let height = ROW_H * rows + 40.0;
    let width = LABEL_W + CHART_W + 70.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"phase timeline\">"
    );
    let fault = phases.iter().find(|p| p.phase == Phase::Fault);
    let verified = phases.iter().find(|p| p.phase == Phase::DataVerified);
    if let (Some(f), Some(v)) = (fault, verified) {
        let (x0, x1) = (x_of(f.ended.mono_nanos), x_of(v.ended.mono_nanos));
        let _ = writeln!(
            svg,
            "<rect x=\"{x0:.1}\" y=\"0\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#fff1e5\"><title>RTO {}</title></rect>",
            (x1 - x0).max(1.0),
            ROW_H * rows,
            rto
        );
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">RTO {}</text>",
            (x0 + x1) / 2.0,
            ROW_H * rows + 16.0,
            rto
        );
    }
    for (i, p) in phases.iter().enumerate() {
        let y = ROW_H * i as f64;
        let x0 = x_of(p.started.mono_nanos);
        let w = (x_of(p.ended.mono_nanos) - x0).max(1.5);
        let fill = if p.phase.is_recovery() {
            "#bc4c00"
        } else if p.phase == Phase::Fault {
            "#8c959f"
        } else {
            "#0969da"
        };
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LABEL_W - 8.0,
            y + 16.0,
            p.phase
        );
        let _ = writeln!(
            svg,
            "<rect class=\"phase\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{}: {}</title></rect>",
            y + 5.0,
            ROW_H - 10.0,
            p.phase,
            ms(p.duration_ms)
        );
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x0 + w + 4.0,
            y + 16.0,
            ms(p.duration_ms)
        );
    }
    if let Some(f) = fault {
        let x = x_of(f.ended.mono_nanos);
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#cf222e\" stroke-width=\"2\"/>\n<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"alert\">fault</text>",
            ROW_H * rows,
            ROW_H * rows + 32.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Two bars, achieved RTO and RPO, each against a dashed line at its target.
fn targets_svg(r: &RunResult) -> String {
    let rows = [
        (
            "RTO",
            r.rto.map(|x| x.ms),
            r.targets.rto_ms,
            rto_text(r),
            passed(r, CheckName::RtoWithinTarget),
        ),
        (
            "RPO",
            r.rpo.ms,
            r.targets.rpo_ms,
            rpo_text(r),
            passed(r, CheckName::RpoWithinTarget),
        ),
    ];
    let height = ROW_H * 2.0 * rows.len() as f64 + 10.0;
    let width = LABEL_W + CHART_W + 70.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg id=\"targets\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"RTO and RPO against targets\">"
    );
    for (i, (name, achieved, target, text, ok)) in rows.iter().enumerate() {
        let y = ROW_H * 2.0 * i as f64 + 5.0;
        let scale = (achieved.unwrap_or(0).max(*target) as f64 * 1.1).max(1.0);
        let x_of = |v: u64| LABEL_W + CHART_W * v as f64 / scale;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{name}</text>",
            LABEL_W - 8.0,
            y + 18.0
        );
        match achieved {
            Some(v) => {
                let fill = if *ok { "#1a7f37" } else { "#cf222e" };
                let _ = writeln!(
                    svg,
                    "<rect x=\"{LABEL_W:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{name} {text}</title></rect>\n<text x=\"{:.1}\" y=\"{:.1}\">{text}</text>",
                    (x_of(*v) - LABEL_W).max(1.5),
                    ROW_H,
                    x_of(*v).max(LABEL_W) + 4.0,
                    y + 17.0
                );
            }
            None => {
                let _ = writeln!(
                    svg,
                    "<text x=\"{:.1}\" y=\"{:.1}\" class=\"alert\">not measured</text>",
                    LABEL_W + 4.0,
                    y + 17.0
                );
            }
        }
        let tx = x_of(*target);
        let _ = writeln!(
            svg,
            "<line x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"#1f2328\" stroke-dasharray=\"4 3\"/>\n<text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"target\">target {}</text>",
            y - 3.0,
            y + ROW_H + 3.0,
            y + ROW_H + 16.0,
            ms(*target)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
