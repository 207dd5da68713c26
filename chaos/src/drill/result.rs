//! A drill's `result.json`: the envelope of `run`'s (`schemaVersion`, `versions`, `started`,
//! `phases`, `restore`, `pods`, `checks`, `verdict`, the same types and names) with the field
//! `drill` in place of the fault, ledger and RTO/RPO figures a drill does not have. The `drill`
//! field is what tells a drill's result from a run's ([`is_drill`]).
//!
//! The phases are the run's own names for the steps a drill takes, each stamped when it
//! completed: `backups` (the backup chosen), `restore-start` (the Restore created),
//! `restore-complete`, `pods-ready`, `data-verified` (checks run and contents compared) and
//! `teardown` (cleanup).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::record::DrillRecord;
use crate::clock::Stamp;
use crate::error::Error;
use crate::outcome::{PodsOutcome, RestoreOutcome};
use crate::result::{SCHEMA_VERSION, Versions};
use crate::timeline::{PhaseSpan, Timeline};
use crate::verdict::{self, Check, Verdict};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DrillResult {
    pub schema_version: u32,
    pub drill: DrillRecord,
    pub versions: Versions,
    pub started: Stamp,
    pub phases: Vec<PhaseSpan>,
    pub restore: Option<RestoreOutcome>,
    pub pods: PodsOutcome,
    pub checks: Vec<Check>,
    pub verdict: Verdict,
}

impl DrillResult {
    /// Judges what a drill observed.
    pub fn assemble(
        drill: DrillRecord,
        versions: Versions,
        timeline: &Timeline,
        restore: Option<RestoreOutcome>,
        pods: PodsOutcome,
    ) -> Self {
        let checks = drill.checks(restore.as_ref(), &pods);
        let verdict = verdict::verdict(&checks);
        Self {
            schema_version: SCHEMA_VERSION,
            drill,
            versions,
            started: timeline.started,
            phases: timeline.spans(),
            restore,
            pods,
            checks,
            verdict,
        }
    }
}

/// Whether `result.json` text is a drill's (it has a top-level `drill` field).
pub fn is_drill(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .is_some_and(|v| v.get("drill").is_some())
}

/// Parses a drill's `result.json` and checks it is consistent, as `run`'s are checked: the
/// schema version is this build's, and the checks and verdict are those its figures imply.
pub fn parse(path: &Path, text: &str) -> Result<DrillResult, Error> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let result: DrillResult = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { "<root>".into() } else { field };
        Error::invalid(path, field, e.into_inner().to_string())
    })?;
    if result.schema_version != SCHEMA_VERSION {
        return Err(Error::invalid(
            path,
            "schemaVersion",
            format!(
                "{} is not supported (this build reads {SCHEMA_VERSION})",
                result.schema_version
            ),
        ));
    }
    let implied = result.drill.checks(result.restore.as_ref(), &result.pods);
    if implied != result.checks {
        let at = result
            .checks
            .iter()
            .zip(&implied)
            .position(|(stored, implied)| stored != implied)
            .unwrap_or(implied.len().min(result.checks.len()));
        return Err(Error::invalid(
            path,
            format!("checks[{at}]"),
            format!(
                "the stored checks ({} of them) do not follow from the file's own figures ({})",
                result.checks.len(),
                implied.len()
            ),
        ));
    }
    let verdict = verdict::verdict(&implied);
    if verdict != result.verdict {
        return Err(Error::invalid(
            path,
            "verdict",
            format!(
                "says {} but the file's own figures say {verdict}",
                result.verdict
            ),
        ));
    }
    Ok(result)
}

#[cfg(test)]
mod tests;
