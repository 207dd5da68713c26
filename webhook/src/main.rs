use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    backstop_webhook::run(backstop_webhook::args::Cli::parse())
}
