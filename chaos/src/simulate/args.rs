//! `backstop-chaos simulate`'s flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["manifests", "context"])))]
#[command(group(clap::ArgGroup::new("durations").args(["backup_duration", "durations_from_cluster"])))]
pub struct SimulateArgs {
    /// Policy file (tiers and the protected set), as `backstop-webhook audit` reads it.
    #[arg(long)]
    pub policy: PathBuf,
    /// Folder or file of manifests (Schedules, Namespaces, PVCs, Pods, storage); repeatable.
    #[arg(long)]
    pub manifests: Vec<PathBuf>,
    /// Read Schedules and objects from this kubeconfig context instead (list calls only).
    #[arg(long)]
    pub context: Option<String>,
    /// Failure instants to draw, uniformly over the horizon.
    #[arg(long, default_value_t = crate::simulate::Settings::DEFAULT_SAMPLES)]
    pub samples: usize,
    /// Seed of the draws: the same seed gives the same report.
    #[arg(long, default_value_t = crate::simulate::Settings::DEFAULT_SEED)]
    pub seed: u64,
    /// How long every backup takes from start to completion.
    #[arg(long, value_parser = crate::scenario::HumanDuration::parse)]
    pub backup_duration: Option<Duration>,
    /// Take each schedule's backup duration from its recent Backups in the cluster (median).
    #[arg(long)]
    pub durations_from_cluster: bool,
    /// Length of the horizon, from 2026-01-01T00:00:00Z.
    #[arg(long, value_parser = crate::scenario::HumanDuration::parse, default_value = "365d")]
    pub horizon: Duration,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub output: SimulateOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimulateOutput {
    Table,
    Json,
    Markdown,
}
