//! The cluster-level faults' live steps (issue 14): node-loss, cluster-loss and storage-loss,
//! each from the strike to the point a restore can bring the data back, and what the engine
//! checks after the restore for them. What each did and found goes into the run's
//! [`FaultReport`] as it happens, so a run that stops early still reports it.

use crate::clock::Stamp;
use crate::error::Error;
use crate::fault::fallback::Fallback;
use crate::fault::report::{self, CorruptionFinding, NewCluster, NodeLoss};
use crate::ledger::verify::Verification;
use crate::outcome::{PodsOutcome, RestoreOutcome, RestorePhase};
use crate::scenario::StorageLossMode;
use crate::timeline::Phase;

use super::super::world::{BackupTaken, World};
use super::{Recovery, Run};

impl<W: World> Run<'_, W> {
    /// Stops the ledger's node, watches the API server until the Node is dead, removes what
    /// stays stuck on it, and deletes the namespace so the restore recreates it elsewhere.
    pub(super) async fn node_loss(&self, chosen: &BackupTaken) -> Result<Recovery, Error> {
        let (world, t) = (self.world, &self.config.timeouts);
        self.mark(Phase::Fault);
        let stopped = self
            .bounded(
                "the ledger's node to be stopped",
                t.fault,
                world.stop_ledger_node(),
            )
            .await?;
        self.progress.event(&format!(
            "stopped node {} (container {})",
            stopped.node, stopped.container
        ));
        self.enter(
            Phase::Detect,
            &format!(
                "waiting for the API server to show node {} dead",
                stopped.node
            ),
        );
        let seen = self
            .bounded(
                &format!("node {} to turn NotReady", stopped.node),
                t.fault,
                world.wait_node_dead(&stopped.node, t.fault),
            )
            .await?;
        self.progress
            .event(&format!("node {}: {seen}", stopped.node));
        self.mark(Phase::Detect);
        self.enter(
            Phase::RestoreStart,
            "removing what the dead node holds: the pod, its claim, the pinned volume",
        );
        let removed = self
            .bounded(
                "the dead node's pod, claim and volume to be removed",
                t.fault,
                world.force_remove_ledger(t.fault),
            )
            .await?;
        self.state().fault.node = Some(NodeLoss {
            node: stopped.node,
            container: stopped.container,
            seen_dead: seen,
            force_removed: removed,
            restored_on: None,
        });
        self.delete_workload_namespace().await?;
        Ok(Recovery::from(chosen))
    }

    /// Deletes the cluster, creates a new one with Velero on the same bucket, and waits until
    /// Velero's sync has brought the chosen backup into it: the new cluster's provisioning is
    /// its own phase, inside the RTO.
    pub(super) async fn cluster_loss(&self, chosen: &BackupTaken) -> Result<Recovery, Error> {
        let (world, t) = (self.world, &self.config.timeouts);
        self.mark(Phase::Fault);
        self.bounded(
            "the cluster to be deleted",
            t.provision,
            world.delete_cluster(t.provision),
        )
        .await?;
        self.enter(Phase::Detect, "the cluster is gone");
        self.mark(Phase::Detect);
        self.enter(
            Phase::Reprovision,
            "creating a new cluster; installing Velero on the same bucket",
        );
        let cluster = self
            .bounded(
                "a new cluster",
                t.provision,
                world.recreate_cluster(t.provision),
            )
            .await?;
        let velero = self
            .bounded(
                "Velero on the same bucket, its BackupStorageLocation Available",
                t.install,
                world.install_velero(t.install),
            )
            .await?;
        self.progress.event(&format!(
            "Velero {velero} in the new cluster; waiting for its backup sync to bring {} in",
            chosen.name
        ));
        self.bounded(
            &format!("Backup {} to be synced into the new cluster", chosen.name),
            t.backup,
            world.wait_backup_synced(&chosen.name, t.backup),
        )
        .await?;
        self.state().fault.new_cluster = Some(NewCluster {
            cluster,
            synced_backup: chosen.name.clone(),
        });
        self.mark(Phase::Reprovision);
        Ok(Recovery {
            every_namespace: true,
            ..Recovery::from(chosen)
        })
    }

    /// Deletes the chosen backup's objects or corrupts the repository, then loses the
    /// namespace. After a deleted backup, finds how Velero shows it and falls back.
    pub(super) async fn storage_loss(
        &self,
        chosen: &BackupTaken,
        steady: Stamp,
    ) -> Result<Recovery, Error> {
        let (world, t) = (self.world, &self.config.timeouts);
        let fault = self.mark(Phase::Fault);
        match self.config.scenario.fault.storage_mode() {
            StorageLossMode::DeleteNewestBackup => {
                let deleted = self
                    .bounded(
                        &format!("the objects of backup {} to be deleted", chosen.name),
                        t.fault,
                        world.delete_backup_objects(&chosen.name),
                    )
                    .await?;
                self.progress.event(&format!(
                    "deleted {} object(s) of backup {} from the store",
                    deleted.objects.len(),
                    chosen.name
                ));
                self.state().fault.deleted_backup = Some(deleted);
                self.delete_workload_namespace().await?;
                self.enter(
                    Phase::Detect,
                    &format!("seeing how Velero shows backup {} is lost", chosen.name),
                );
                let how = self
                    .bounded(
                        &format!("Velero to show backup {} cannot be restored", chosen.name),
                        t.restore,
                        world.how_unrestorable(&chosen.name, t.restore),
                    )
                    .await?;
                let fallback: Fallback = self
                    .bounded(
                        "the backup to fall back to",
                        t.install,
                        world.fall_back(chosen, how, steady.wall, fault.wall),
                    )
                    .await?;
                self.progress.event(&fallback.explain());
                let backup = fallback.restored_from.as_ref().map(|b| b.name.clone());
                if let Some(older) = &fallback.restored_from {
                    self.restore_instead(BackupTaken {
                        name: older.name.clone(),
                        started: older.started.unwrap_or(chosen.started),
                        completed: older.completed.unwrap_or(chosen.completed),
                    })?;
                }
                self.state().fault.fallback = Some(fallback);
                self.mark(Phase::Detect);
                Ok(Recovery {
                    backup,
                    ..Recovery::from(chosen)
                })
            }
            StorageLossMode::CorruptRepository => {
                let corrupted = self
                    .bounded(
                        "the repository's data to be overwritten",
                        t.fault,
                        world.corrupt_repository(),
                    )
                    .await?;
                self.progress.event(&format!(
                    "overwrote {} data object(s) of the {} repository {}",
                    corrupted.altered.len(),
                    corrupted.engine,
                    corrupted.prefix
                ));
                self.state().fault.corrupted_repository = Some(corrupted);
                self.enter(
                    Phase::Detect,
                    "losing the namespace, so the backup is needed",
                );
                self.delete_workload_namespace().await?;
                self.mark(Phase::Detect);
                Ok(Recovery {
                    judge_corruption: true,
                    ..Recovery::from(chosen)
                })
            }
        }
    }

    /// Deletes the workload's namespace and waits until it is gone.
    async fn delete_workload_namespace(&self) -> Result<(), Error> {
        let (world, t) = (self.world, &self.config.timeouts);
        self.bounded(
            "the namespace to be deleted",
            t.fault,
            world.delete_namespace(),
        )
        .await?;
        self.bounded(
            "the namespace to be gone",
            t.fault,
            world.wait_namespace_gone(t.fault),
        )
        .await
    }

    /// After the restore of a corrupted repository: a restore that did not complete is the
    /// finding, and the run goes no further (its pods would wait for volume data that never
    /// comes). Returns whether the run goes on.
    pub(super) fn restore_judged(&self, recovery: &Recovery, restore: &RestoreOutcome) -> bool {
        if !recovery.judge_corruption || restore.phase == RestorePhase::Completed {
            return true;
        }
        self.record_finding(CorruptionFinding::RestoreFailed {
            phase: restore.phase,
            errors: restore.errors.clone(),
        });
        false
    }

    /// After the restore of a corrupted repository: pods that never got Ready are the
    /// finding (and the pods outcome), not an infrastructure failure.
    pub(super) fn pods_judged(&self, recovery: &Recovery, error: Error) -> Result<(), Error> {
        match error {
            Error::Timeout { last_seen, .. } if recovery.judge_corruption => {
                self.state().pods = Some(PodsOutcome {
                    ready: false,
                    detail: last_seen.clone(),
                });
                self.record_finding(CorruptionFinding::NothingRead {
                    why: format!("the restored pods never got Ready: {last_seen}"),
                });
                Ok(())
            }
            other => Err(other),
        }
    }

    /// After the data was read: where a node-loss restore landed, and what a corrupted
    /// repository's restore came to (a restore that shows no damage at all means the
    /// corruption never reached what was restored: the fault did not take).
    pub(super) async fn data_judged(
        &self,
        recovery: &Recovery,
        restore: &RestoreOutcome,
        restored: &Verification,
    ) -> Result<(), Error> {
        if self.state().fault.node.is_some() {
            let on = self
                .bounded(
                    "the restored pod's node",
                    self.config.timeouts.data,
                    self.world.ledger_node(),
                )
                .await?;
            self.progress
                .event(&format!("the restored pod runs on node {on}"));
            if let Some(node) = self.state().fault.node.as_mut() {
                node.restored_on = Some(on);
            }
        }
        if recovery.judge_corruption {
            match report::judge_corruption(restore, Some(restored), None) {
                Some(finding) => self.record_finding(finding),
                None => {
                    return Err(Error::FaultDidNotTake(
                        "the restore from the corrupted repository Completed and the restored \
                         chain verifies: the restore did not read the altered objects (kopia \
                         may have served them from the node agent's cache)"
                            .into(),
                    ));
                }
            }
        }
        Ok(())
    }

    fn record_finding(&self, finding: CorruptionFinding) {
        self.progress.event(&finding.reason());
        self.state().fault.corruption_finding = Some(finding);
    }
}
