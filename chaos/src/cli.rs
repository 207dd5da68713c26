//! The command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

/// Exit codes, shown under `--help` (and documented in `docs/chaos.md`).
pub const EXIT_CODES: &str = "\
Exit codes:
  0  pass: the verdict is pass (run, report, drill), the chain verifies (ledger verify),
     or the command did what it was asked (run --plan, ledger write, simulate)
  1  failed verdict: a check failed (run, report, drill; a drill with no Completed
     backup too) or the chain is broken (ledger verify)
  2  bad input: a scenario, result file, ledger path, policy, manifest or flag is wrong
  3  infrastructure failure: the harness could not do its job (disk, sockets,
     tools; the API server unreachable, Velero not installed, a wait that timed out,
     Ctrl-C; the cluster simulate reads)";

#[derive(Debug, Parser)]
#[command(
    name = "backstop-chaos",
    version,
    about = "Backstop chaos harness: inject faults, restore with Velero, measure RTO and RPO from the data",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario; with --plan, print every step, command and manifest instead.
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Render a result.json as Markdown, JUnit XML or HTML; exits with its verdict.
    #[command(after_help = EXIT_CODES)]
    Report(ReportArgs),
    /// The ledger workload: the chained, fsynced record writer and its verifier.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// The monthly restore drill: restore a schedule's newest Completed backup into a scratch
    /// namespace, wait, check, compare with the backup, record every step, clean up.
    #[command(after_help = EXIT_CODES)]
    Drill(crate::drill::args::DrillArgs),
    /// How often each tier's RPO target is breached, sampled from the Schedules alone.
    #[command(after_help = EXIT_CODES)]
    Simulate(crate::simulate::args::SimulateArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario file (fixtures/scenarios/*.yaml).
    #[arg(long, env = "BACKSTOP_CHAOS_SCENARIO")]
    pub scenario: PathBuf,
    /// Print the plan (every step, command and manifest, in order) and touch nothing.
    #[arg(long)]
    pub plan: bool,
    /// Seed for the run's random choices (default: the scenario's, else chosen and printed).
    #[arg(long, env = "BACKSTOP_CHAOS_SEED")]
    pub seed: Option<u64>,
    /// Where the run keeps its files: result.json, reports, ground truth, commands.log,
    /// diagnostics/, the kind kubeconfig (default: out/chaos/<scenario name>).
    #[arg(long, visible_alias = "out", env = "BACKSTOP_CHAOS_WORKDIR")]
    pub workdir: Option<PathBuf>,
    /// Folder of workload manifests (default: <scenario folder>/../workloads).
    #[arg(long, env = "BACKSTOP_CHAOS_WORKLOADS")]
    pub workloads: Option<PathBuf>,
    /// Keep the cluster and the store after the run.
    #[arg(long)]
    pub keep: bool,
    /// Kubeconfig context of the existing cluster (scenario `cluster.provider: existing`).
    #[arg(long)]
    pub context: Option<String>,
    /// Allow the run onto a cluster it did not create (it works only in namespaces it
    /// creates and labels, and removes them at the end).
    #[arg(long)]
    pub allow_existing_cluster: bool,
    /// The ledger image. On kind, without it, the run builds `backstop-chaos:dev` from
    /// chaos/Dockerfile (see --build-context) and loads it; with it, the image must be in the
    /// local Docker (built beforehand) and is loaded. An existing cluster pulls it: required there.
    #[arg(long)]
    pub ledger_image: Option<String>,
    /// The repository the ledger image is built from (it holds chaos/Dockerfile).
    #[arg(long, default_value = ".")]
    pub build_context: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A result.json written by `run`.
    pub result: PathBuf,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Append a record every interval, fsync it, then acknowledge it on GET /last.
    #[command(after_help = EXIT_CODES)]
    Write {
        /// Ledger file (created if absent; a damaged one is kept aside and repaired).
        #[arg(long, env = "LEDGER_FILE")]
        file: PathBuf,
        /// Address to serve GET /last, /healthz, /startup and /found-at-start on.
        #[arg(long, env = "LEDGER_LISTEN", default_value = "0.0.0.0:8080")]
        listen: String,
        /// Time between appends (500ms, 1s, …).
        #[arg(long, env = "LEDGER_INTERVAL", default_value = "1s", value_parser = crate::scenario::HumanDuration::parse)]
        interval: Duration,
        /// Name this start files its evidence under (`<file>.found-at-start.<id>`, served on
        /// GET /found-at-start/<id>); the workload passes its pod's UID. Default: unique per start.
        #[arg(long, env = "LEDGER_START_ID", value_parser = crate::ledger::writer::StartId::parse)]
        start_id: Option<crate::ledger::writer::StartId>,
    },
    /// Verify a ledger file: newest chain-valid record, first broken link, torn tail, duplicates.
    #[command(after_help = EXIT_CODES)]
    Verify {
        /// Ledger file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_documents_every_exit_code() {
        let help = Cli::command().render_long_help().to_string();
        for code in [
            "0  pass",
            "1  failed verdict",
            "2  bad input",
            "3  infrastructure failure",
        ] {
            assert!(help.contains(code), "missing {code:?}");
        }
    }

    #[test]
    fn intervals_are_human_durations() {
        let cli = Cli::try_parse_from([
            "backstop-chaos",
            "ledger",
            "write",
            "--file",
            "l",
            "--interval",
            "250ms",
        ])
        .unwrap();
        let Command::Ledger(LedgerCommand::Write { interval, .. }) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(interval, Duration::from_millis(250));
    }
}
