//! `--output github`: GitHub Actions workflow commands, one annotation per finding at its
//! object's file and line (`::error file=deploy/db.yaml,line=14,title=...::message`), so a
//! workflow step shows them on the pull request's diff without any upload.

use std::fmt::Write as _;

use policy::Severity;
use policy::origin::Place;

use super::AuditReport;
use super::findings::file_of;

impl AuditReport {
    pub fn github(&self) -> String {
        let mut out = String::new();
        for note in &self.notes {
            command(
                &mut out,
                "warning",
                Some(note.place()),
                note.code(),
                &note.to_string(),
            );
        }
        for finding in self.findings() {
            let gap = finding.gap;
            let level = match gap.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let place = finding.origin.and_then(|origin| origin.place.as_ref());
            let mut message = gap.message.clone();
            if let Some(origin) = finding.origin
                && place.and_then(file_of).is_none()
            {
                let _ = write!(message, " (from {origin})");
            }
            command(&mut out, level, place, gap.code.as_str(), &message);
        }
        let failing = self
            .objects
            .iter()
            .filter(|verdict| verdict.has_errors())
            .count();
        let _ = writeln!(
            out,
            "::notice title=backstop audit::{}",
            escape_data(&format!(
                "{} protected objects, {failing} with gaps",
                self.objects.len()
            ))
        );
        out
    }
}

fn command(out: &mut String, level: &str, place: Option<&Place>, title: &str, message: &str) {
    let mut properties = Vec::new();
    if let Some(place) = place
        && let Some(file) = file_of(place)
    {
        properties.push(format!("file={}", escape_property(file)));
        properties.push(format!("line={}", place.line));
    }
    properties.push(format!("title={}", escape_property(title)));
    let _ = writeln!(
        out,
        "::{level} {}::{}",
        properties.join(","),
        escape_data(message)
    );
}

/// The workflow-command escaping of a message (`@actions/core`, `escapeData`).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The escaping of a property value (`escapeProperty`): also `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_properties_are_escaped_as_the_actions_toolkit_does() {
        assert_eq!(escape_data("50% of\na"), "50%25 of%0Aa");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
