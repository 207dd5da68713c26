//! Each fault's live steps, as the engine runs them: how it strikes and how the harness sees
//! it, up to the point a restore can bring the data back. A new fault is one more arm of
//! [`Run::strike`] and one more method here.

use crate::clock::Stamp;
use crate::error::Error;
use crate::scenario::FaultKind;
use crate::timeline::Phase;

use super::super::world::{BackupTaken, World};
use super::Run;
use crate::fault::corruption;

/// How the run recovers from a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Recovery {
    /// The backup to restore; `None` when none is left (the run ends without a restore).
    pub backup: Option<String>,
    /// Restore every namespace of the backup (after cluster loss), not only the workload's.
    pub every_namespace: bool,
    /// Judge the restore as one from a corrupted repository.
    pub judge_corruption: bool,
}

impl From<&BackupTaken> for Recovery {
    /// The restore of the backup chosen at the fault, as usual.
    fn from(chosen: &BackupTaken) -> Self {
        Self {
            backup: Some(chosen.name.clone()),
            every_namespace: false,
            judge_corruption: false,
        }
    }
}

impl<W: World> Run<'_, W> {
    /// Strikes `kind`; returns once the harness has seen the loss (phases Fault and Detect,
    /// and Reprovision after cluster loss), with how the run recovers.
    pub(super) async fn strike(
        &self,
        kind: FaultKind,
        chosen: &BackupTaken,
        steady: Stamp,
    ) -> Result<Recovery, Error> {
        match kind {
            FaultKind::NamespaceLoss => self.namespace_loss().await?,
            FaultKind::PvcCorruption => self.pvc_corruption().await?,
            FaultKind::NodeLoss => return self.node_loss(chosen).await,
            FaultKind::ClusterLoss => return self.cluster_loss(chosen).await,
            FaultKind::StorageLoss => return self.storage_loss(chosen, steady).await,
        }
        Ok(Recovery::from(chosen))
    }

    /// Deletes the namespace; the loss is seen once it is gone.
    async fn namespace_loss(&self) -> Result<(), Error> {
        let (world, t) = (self.world, &self.config.timeouts);
        self.mark(Phase::Fault);
        self.bounded(
            "the namespace to be deleted",
            t.fault,
            world.delete_namespace(),
        )
        .await?;
        self.enter(Phase::Detect, "waiting for the namespace to be gone");
        self.bounded(
            "the namespace to be gone",
            t.fault,
            world.wait_namespace_gone(t.fault),
        )
        .await?;
        self.mark(Phase::Detect);
        Ok(())
    }

    /// Stops the writer, overwrites bytes at a seeded offset, confirms the chain is broken,
    /// then deletes the namespace (Velero's restore skips objects that exist).
    async fn pvc_corruption(&self) -> Result<(), Error> {
        let (world, t) = (self.world, &self.config.timeouts);
        let bytes = self.config.scenario.fault.corruption_bytes();
        let records = self.truth.newest_seq().unwrap_or(0);
        let offset = corruption::offset(self.config.seed, records, bytes).ok_or_else(|| {
            Error::invalid(
                &self.config.scenario_file,
                "fault.after",
                format!(
                    "only {records} records were acknowledged before the fault: too few to \
                     overwrite {bytes} bytes inside them and keep one intact record after"
                ),
            )
        })?;
        self.mark(Phase::Fault);
        self.bounded("the writer to stop", t.fault, world.stop_writer(t.fault))
            .await?;
        self.enter(
            Phase::Detect,
            &format!("overwriting {bytes} bytes at offset {offset}; verifying the damaged ledger"),
        );
        let damaged = self
            .bounded(
                "the corruption Job and its verification",
                t.fault,
                world.corrupt_ledger(offset, bytes, t.fault),
            )
            .await?;
        let Some(broken) = damaged.first_broken_seq else {
            return Err(Error::FaultDidNotTake(format!(
                "after overwriting {bytes} bytes at offset {offset}, the verifier still finds \
                 the chain intact ({} records)",
                damaged.records
            )));
        };
        self.progress
            .event(&format!("the chain breaks at seq {broken}"));
        self.mark(Phase::Detect);
        self.progress
            .event("deleting the damaged namespace: Velero's restore skips objects that exist");
        self.bounded(
            "the damaged namespace to be deleted",
            t.fault,
            world.delete_namespace(),
        )
        .await?;
        self.bounded(
            "the damaged namespace to be gone",
            t.fault,
            world.wait_namespace_gone(t.fault),
        )
        .await
    }
}
