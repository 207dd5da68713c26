//! JUnit XML: one test suite per run, one test case per check.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::{rpo_text, rto_text, run_length_ms, versions_line};
use crate::result::RunResult;
use crate::verdict::Check;

pub(super) fn render(r: &RunResult) -> String {
    let properties = [
        ("scenario", r.scenario.name.clone()),
        ("scenarioFile", r.scenario.file.clone()),
        ("fault", r.scenario.fault.to_string()),
        ("seed", r.seed.to_string()),
        ("kubernetes", r.versions.kubernetes.clone()),
        ("kind", r.versions.kind.clone()),
        ("velero", r.versions.velero.clone()),
        ("backstop", r.versions.backstop.clone()),
        ("rto", rto_text(r)),
        ("rpo", rpo_text(r)),
        ("verdict", r.verdict.to_string()),
    ];
    let mut footer = versions_line(&r.versions);
    for line in r.fault.iter().flat_map(|f| f.lines()) {
        footer.push_str("\nfault: ");
        footer.push_str(&line);
    }
    suite(&Suite {
        name: &format!("backstop-chaos.{}", r.scenario.name),
        checks: &r.checks,
        started: r.started.wall,
        length_ms: run_length_ms(r),
        properties: &properties,
        footer: &footer,
    })
}

/// One test suite of checks, as a run's and a drill's reports both write it.
pub(super) struct Suite<'a> {
    pub name: &'a str,
    pub checks: &'a [Check],
    pub started: DateTime<Utc>,
    pub length_ms: u64,
    pub properties: &'a [(&'a str, String)],
    /// The suite's own `system-out`.
    pub footer: &'a str,
}

/// The JUnit document of one suite: one test case per check, a failure for each that failed.
pub(super) fn suite(s: &Suite<'_>) -> String {
    let failures = s.checks.iter().filter(|c| !c.passed).count();
    let seconds = format!("{:.3}", s.length_ms as f64 / 1000.0);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"backstop-chaos\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{seconds}\">",
        s.checks.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{seconds}\" timestamp=\"{}\">",
        escape(s.name),
        s.checks.len(),
        s.started.format("%Y-%m-%dT%H:%M:%S")
    );
    out.push_str("    <properties>\n");
    for (name, value) in s.properties {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            escape(value)
        );
    }
    out.push_str("    </properties>\n");
    for c in s.checks {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
            escape(s.name),
            c.name
        );
        if c.passed {
            let _ = writeln!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>",
                escape(&c.evidence)
            );
        } else {
            let _ = writeln!(
                out,
                ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                c.name,
                escape(&c.evidence),
                escape(&c.evidence)
            );
        }
    }
    let _ = writeln!(out, "    <system-out>{}</system-out>", escape(s.footer));
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Escapes text for XML 1.0 attribute values and character data. Characters XML 1.0
/// cannot carry at all (most C0 controls, U+FFFE, U+FFFF) become U+FFFD.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
