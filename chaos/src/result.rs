//! `result.json`: everything a run established, and the verdict over it.
//!
//! The schema is documented in `docs/chaos.md` ("`result.json`"); field names are camelCase,
//! durations are whole milliseconds (`…Ms`), instants are [`Stamp`]s.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::clock::Stamp;
use crate::error::Error;
use crate::fault::report::FaultReport;
use crate::ground_truth::Ack;
use crate::ledger::verify::Verification;
use crate::measure::{ClockStep, LedgerFigures, Rpo, Rto, measure};
use crate::outcome::{PodsOutcome, RestoreOutcome, TargetsMs};
use crate::scenario::{FaultKind, HumanDuration, Scenario};
use crate::timeline::{PhaseSpan, Timeline};
use crate::verdict::{self, Check, Evidence, Verdict};

/// Version of the `result.json` schema this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunResult {
    pub schema_version: u32,
    pub scenario: ScenarioInfo,
    pub versions: Versions,
    pub seed: u64,
    pub started: Stamp,
    /// Every phase that completed, with its start, end and duration.
    pub phases: Vec<PhaseSpan>,
    /// `None` when the run never created a Restore.
    pub restore: Option<RestoreOutcome>,
    pub pods: PodsOutcome,
    pub ledger: LedgerFigures,
    /// Wall-clock steps seen during the run (never folded into RTO or RPO).
    pub clock_steps: Vec<ClockStep>,
    pub rto: Option<Rto>,
    pub rpo: Rpo,
    pub targets: TargetsMs,
    pub checks: Vec<Check>,
    pub verdict: Verdict,
    /// What a cluster-level fault did and found (node-loss, cluster-loss, storage-loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioInfo {
    pub name: String,
    pub file: String,
    pub fault: FaultKind,
    pub fault_target: String,
    pub fault_after: HumanDuration,
}

impl ScenarioInfo {
    pub fn of(scenario: &Scenario, file: &Path) -> Self {
        Self {
            name: scenario.name.clone(),
            file: file.display().to_string(),
            fault: scenario.fault.kind,
            fault_target: scenario.fault.target.clone(),
            fault_after: scenario.fault.after,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Versions {
    pub kubernetes: String,
    pub kind: String,
    pub velero: String,
    pub backstop: String,
}

/// What a run observed, before measurement and judgement.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    pub scenario: ScenarioInfo,
    pub versions: Versions,
    pub seed: u64,
    pub timeline: &'a Timeline,
    pub acks: &'a [Ack],
    pub restored: Option<&'a Verification>,
    pub restore: Option<RestoreOutcome>,
    pub pods: PodsOutcome,
    pub targets: TargetsMs,
}

impl RunResult {
    /// Measures what was observed and judges it.
    pub fn assemble(o: Observed<'_>) -> Self {
        let m = measure(o.timeline, o.acks, o.restored);
        let checks = verdict::checks(&Evidence {
            restore: o.restore.as_ref(),
            pods: &o.pods,
            ledger: &m.ledger,
            rto: m.rto.as_ref(),
            rpo: &m.rpo,
            targets: o.targets,
            clock_steps: &m.clock_steps,
        });
        let verdict = verdict::verdict(&checks);
        Self {
            schema_version: SCHEMA_VERSION,
            scenario: o.scenario,
            versions: o.versions,
            seed: o.seed,
            started: o.timeline.started,
            phases: m.phases,
            restore: o.restore,
            pods: o.pods,
            ledger: m.ledger,
            clock_steps: m.clock_steps,
            rto: m.rto,
            rpo: m.rpo,
            targets: o.targets,
            checks,
            verdict,
            fault: None,
        }
    }

    /// The checks as the stored figures imply them (to catch an edited or inconsistent file).
    pub fn recheck(&self) -> Vec<Check> {
        verdict::checks(&Evidence {
            restore: self.restore.as_ref(),
            pods: &self.pods,
            ledger: &self.ledger,
            rto: self.rto.as_ref(),
            rpo: &self.rpo,
            targets: self.targets,
            clock_steps: &self.clock_steps,
        })
    }
}

/// Reads a `result.json`; errors name the file and the field.
pub fn load(path: &Path) -> Result<RunResult, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadInput {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Parses `result.json` text and checks it is consistent: its schema version is
/// this build's, and its verdict is the one its own figures imply.
pub fn parse(path: &Path, text: &str) -> Result<RunResult, Error> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let result: RunResult = serde_path_to_error::deserialize(de).map_err(|e| {
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
    let checks = result.recheck();
    // Reports print the checks as stored: each must be what the file's own figures give.
    // (the evidence too: reports print it, so its numbers must be the figures' own).
    if let Some((at, stored)) = result
        .checks
        .iter()
        .zip(&checks)
        .enumerate()
        .find_map(|(at, (stored, rechecked))| (stored != rechecked).then_some((at, stored)))
    {
        return Err(Error::invalid(
            path,
            format!("checks[{at}]"),
            format!(
                "{} does not follow from the file's own figures",
                stored.name
            ),
        ));
    }
    if result.checks.len() != checks.len() {
        return Err(Error::invalid(
            path,
            "checks",
            format!(
                "{} checks, but the file's own figures give {}",
                result.checks.len(),
                checks.len()
            ),
        ));
    }
    let implied = verdict::verdict(&checks);
    if implied != result.verdict {
        return Err(Error::invalid(
            path,
            "verdict",
            format!(
                "says {} but the file's own figures say {}",
                result.verdict, implied
            ),
        ));
    }
    Ok(result)
}

#[cfg(test)]
mod tests;
