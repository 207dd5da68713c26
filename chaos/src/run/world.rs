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
use crate::fault::backup_deletion::DeletedBackup;
use crate::fault::fallback::{Fallback, Unrestorable};
use crate::fault::node::{ForceRemoved, StoppedNode};
use crate::fault::repository::CorruptedRepository;
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

    // node-loss
    /// Stops the kind node that runs the ledger's pod (`docker stop` of its container).
    async fn stop_ledger_node(&self) -> Result<StoppedNode, Error>;
    /// Waits until the API server shows the Node `node` dead (Ready `Unknown` or `False`);
    /// returns the condition in words.
    async fn wait_node_dead(&self, node: &str, timeout: Duration) -> Result<String, Error>;
    /// Removes what the dead node holds of the ledger: its pod (grace period 0), its claim
    /// and the volume pinned to the node.
    async fn force_remove_ledger(&self, timeout: Duration) -> Result<ForceRemoved, Error>;
    /// The node the ledger's pod runs on now.
    async fn ledger_node(&self) -> Result<String, Error>;

    // cluster-loss
    /// Deletes the whole cluster (the store outside it stays).
    async fn delete_cluster(&self, timeout: Duration) -> Result<(), Error>;
    /// Creates a new cluster like the lost one, with the ledger image in it (Velero comes
    /// next, through [`World::install_velero`]); returns its name.
    async fn recreate_cluster(&self, timeout: Duration) -> Result<String, Error>;
    /// Waits until Velero's backup sync has brought the Backup `backup` into the cluster.
    async fn wait_backup_synced(&self, backup: &str, timeout: Duration) -> Result<(), Error>;
    /// Creates the Restore of every namespace `backup` holds; returns its name.
    async fn create_restore_of_everything(&self, backup: &str) -> Result<String, Error>;

    // storage-loss
    /// Deletes every object of `backup` from the store.
    async fn delete_backup_objects(&self, backup: &str) -> Result<DeletedBackup, Error>;
    /// How Velero shows that `backup` (deleted from the store) cannot be restored.
    async fn how_unrestorable(
        &self,
        backup: &str,
        timeout: Duration,
    ) -> Result<Unrestorable, Error>;
    /// The backup to restore instead of `lost`: the newest whole one that started between
    /// `after` and `before`.
    async fn fall_back(
        &self,
        lost: &BackupTaken,
        unrestorable: Unrestorable,
        after: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<Fallback, Error>;
    /// Overwrites the data objects of the workload namespace's file-system backup repository.
    async fn corrupt_repository(&self) -> Result<CorruptedRepository, Error>;

    /// Writes what explains a failure (pods, events, Velero status and logs) under `dir`.
    async fn collect_diagnostics(&self, dir: &Path, timeout: Duration) -> Result<(), Error>;
    /// Removes everything the run created (cluster, store, namespaces).
    async fn teardown(&self, timeout: Duration) -> Result<(), Error>;
    /// Stops external commands still running (the run was interrupted or failed): what
    /// follows, diagnostics and teardown, must not race a `kind create cluster`.
    fn stop_commands(&self) {}
}
