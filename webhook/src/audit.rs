//! `backstop-webhook audit`: the coverage verdict of every protected Namespace and PVC found in
//! manifests, as a terminal table, JSON or Markdown. A CI gate: exit 1 when anything has a gap.

mod render;

use std::process::ExitCode;
use std::sync::Arc;

use policy::{CoverageIndex, Verdict};

use crate::WebhookError;
use crate::args::{AuditArgs, AuditOutput};
use crate::manifests::{load_inventory, load_policy};

pub use render::{AuditReport, ScheduleSummary};

pub fn run(args: &AuditArgs) -> ExitCode {
    match audit(args) {
        Ok((report, rendered)) => {
            print!("{rendered}");
            if report.has_gaps() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("backstop-webhook audit: {error}");
            ExitCode::from(2)
        }
    }
}

fn audit(args: &AuditArgs) -> Result<(AuditReport, String), WebhookError> {
    let policy = Arc::new(load_policy(&args.policy)?);
    let inventory = load_inventory(&args.manifests)?;
    let report = AuditReport::new(&CoverageIndex::build(policy, inventory));
    let rendered = match args.output {
        AuditOutput::Table => report.table(),
        AuditOutput::Json => report.json(),
        AuditOutput::Markdown => report.markdown(),
    };
    Ok((report, rendered))
}

/// An object "has a gap" when one of its gaps is an error; warnings are shown, never fatal.
pub fn verdict_fails(verdict: &Verdict) -> bool {
    verdict.has_errors()
}
