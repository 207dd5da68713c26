//! The cluster-level faults in the real world (issue 14), over the pieces of
//! [`crate::fault`]: the ledger's kind node stopped and its leftovers removed, the cluster
//! deleted and made again, the store's backups deleted or its repository corrupted through
//! the harness's own S3 client.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Cluster, LEDGER_POD, RealWorld};
use crate::cluster::kind;
use crate::drill::backup::BackupRef;
use crate::error::Error;
use crate::exec::Runner;
use crate::fault::backup_deletion::{self, DeletedBackup};
use crate::fault::corruption::LEDGER_CLAIM;
use crate::fault::fallback::{self, Fallback, Unrestorable, Window};
use crate::fault::node::{self, ForceRemoved, StoppedNode};
use crate::fault::repository::{self, CorruptedRepository};
use crate::fault::{lost_backup, new_cluster, stored_backups};
use crate::minio;
use crate::plan::{self, NAMESPACE};
use crate::run::world::BackupTaken;
use crate::store::Store;
use crate::velero::restore;
use crate::workload;

impl RealWorld {
    /// The run's kind cluster; the cluster-level faults strike only one the run created
    /// (scenario validation refuses them on an existing cluster).
    fn own_cluster(&self) -> Result<&str, Error> {
        match &self.setup.cluster {
            Cluster::Kind { name } => Ok(name),
            Cluster::Existing { .. } => Err(Error::InvalidArgument {
                argument: "--context".into(),
                message: format!(
                    "{} strikes only a kind cluster the harness created",
                    self.setup.scenario.fault.kind
                ),
            }),
        }
    }

    /// The harness's S3 client for the run's bucket.
    fn store(&self) -> Result<Store, Error> {
        let started = self.created().minio.clone().ok_or_else(|| {
            Error::Unavailable("the backup store was not started: nothing to strike".into())
        })?;
        minio::store(&started, &self.setup.scenario.store.bucket)
    }

    pub(super) async fn stop_node(&self) -> Result<StoppedNode, Error> {
        let cluster = self.own_cluster()?.to_owned();
        let runner: Arc<dyn Runner> = self.runner.clone();
        node::stop_node_of(&self.client()?, runner, &cluster, NAMESPACE, LEDGER_POD).await
    }

    pub(super) async fn node_dead(&self, name: &str, timeout: Duration) -> Result<String, Error> {
        node::wait_dead(&self.client()?, name, timeout).await
    }

    pub(super) async fn remove_leftovers(&self, timeout: Duration) -> Result<ForceRemoved, Error> {
        node::force_remove(
            &self.client()?,
            NAMESPACE,
            LEDGER_POD,
            LEDGER_CLAIM,
            timeout,
        )
        .await
    }

    pub(super) async fn node_of_ledger(&self) -> Result<String, Error> {
        node::pod_node(&self.client()?, NAMESPACE, LEDGER_POD).await
    }

    /// `kind delete cluster`; the store's container is outside it and stays.
    pub(super) async fn delete_own_cluster(&self, timeout: Duration) -> Result<(), Error> {
        let name = self.own_cluster()?.to_owned();
        self.checked(
            kind::delete_argv(&name, &self.setup.dir.kubeconfig()),
            timeout,
        )
        .await?;
        self.created().cluster = false;
        Ok(())
    }

    /// A new kind cluster of the same name and config (its kubeconfig rewritten, the clients
    /// pointed at it), with the ledger image loaded.
    pub(super) async fn recreate(&self, timeout: Duration) -> Result<String, Error> {
        let name = self.own_cluster()?.to_owned();
        self.create_kind(&name, timeout).await?;
        self.checked(
            workload::load_argv(self.setup.image.reference(), &name),
            timeout,
        )
        .await?;
        Ok(name)
    }

    pub(super) async fn backup_synced(&self, backup: &str, timeout: Duration) -> Result<(), Error> {
        new_cluster::wait_synced(&self.client()?, backup, timeout)
            .await
            .map(drop)
    }

    pub(super) async fn restore_everything(&self, backup: &str) -> Result<String, Error> {
        let name = plan::restore_name(&self.setup.scenario, self.setup.seed);
        let manifest = plan::manifests::restore_everything(&name, backup, &self.run_id);
        restore::create_labelled(&self.client()?, &manifest, &self.run_id).await?;
        self.created().restore = Some(name.clone());
        Ok(name)
    }

    pub(super) async fn delete_backup(&self, backup: &str) -> Result<DeletedBackup, Error> {
        self.own_cluster()?;
        backup_deletion::delete(&self.store()?, backup).await
    }

    /// The Restore tried of the deleted backup is named after the run's with `-newest`.
    pub(super) async fn unrestorable(
        &self,
        backup: &str,
        timeout: Duration,
    ) -> Result<Unrestorable, Error> {
        let name = format!(
            "{}-newest",
            plan::restore_name(&self.setup.scenario, self.setup.seed)
        );
        let manifest = plan::manifests::restore(&name, NAMESPACE, backup, &self.run_id);
        lost_backup::how_unrestorable(&self.client()?, backup, &name, &manifest, timeout).await
    }

    pub(super) async fn fallback(
        &self,
        lost: &BackupTaken,
        unrestorable: Unrestorable,
        after: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<Fallback, Error> {
        let schedule = plan::schedule_name(&self.setup.scenario, self.setup.seed);
        let in_cluster =
            crate::drill::live::backups::of_schedule(&self.client()?, &schedule).await?;
        let stored = stored_backups::read(&self.store()?).await?;
        let lost = BackupRef {
            name: lost.name.clone(),
            phase: "Completed".into(),
            started: Some(lost.started),
            completed: Some(lost.completed),
            warnings: 0,
            errors: 0,
        };
        Ok(fallback::choose(
            lost,
            unrestorable,
            Window {
                schedule: &schedule,
                after,
                before,
            },
            &in_cluster,
            &stored,
        ))
    }

    pub(super) async fn corrupt(&self) -> Result<CorruptedRepository, Error> {
        self.own_cluster()?;
        repository::corrupt(
            &self.store()?,
            self.setup.scenario.velero.fs_backup,
            NAMESPACE,
        )
        .await
    }
}
