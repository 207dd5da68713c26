//! Backstop chaos verification harness.
//!
//! Module map:
//! - [`cli`]: the command line (clap); [`command`]: one module per subcommand.
//! - [`ledger`]: the workload's chained record file: format, writer, verifier.
//! - [`clock`]: timestamps that carry wall clock and a monotonic offset.
//! - [`timeline`] and [`ground_truth`]: what the harness observed during a run.
//! - [`measure`]: RTO, RPO and lost writes from the timeline, ground truth and restored ledger.
//! - [`scenario`]: scenario files; [`plan`]: the steps a run would take; [`fault`]: what each
//!   fault decides (the corruption's offset and Job).
//! - [`outcome`]: the restore and pod outcomes a run observed, and its targets.
//! - [`result`] and [`verdict`]: `result.json` and the pure decision over it.
//! - [`report`]: Markdown, JUnit XML and HTML renderings of a result.
//! - [`kube`] and [`velero`]: the live run's API calls: namespaces, watches with timeouts,
//!   strict creation; Velero's install, Schedule, backups, Restore and downloads.
//! - [`exec`]: external commands, recorded in `commands.log`; [`preflight`]: tools on PATH;
//!   [`cluster`]: the kind and existing-cluster providers.
//! - [`store`]: the backup store through the S3 API (rusty-s3 over hyper); [`minio`]: the MinIO
//!   container a kind run keeps it in; [`secret_file`]: credentials written 0600.
//! - [`fault`]: the cluster-level faults' pieces: node loss, cluster loss, backup-storage loss.
//! - [`drill`]: the monthly restore drill's decisions (backup, target, Restore, comparison).
//! - [`run`]: the live run: the engine sequencing the phases over a world (real or fake),
//!   the ground-truth poller, the progress display and the run directory;
//!   [`workload`]: the ledger image and the workload objects; [`diagnostics`]: what a
//!   failed run leaves to explain itself.
//! - [`simulate`]: how often each tier's RPO target is breached, sampled from the Schedules alone.
//! - [`error`]: the one error type and its exit codes.

pub mod cli;
pub mod clock;
pub mod cluster;
pub mod command;
pub mod diagnostics;
pub mod drill;
pub mod error;
pub mod exec;
pub mod fault;
pub mod ground_truth;
pub mod kube;
pub mod ledger;
pub mod measure;
pub mod minio;
pub mod outcome;
pub mod plan;
pub mod preflight;
pub mod report;
pub mod result;
pub mod run;
pub mod scenario;
pub mod secret_file;
pub mod simulate;
pub mod store;
pub mod timeline;
pub mod velero;
pub mod verdict;
pub mod workload;

pub use error::Error;
