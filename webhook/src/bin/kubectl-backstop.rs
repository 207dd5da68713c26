//! `kubectl backstop`: the audit as a kubectl plugin. kubectl runs any `kubectl-<name>` found
//! on `PATH` as `kubectl <name>`; this one takes `audit`'s flags and reads the cluster of the
//! current context unless manifests are named.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    backstop_webhook::audit::run_plugin(&backstop_webhook::args::PluginCli::parse().audit)
}
