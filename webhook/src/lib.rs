//! Backstop admission webhook (`serve`) and coverage audit (`audit`).
//!
//! The decisions live in the `policy` crate; this crate is the shell around them: reading
//! manifests, answering AdmissionReviews over HTTPS, and rendering audit reports.

pub mod admission;
pub mod args;
pub mod audit;
pub mod cache;
pub mod dev_cert;
pub mod error;
pub mod logging;
pub mod manifests;
pub mod metrics;
pub mod mutate;
pub mod review;
pub mod serve;
pub mod server;
pub mod state;
pub mod tls;
pub mod validate;

use std::process::ExitCode;

use args::{Cli, Command};

pub use error::WebhookError;

/// Runs a parsed command line and maps the outcome to the documented exit codes.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Audit(args) => audit::run(&args),
        Command::Serve(args) => serve::run(args),
    }
}
