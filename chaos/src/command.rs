//! Dispatch from the command line to one module per subcommand, and exit codes.

pub mod drill;
pub mod ledger;
pub mod report;
pub mod run;
pub mod simulate;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::{EXIT_FAILED_VERDICT, EXIT_PASS, Error};

/// How a command that ran to the end came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Pass => EXIT_PASS,
            Self::Fail => EXIT_FAILED_VERDICT,
        }
    }
}

/// Runs one parsed command line.
pub fn execute(cli: Cli) -> Result<Outcome, Error> {
    match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Report(args) => report::report(&args),
        Command::Ledger(cmd) => ledger::ledger(cmd),
        Command::Drill(args) => drill::drill(&args),
        Command::Simulate(args) => simulate::simulate(&args),
    }
}

/// The whole program: parse, run, report an error on stderr, exit with its code.
/// Usage errors exit 2 (clap's own code, which is also "bad input").
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    init_logging();
    match execute(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => {
            eprintln!("backstop-chaos: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default `info`.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
