//! Command-line interface (clap derive). Every flag can also come from a `BACKSTOP_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "backstop-webhook",
    version,
    about = "Admission webhook and audit that keep every protected Namespace and PVC really covered by a Velero Schedule",
    after_help = "Exit codes (audit): 0 nothing protected has a gap, 1 a gap was found, 2 bad input, 3 the cluster cannot be read (or lacks the Velero CRDs).\nExit codes (serve): 0 clean shutdown, 2 bad configuration, 3 runtime failure."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the mutating and validating admission webhook over HTTPS.
    Serve(ServeArgs),
    /// Report the coverage of every protected Namespace and PVC found in manifests or a cluster.
    Audit(AuditArgs),
}

#[derive(Args, Debug, Clone)]
pub struct AuditArgs {
    /// Policy file (YAML): tiers, protected namespaces, exemptions.
    #[arg(long, env = "BACKSTOP_POLICY", value_name = "FILE")]
    pub policy: PathBuf,
    /// Folder (read recursively) or file of Kubernetes manifests: Namespaces, PVCs, Pods,
    /// workload controllers, Schedules, StorageClasses, VolumeSnapshotClasses. `-` reads a
    /// stream from standard input (`helm template ... | backstop-webhook audit --manifests -`).
    /// Repeat, or separate with commas, to combine.
    #[arg(
        long = "manifests",
        env = "BACKSTOP_MANIFESTS",
        value_name = "PATH",
        value_delimiter = ',',
        conflicts_with = "cluster"
    )]
    pub manifests: Vec<PathBuf>,
    /// A kustomization directory, rendered with `kubectl kustomize DIR` (what `kubectl apply
    /// -k DIR` would apply). Repeat, or separate with commas, to combine.
    #[arg(
        long,
        env = "BACKSTOP_KUSTOMIZE",
        value_name = "DIR",
        value_delimiter = ',',
        conflicts_with = "cluster"
    )]
    pub kustomize: Vec<PathBuf>,
    /// The kubectl that renders `--kustomize` (default: `kubectl` on PATH).
    #[arg(long, env = "BACKSTOP_KUBECTL", value_name = "PATH")]
    pub kubectl: Option<PathBuf>,
    /// Audit the live cluster instead (in-cluster config, or the kubeconfig): read-only lists
    /// of Namespaces, PVCs, Pods, workload controllers, storage classes and the Velero
    /// namespace's Schedules.
    #[arg(long, env = "BACKSTOP_CLUSTER")]
    pub cluster: bool,
    /// The kubeconfig context to read (default: the current one); implies `--cluster`.
    #[arg(
        long,
        env = "BACKSTOP_CONTEXT",
        value_name = "NAME",
        conflicts_with_all = ["manifests", "kustomize"]
    )]
    pub context: Option<String>,
    /// Also check what the newest real backups hold (Backups and PodVolumeBackups: listed
    /// with `--cluster`, read from the manifests otherwise): failed, overdue and missed volumes.
    #[arg(long, env = "BACKSTOP_VERIFY_BACKUPS")]
    pub verify_backups: bool,
    /// With `--verify-backups`: judge the backups as of this RFC 3339 time (default: now), for
    /// reproducible reports over exported records.
    #[arg(
        long,
        env = "BACKSTOP_NOW",
        value_name = "TIME",
        requires = "verify_backups"
    )]
    pub now: Option<k8s_openapi::jiff::Timestamp>,
    /// Output format: `sarif` for code-scanning views, `github` for GitHub Actions
    /// annotations.
    #[arg(long, env = "BACKSTOP_OUTPUT", value_enum, default_value_t = AuditOutput::Table)]
    pub output: AuditOutput,
}

/// What an audit reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditInput {
    Manifests,
    Cluster,
}

impl AuditArgs {
    /// The input the flags name: `--cluster` (or `--context`), or manifests (`--manifests`,
    /// `--kustomize`).
    /// `default` applies when they name none (the kubectl plugin reads the cluster).
    pub fn input(&self, default: Option<AuditInput>) -> Result<AuditInput, String> {
        if self.cluster || self.context.is_some() {
            Ok(AuditInput::Cluster)
        } else if !self.manifests.is_empty() || !self.kustomize.is_empty() {
            Ok(AuditInput::Manifests)
        } else {
            default.ok_or_else(|| {
                "nothing to audit: give --manifests PATH (or - for standard input), --kustomize DIR or --cluster".to_string()
            })
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutput {
    Table,
    Json,
    Markdown,
    /// SARIF 2.1.0: one rule per gap code, each finding at the file and line of its object.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=...,line=...::message`).
    Github,
}

/// `kubectl backstop`: the audit as a kubectl plugin, reading the cluster of the current
/// context unless manifests are named.
#[derive(Parser, Debug)]
#[command(
    name = "kubectl backstop",
    bin_name = "kubectl backstop",
    version,
    about = "Backstop's coverage audit as a kubectl plugin: which Velero Schedules really protect each Namespace and PVC, and with what worst-case RPO",
    after_help = "Without --manifests or --kustomize it reads the cluster of the current kubeconfig context (--context NAME for another).\nExit codes: 0 nothing protected has a gap, 1 a gap was found, 2 bad input, 3 the cluster cannot be read (or lacks the Velero CRDs)."
)]
pub struct PluginCli {
    #[command(flatten)]
    pub audit: AuditArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Policy file (YAML).
    #[arg(long, env = "BACKSTOP_POLICY", value_name = "FILE")]
    pub policy: PathBuf,
    /// HTTPS address for admission reviews (`/mutate`, `/validate`).
    #[arg(long, env = "BACKSTOP_LISTEN", default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,
    /// Plain HTTP address for `/healthz`, `/readyz` and `/metrics`.
    #[arg(long, env = "BACKSTOP_PROBE_LISTEN", default_value = "0.0.0.0:8080")]
    pub probe_listen: SocketAddr,
    /// PEM certificate chain (leaf first). Reloaded when it changes on disk.
    #[arg(
        long,
        env = "BACKSTOP_TLS_CERT",
        value_name = "FILE",
        required_unless_present = "dev",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key matching `--tls-cert`.
    #[arg(
        long,
        env = "BACKSTOP_TLS_KEY",
        value_name = "FILE",
        required_unless_present = "dev",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Generate a self-signed certificate for localhost/127.0.0.1 (local runs and tests only).
    #[arg(long, env = "BACKSTOP_DEV", conflicts_with_all = ["tls_cert", "tls_key"])]
    pub dev: bool,
    /// With `--dev`: where to write the generated CA certificate (for curl --cacert).
    #[arg(
        long,
        env = "BACKSTOP_DEV_CA_OUT",
        value_name = "FILE",
        requires = "dev"
    )]
    pub dev_ca_out: Option<PathBuf>,
    /// Offline mode: read Schedules (and any Namespaces, PVCs, Pods) from manifests in DIR
    /// instead of watching the cluster.
    #[arg(long, env = "BACKSTOP_SCHEDULES_FROM", value_name = "DIR")]
    pub schedules_from: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "BACKSTOP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Decision sent when a review cannot be decided before the apiserver's `?timeout=`
    /// (minus a safety margin) runs out. `deny` matches `failurePolicy: Fail`.
    #[arg(long, env = "BACKSTOP_TIMEOUT_DECISION", value_enum, default_value_t = TimeoutDecision::Deny)]
    pub timeout_decision: TimeoutDecision,
    /// Reviews read and decided at once. Past it a review is not queued: it gets the failure
    /// decision (`--timeout-decision`, under the policy's enforcement) at once.
    #[arg(
        long,
        env = "BACKSTOP_MAX_IN_FLIGHT",
        value_name = "N",
        default_value_t = 256,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_in_flight: u32,
    /// A request body must arrive whole within this (and within the apiserver's deadline);
    /// a client still sending then gets HTTP 408.
    #[arg(long, env = "BACKSTOP_BODY_READ_TIMEOUT", value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub body_read_timeout: Duration,
    /// How long a cluster cache may go without a working watch (API server unreachable,
    /// watch failing) before `/readyz` fails. Until then the webhook keeps answering from the
    /// last good copy; `backstop_cache_staleness_seconds` shows each cache's age.
    #[arg(long, env = "BACKSTOP_MAX_CACHE_STALENESS", value_name = "DURATION", default_value = "5m", value_parser = duration)]
    pub max_cache_staleness: Duration,
    /// A client must complete the TLS handshake within this.
    #[arg(long, env = "BACKSTOP_TLS_HANDSHAKE_TIMEOUT", value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub tls_handshake_timeout: Duration,
    /// After the handshake, a client must send a request's head within this (and an idle
    /// HTTP/1 keep-alive connection closes after it).
    #[arg(long, env = "BACKSTOP_HEADER_READ_TIMEOUT", value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub header_read_timeout: Duration,
    /// HTTPS connections served at once; past it new connections wait until one closes.
    #[arg(
        long,
        env = "BACKSTOP_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 512,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_connections: u32,
}

/// A Go-style duration (`500ms`, `10s`, `1m30s`), as Kubernetes writes them; never zero.
fn duration(value: &str) -> Result<Duration, String> {
    match policy::duration::parse_go_duration(value) {
        Ok(duration) if duration.is_zero() => Err("must be more than zero".to_string()),
        Ok(duration) => Ok(duration),
        Err(error) => Err(error.to_string()),
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutDecision {
    Allow,
    Deny,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}
