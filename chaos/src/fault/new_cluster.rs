//! `cluster-loss`: after the old cluster is deleted and a fresh one runs Velero on the same
//! bucket, Velero's backup sync brings the backups from the store into the new cluster
//! (`pkg/controller/backup_sync_controller.go`: every folder of `backups/` whose metadata is
//! there and whose phase is `Completed`, `PartiallyFailed` or `Failed` is created as a Backup
//! object, at each sync period of the location); the run waits for the backup it restores
//! to appear, then restores every namespace it holds
//! ([`crate::plan::manifests::restore_everything`]).

use std::time::Duration;

use ::kube::{Api, Client};
use policy::velero::Backup;

use crate::drill::backup::{self, BackupRef};
use crate::error::Error;
use crate::kube::wait::{self, Target};
use crate::velero::restore::VELERO_NAMESPACE;

/// Watches until Velero's backup sync has created the Backup `name` in the new cluster, in
/// phase `Completed`.
pub async fn wait_synced(
    client: &Client,
    name: &str,
    timeout: Duration,
) -> Result<BackupRef, Error> {
    let api: Api<Backup> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    wait::until(
        &api,
        Target {
            name,
            what: format!(
                "Backup {VELERO_NAMESPACE}/{name} to be synced from the store into the new \
                 cluster (Velero's backup sync), Completed"
            ),
            timeout,
        },
        |found| {
            let found = backup::reference(found?);
            (found.phase == "Completed").then_some(found)
        },
        |found| match found {
            None => format!("no Backup {name} in the new cluster yet"),
            Some(b) => format!("Backup {name} in phase {}", backup::reference(b).phase),
        },
    )
    .await
}
