//! Everything the run does to the world outside the harness, as one trait: the engine
//! sequences these calls, the real world ([`super::real`]) makes them with kind, docker,
//! velero and the Kubernetes API, and tests make them against a fake.
//!
//! Every method that waits takes its timeout and fails with [`Error::Timeout`] naming what
//! it waited for and the last state it saw; the engine bounds each call again, so a method
//! that hangs still ends the run.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::ledger::verify::Verification;
use crate::outcome::{PodsOutcome, RestoreOutcome};

pub use crate::ground_truth::LastAck;
pub use crate::velero::backup::BackupTaken;

/// The versions a run reports in `result.json` that only the world knows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorldVersions {
    pub kubernetes: String,
    pub kind: String,
}

/// The outside world of a live run. Calls come in the engine's order; [`World::teardown`]
/// and [`World::collect_diagnostics`] may come at any point (after an error or an
/// interrupt) and must cope with a world that is only partly set up.
#[allow(async_fn_in_trait)] // the engine runs on one task: no Send bound is needed
pub trait World {
    /// Creates the cluster (or admits the existing one) and starts the backup store.
    async fn provision(&self, timeout: Duration) -> Result<WorldVersions, Error>;
    /// Installs Velero (or finds it) and waits until its BackupStorageLocation is Available;
    /// returns the Velero server's version.
    async fn install_velero(&self, timeout: Duration) -> Result<String, Error>;
    /// Deploys the workload and waits until its pods are Ready.
    async fn deploy_workload(&self, timeout: Duration) -> Result<(), Error>;
    /// One `GET /last` of the writer (no retry: the poller calls again).
    async fn ledger_last(&self) -> Result<LastAck, Error>;
    /// Creates the scenario's Velero Schedule.
    async fn create_schedule(&self) -> Result<(), Error>;
    /// Waits for the first backup of the Schedule that started after `after` and qualifies.
    async fn wait_backup(
        &self,
        after: DateTime<Utc>,
        timeout: Duration,
    ) -> Result<BackupTaken, Error>;
    /// The newest backup of the Schedule that started after `after` and qualifies (asked at
    /// the fault: the restore uses the newest usable backup, as an operator would).
    async fn choose_backup(&self, after: DateTime<Utc>) -> Result<BackupTaken, Error>;
    /// Deletes the workload's namespace (the API server answers at once: Terminating).
    async fn delete_namespace(&self) -> Result<(), Error>;
    /// Waits until the workload's namespace is gone.
    async fn wait_namespace_gone(&self, timeout: Duration) -> Result<(), Error>;
    /// Stops the writer (scales it to zero) and waits until its pod is gone.
    async fn stop_writer(&self, timeout: Duration) -> Result<(), Error>;
    /// Overwrites `bytes` bytes of the ledger at rest at `offset` (from a Job that mounts
    /// the claim) and returns the verifier's report of the damaged file.
    async fn corrupt_ledger(
        &self,
        offset: u64,
        bytes: u64,
        timeout: Duration,
    ) -> Result<Verification, Error>;
    /// Creates the Restore of `backup`; returns its name.
    async fn create_restore(&self, backup: &str) -> Result<String, Error>;
    /// Waits until the Restore `name` reaches a terminal phase.
    async fn wait_restore(
        &self,
        name: &str,
        backup: &str,
        timeout: Duration,
    ) -> Result<RestoreOutcome, Error>;
    /// Waits until the restored workload's pods are Ready.
    async fn wait_pods_ready(&self, timeout: Duration) -> Result<PodsOutcome, Error>;
    /// The restored ledger's bytes as the restored pod found them at its start.
    async fn read_restored_ledger(&self, timeout: Duration) -> Result<Vec<u8>, Error>;
    /// Writes what explains a failure (pods, events, Velero status and logs) under `dir`.
    async fn collect_diagnostics(&self, dir: &Path, timeout: Duration) -> Result<(), Error>;
    /// Removes everything the run created (cluster, store, namespaces).
    async fn teardown(&self, timeout: Duration) -> Result<(), Error>;
    /// Stops external commands still running (the run was interrupted or failed): what
    /// follows, diagnostics and teardown, must not race a `kind create cluster`.
    fn stop_commands(&self) {}
}
