//! What a run would do, step by step: every command and every manifest, in order.
//! Building and rendering a plan touch nothing and need no docker, kind or velero.
//!
//! Values only known while the run is under way (the node a pod landed on, the
//! newest Completed backup) are written as `<placeholders>`.

mod build;
mod fault;
pub mod manifests;
mod steps;

use std::fmt::Write as _;
use std::path::PathBuf;

pub use build::build;
pub use steps::{restore_name, run_id, schedule_name};

use crate::timeline::Phase;

pub use crate::workload::{LEDGER_IMAGE, NAMESPACE, Workload};
/// MinIO server image when the scenario names none (it bundles the `mc` client used for the
/// bucket and storage faults).
pub const MINIO_IMAGE: &str = crate::scenario::DEFAULT_MINIO_IMAGE;
/// Local port the harness forwards to the ledger Service.
pub const LEDGER_LOCAL_PORT: u16 = 18080;

/// Everything a plan is built from besides the scenario.
#[derive(Debug, Clone)]
pub struct Context {
    pub scenario_file: PathBuf,
    pub seed: u64,
    /// Where the run keeps its files (kind config, credentials, ground truth, result).
    pub workdir: PathBuf,
    /// Each workload's name, manifest path and manifest text.
    pub workloads: Vec<Workload>,
    /// `--keep`: leave the cluster and the store behind (no teardown steps).
    pub keep: bool,
    /// Where the run happens.
    pub cluster: crate::cluster::Cluster,
    /// Where the ledger image comes from.
    pub image: crate::workload::LedgerImage,
}

/// The whole run, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub scenario: String,
    pub scenario_file: PathBuf,
    pub seed: u64,
    pub cluster: String,
    pub steps: Vec<Step>,
}

/// One thing the run does, and the phase it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub phase: Phase,
    pub title: String,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run a command (argv, never through a shell unless argv says so).
    Run(Vec<String>),
    /// Write a file the following commands use.
    WriteFile { path: PathBuf, content: String },
    /// Apply a manifest with the given command (the manifest is its standard input or file).
    Apply {
        command: Vec<String>,
        manifest: String,
    },
    /// Wait for a condition, watched (not slept for).
    Wait(String),
    /// Something the harness does itself (HTTP polls, measurements).
    Harness(String),
}

/// The command-line form of a plan: numbered steps grouped by phase, commands
/// shell-quoted, manifests in full.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for scenario {} ({})",
        plan.scenario,
        plan.scenario_file.display()
    );
    let _ = writeln!(
        out,
        "seed {} · cluster {} · namespace {NAMESPACE} · {} steps · nothing has been run",
        plan.seed,
        plan.cluster,
        plan.steps.len()
    );
    let mut phase = None;
    for (i, step) in plan.steps.iter().enumerate() {
        if phase != Some(step.phase) {
            let _ = writeln!(out, "\n== {} ==", step.phase);
            phase = Some(step.phase);
        }
        let _ = writeln!(out, "{:>3}. {}", i + 1, step.title);
        match &step.action {
            Action::Run(argv) => {
                let _ = writeln!(out, "     $ {}", shell_line(argv));
            }
            Action::WriteFile { path, content } => {
                let _ = writeln!(out, "     write {}:", path.display());
                push_indented(&mut out, content);
            }
            Action::Apply { command, manifest } => {
                let _ = writeln!(out, "     $ {} <<'EOF'", shell_line(command));
                push_indented(&mut out, manifest);
                let _ = writeln!(out, "     EOF");
            }
            Action::Wait(what) => {
                let _ = writeln!(out, "     wait: {what}");
            }
            Action::Harness(what) => {
                let _ = writeln!(out, "     harness: {what}");
            }
        }
    }
    out
}

fn push_indented(out: &mut String, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "       {line}");
        }
    }
}

/// argv as one POSIX shell line, quoting only what needs it.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && without_placeholders(arg)
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:=,@%+".contains(&b));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// `arg` with every `<placeholder>` (a value the run fills in) removed: those are
/// shown as they are, unquoted, so a reader sees where the run's values go.
fn without_placeholders(arg: &str) -> String {
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(['>', '<', '\'']) {
            Some(close) if after[close..].starts_with('>') && close > 0 => {
                rest = &after[close + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
