use std::path::{Path, PathBuf};

use super::*;
use crate::result;

const RESULTS: [&str; 5] = [
    "pass-with-torn-tail",
    "partially-failed-restore",
    "corrupted-chain",
    "wall-clock-step",
    "no-surviving-record",
];

fn path_of(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/chaos/results/{name}.json"))
}

fn fixture(name: &str) -> RunResult {
    result::load(&path_of(name)).unwrap()
}

#[test]
fn markdown_for_a_passing_run_renders_as_committed() {
    insta::assert_snapshot!(render(&fixture("pass-with-torn-tail"), Format::Markdown));
}

#[test]
fn markdown_for_a_partially_failed_restore_renders_as_committed() {
    insta::assert_snapshot!(render(
        &fixture("partially-failed-restore"),
        Format::Markdown
    ));
}

#[test]
fn markdown_for_a_run_with_clock_steps_renders_as_committed() {
    insta::assert_snapshot!(render(&fixture("wall-clock-step"), Format::Markdown));
}

#[test]
fn junit_for_a_partially_failed_restore_renders_as_committed() {
    insta::assert_snapshot!(render(&fixture("partially-failed-restore"), Format::Junit));
}

#[test]
fn html_for_a_run_with_no_surviving_record_renders_as_committed() {
    insta::assert_snapshot!(render(&fixture("no-surviving-record"), Format::Html));
}

#[test]
fn junit_parses_as_xml_with_one_test_case_per_check() {
    for name in RESULTS {
        let r = fixture(name);
        let xml = render(&r, Format::Junit);
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let cases: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(cases.len(), r.checks.len(), "{name}");
        for (case, check) in cases.iter().zip(&r.checks) {
            assert_eq!(case.attribute("name"), Some(check.name.name()), "{name}");
            let failure = case.children().find(|n| n.has_tag_name("failure"));
            assert_eq!(failure.is_none(), check.passed, "{name}: {}", check.name);
            if let Some(f) = failure {
                assert_eq!(f.attribute("message"), Some(check.evidence.as_str()));
                assert_eq!(f.text(), Some(check.evidence.as_str()));
            }
        }
        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .unwrap();
        let failed = r.checks.iter().filter(|c| !c.passed).count().to_string();
        assert_eq!(suite.attribute("failures"), Some(failed.as_str()), "{name}");
    }
}

#[test]
fn junit_escapes_markup_and_drops_characters_xml_cannot_carry() {
    let mut r = fixture("partially-failed-restore");
    let nasty = "a <b> & \"c\" 'd' ]]> \u{1b}[31m\u{0} \u{FFFF}";
    if let Some(restore) = r.restore.as_mut() {
        restore.errors = vec![nasty.into()];
    }
    r.checks = r.recheck();
    let xml = render(&r, Format::Junit);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    let text = failure.text().unwrap();
    assert!(
        text.ends_with("first error: a <b> & \"c\" 'd' ]]> \u{FFFD}[31m\u{FFFD} \u{FFFD}"),
        "{text}"
    );
}

#[test]
fn html_is_self_contained_with_an_svg_timeline_of_every_phase() {
    for name in RESULTS {
        let r = fixture(name);
        let html = render(&r, Format::Html);
        let svg_start = html.find("<svg id=\"timeline\"").expect("timeline svg");
        let svg_end = svg_start + html[svg_start..].find("</svg>").expect("svg end");
        let svg = &html[svg_start..svg_end];
        assert_eq!(
            svg.matches("class=\"phase\"").count(),
            r.phases.len(),
            "{name}"
        );
        assert!(html.contains("<svg id=\"targets\""), "{name}");
        for external in ["<script", "<link", "src=", "url(", "@import"] {
            assert!(!html.contains(external), "{name}: {external}");
        }
        let references: Vec<&str> = html
            .match_indices("http")
            .map(|(i, _)| &html[i..(i + 30).min(html.len())])
            .filter(|s| !s.starts_with("http://www.w3.org/2000/svg"))
            .collect();
        assert!(references.is_empty(), "{name}: {references:?}");
    }
}

#[test]
fn html_escapes_restore_messages() {
    let html = render(&fixture("partially-failed-restore"), Format::Html);
    assert!(html.contains("pod volume restore &lt;nil&gt; &amp; &quot;data&quot; failed"));
    assert!(!html.contains("<nil>"));
}

#[test]
fn markdown_cells_cannot_break_the_table() {
    let mut r = fixture("partially-failed-restore");
    if let Some(restore) = r.restore.as_mut() {
        restore.errors = vec!["a | b\nc".into()];
    }
    r.checks = r.recheck();
    let md = render(&r, Format::Markdown);
    let row = md
        .lines()
        .find(|l| l.starts_with("| restore-completed |"))
        .unwrap();
    assert!(row.ends_with("first error: a \\| b c |"), "{row}");
}
