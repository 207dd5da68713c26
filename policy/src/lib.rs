//! Backstop's coverage truth: which Velero Schedules protect a Namespace or PersistentVolumeClaim,
//! and what its worst-case RPO is. Pure: no I/O, no clock, no cluster access.
//!
//! - [`config`]: the policy file (tiers, protected set, exemptions, enforcement).
//! - [`velero`]: Velero CRD types (`Schedule`, `Backup`, `Restore`, `BackupStorageLocation`).
//! - [`objects`]: the few fields of Namespaces, PVCs, Pods and storage classes coverage reads.
//! - [`cron`]: Velero's cron dialect and the worst-case interval between firings.
//! - [`schedule`]: a Schedule compiled once into filters Backstop can test cheaply.
//! - [`server`], [`versions`]: the Velero server judged against, and the rules that changed
//!   between its releases.
//! - [`volume_policy`], [`quantity`]: Velero's volume policies (a schedule's `resourcePolicy`
//!   ConfigMap) and the Kubernetes quantities their `capacity` condition compares.
//! - [`coverage`]: the Velero inclusion rules and the index that evaluates objects.
//! - [`verdict`]: per-object results, gap codes and fix-it messages.
//! - [`evidence`]: what the newest real backups hold, beside the prediction.
//! - [`consistency`]: databases backed up by volume without a pre-backup hook.
//! - [`inventory`], [`origin`], [`workloads`]: the objects read from manifests or a cluster,
//!   where each came from, and workload controllers as the pods and claims they will run.

pub mod config;
pub mod consistency;
pub mod coverage;
pub mod cron;
pub mod duration;
mod error;
pub mod evidence;
pub mod inventory;
pub mod objects;
pub mod origin;
pub mod pattern;
pub mod quantity;
pub mod resources;
pub mod schedule;
pub mod server;
pub mod velero;
pub mod verdict;
pub mod versions;
pub mod volume_policy;
pub mod workloads;
pub mod yaml;

pub use config::{Enforcement, Policy, Tier};
pub use coverage::CoverageIndex;
pub use error::PolicyError;
pub use inventory::Inventory;
pub use verdict::{Detail, Gap, GapCode, ObjectKind, Severity, Verdict};
