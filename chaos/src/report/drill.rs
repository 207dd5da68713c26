//! Renderings of a drill's `result.json`: the same three formats and the same checks and
//! steps tables as a run's, with the drill's own sections (backup chosen and skipped, service
//! checks, restored against the backup, cleanup) in place of the ledger and RTO/RPO.

use std::fmt::Write as _;

use super::html::{
    CSS, checks_table as checks_table_html, phases_table as phases_table_html, timeline_svg,
};
use super::junit::{Suite, escape, suite};
use super::markdown::{
    cell, checks_table as checks_table_md, code, phases_table as phases_table_md,
};
use super::{ms, verdict_word, versions_line};
use crate::drill::result::DrillResult;
use crate::verdict::Verdict;

/// One section of plain sentences, escaped by each renderer its own way.
struct Section {
    title: &'static str,
    items: Vec<String>,
}

fn headline(r: &DrillResult) -> String {
    let d = &r.drill;
    let backup = d
        .backup
        .as_ref()
        .map_or_else(|| "no backup".to_owned(), |b| format!("backup {}", b.name));
    format!(
        "{backup} of schedule {} · {} → {}{} · {} · timeout {} · drill length {}",
        d.schedule,
        d.source_namespace,
        d.restore_namespace,
        if d.in_place { " (in place)" } else { "" },
        if d.restore_pvs {
            "with volumes"
        } else {
            "without volumes"
        },
        ms(d.timeout_ms),
        ms(length_ms(r))
    )
}

fn length_ms(r: &DrillResult) -> u64 {
    r.phases.last().map_or(0, |p| {
        p.ended.mono_nanos.saturating_sub(r.started.mono_nanos) / 1_000_000
    })
}

fn sections(r: &DrillResult) -> Vec<Section> {
    let d = &r.drill;
    let mut out = Vec::new();
    let mut backups = Vec::new();
    if let Some(b) = &d.backup {
        backups.push(format!(
            "restored: {} ({}, started {}, {} warning(s))",
            b.name,
            b.phase,
            b.started.map_or_else(
                || "never".to_owned(),
                |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
            ),
            b.warnings
        ));
    }
    for b in &d.skipped_backups {
        backups.push(format!(
            "skipped: {} ({}, {} warning(s), {} error(s))",
            b.name, b.phase, b.warnings, b.errors
        ));
    }
    if backups.is_empty() {
        backups.push(format!("schedule {} has no backups", d.schedule));
    }
    out.push(Section {
        title: "Backups",
        items: backups,
    });
    if !d.checks_requested.is_empty() {
        let mut items: Vec<String> = d
            .service_checks
            .iter()
            .map(|c| {
                format!(
                    "{} {} at {} UTC via {}{}",
                    if c.passed() { "✅" } else { "❌" },
                    c.target,
                    c.at.wall.format("%Y-%m-%d %H:%M:%S"),
                    c.proxy_path,
                    match c.status {
                        Some(s) => format!(": HTTP {s}, {}", c.detail),
                        None => format!(": no answer, {}", c.detail),
                    }
                )
            })
            .collect();
        for t in d.checks_requested.iter().skip(d.service_checks.len()) {
            items.push(format!("❌ {t}: not run"));
        }
        out.push(Section {
            title: "Service checks",
            items,
        });
    }
    if d.wait {
        let items = match &d.comparison {
            None => vec![format!(
                "not compared: {}",
                d.why_not_compared.as_deref().unwrap_or("unknown reason")
            )],
            Some(c) => {
                let mut items = vec![format!(
                    "compared {} item(s), {} claim(s), {} pod volume(s): {} difference(s)",
                    c.items_compared,
                    c.pvcs_compared,
                    c.pod_volumes_compared,
                    c.differences.len()
                )];
                items.extend(c.differences.iter().map(|x| x.describe()));
                items.extend(c.passed_over.iter().flat_map(|(resource, names)| {
                    names.iter().map(move |name| {
                        format!(
                            "{resource} {name}: not restored, as Velero never restores a Pod or \
                             Job that had completed"
                        )
                    })
                }));
                items.extend(c.not_listed.iter().map(|(resource, why)| {
                    format!("{resource}: not compared, the drill may not list it ({why})")
                }));
                items
            }
        };
        out.push(Section {
            title: "Restored against the backup",
            items,
        });
    }
    let mut restore = Vec::new();
    match &r.restore {
        None => restore.push("No Restore was created.".to_owned()),
        Some(x) => {
            restore.push(format!(
                "Restore {} from backup {}: {}, {} warning(s), {} error(s)",
                x.name,
                x.backup,
                x.phase.name(),
                x.warnings.len(),
                x.errors.len()
            ));
            restore.extend(x.errors.iter().map(|e| format!("error: {e}")));
            restore.extend(x.warnings.iter().map(|w| format!("warning: {w}")));
        }
    }
    out.push(Section {
        title: "Restore",
        items: restore,
    });
    if d.cleanup_requested {
        out.push(Section {
            title: "Cleanup",
            items: vec![match &d.cleanup {
                None => "did not run".to_owned(),
                Some(c) => format!(
                    "{} UTC: {}",
                    c.at.wall.format("%Y-%m-%d %H:%M:%S"),
                    c.detail
                ),
            }],
        });
    }
    out
}

fn footer(r: &DrillResult) -> String {
    format!(
        "{} · started {}",
        versions_line(&r.versions),
        r.started.wall.to_rfc3339()
    )
}

pub(super) fn markdown(r: &DrillResult) -> String {
    let mut out = String::new();
    let mark = if r.verdict == Verdict::Pass {
        "✅"
    } else {
        "❌"
    };
    let _ = writeln!(
        out,
        "## {mark} Restore drill `{}` → `{}`: {}\n",
        code(&r.drill.schedule),
        code(&r.drill.restore_namespace),
        verdict_word(r.verdict)
    );
    let _ = writeln!(out, "{}\n", cell(&headline(r)));
    out.push_str(&checks_table_md(&r.checks));
    out.push('\n');
    out.push_str(&phases_table_md("Steps", "step", &r.phases));
    for s in sections(r) {
        let _ = writeln!(out, "\n### {}\n", s.title);
        for item in s.items {
            let _ = writeln!(out, "- {}", cell(&item));
        }
    }
    let _ = writeln!(out, "\n<sub>{}</sub>", cell(&footer(r)));
    out
}

pub(super) fn junit(r: &DrillResult) -> String {
    let d = &r.drill;
    let properties = [
        ("kind", "drill".to_owned()),
        ("schedule", d.schedule.clone()),
        (
            "backup",
            d.backup
                .as_ref()
                .map_or_else(String::new, |b| b.name.clone()),
        ),
        ("namespace", d.source_namespace.clone()),
        ("restoreNamespace", d.restore_namespace.clone()),
        ("kubernetes", r.versions.kubernetes.clone()),
        ("velero", r.versions.velero.clone()),
        ("backstop", r.versions.backstop.clone()),
        ("verdict", r.verdict.to_string()),
    ];
    suite(&Suite {
        name: &format!("backstop-chaos.drill.{}", d.schedule),
        checks: &r.checks,
        started: r.started.wall,
        length_ms: length_ms(r),
        properties: &properties,
        footer: &footer(r),
    })
}

pub(super) fn html(r: &DrillResult) -> String {
    let class = if r.verdict == Verdict::Pass {
        "pass"
    } else {
        "fail"
    };
    let title = format!(
        "Restore drill {} → {}: {}",
        r.drill.schedule,
        r.drill.restore_namespace,
        verdict_word(r.verdict)
    );
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = writeln!(
        out,
        "<h1>Restore drill <code>{}</code> → <code>{}</code> <span class=\"badge {class}\">{}</span></h1>",
        escape(&r.drill.schedule),
        escape(&r.drill.restore_namespace),
        verdict_word(r.verdict)
    );
    let _ = writeln!(out, "<p>{}</p>", escape(&headline(r)));
    out.push_str("<h2>Timeline</h2>\n");
    out.push_str(&timeline_svg(&r.started, &r.phases, ""));
    out.push_str(&checks_table_html(&r.checks));
    out.push_str(&phases_table_html("Steps", "step", &r.phases));
    for s in sections(r) {
        let _ = writeln!(out, "<h2>{}</h2>\n<ul>", s.title);
        for item in s.items {
            let _ = writeln!(out, "<li>{}</li>", escape(&item));
        }
        out.push_str("</ul>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"muted\">{}</p>\n</body>\n</html>",
        escape(&footer(r))
    );
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{Format, render_drill};
    use crate::drill::result;

    fn fixture(name: &str) -> result::DrillResult {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../fixtures/chaos/drill/results/{name}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        result::parse(&path, &text).unwrap()
    }

    #[test]
    fn markdown_for_a_passing_drill_renders_as_committed() {
        insta::assert_snapshot!(render_drill(&fixture("pass"), Format::Markdown));
    }

    #[test]
    fn markdown_for_a_drill_whose_pods_never_got_ready_renders_as_committed() {
        insta::assert_snapshot!(render_drill(&fixture("pods-never-ready"), Format::Markdown));
    }

    #[test]
    fn junit_for_a_partially_failed_restore_drill_has_one_failure_per_failed_check() {
        let xml = render_drill(&fixture("restore-partially-failed"), Format::Junit);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let failures: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .filter_map(|n| n.attribute("type"))
            .collect();
        assert_eq!(failures, ["restore-completed", "restored-matches-backup"]);
        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .unwrap();
        assert_eq!(suite.attribute("tests"), Some("6"));
        assert_eq!(suite.attribute("failures"), Some("2"));
    }

    #[test]
    fn html_for_a_drill_with_no_completed_backup_says_so_and_escapes() {
        let html = render_drill(&fixture("no-completed-backup"), Format::Html);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<span class=\"badge fail\">FAIL</span>"));
        assert!(html.contains("no Completed backup of schedule daily"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn html_for_a_passing_drill_draws_its_steps_on_a_timeline_without_a_fault() {
        let html = render_drill(&fixture("pass"), Format::Html);
        let svg = &html[html.find("<svg id=\"timeline\"").unwrap()..];
        let svg = &svg[..svg.find("</svg>").unwrap()];
        // One bar per step, and no fault line or RTO band: a drill breaks nothing.
        assert_eq!(svg.matches("<rect class=\"phase\"").count(), 6);
        for step in ["backups", "restore-complete", "pods-ready", "teardown"] {
            assert!(svg.contains(&format!(">{step}</text>")), "{step}");
        }
        assert!(!svg.contains("fault") && !svg.contains("RTO"), "{svg}");
        assert!(html.contains("<h2>Steps</h2>"));
        assert!(html.contains("compact-29001-x7k2p: not restored"));
    }
}
