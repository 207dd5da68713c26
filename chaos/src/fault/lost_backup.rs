//! After `delete-newest-backup`, the calls that find out how Velero shows the loss (the
//! decisions are in [`super::fallback`]): is the Backup object still in the cluster, and if
//! so, what a Restore of it does.

use std::time::Duration;

use ::kube::{Api, Client};
use policy::velero::{Backup, Restore};

use super::fallback::Unrestorable;
use crate::error::Error;
use crate::kube::strict;
use crate::outcome::RestorePhase;
use crate::velero::restore::{self, VELERO_NAMESPACE};

fn kube_error(action: String) -> impl FnOnce(::kube::Error) -> Error {
    move |source| Error::Kube {
        action,
        source: Box::new(source),
    }
}

/// Whether Velero's namespace still holds the Backup `name` (a 404 is "no", as a GET of a
/// missing object answers: capture 03).
pub async fn backup_exists(client: &Client, name: &str) -> Result<bool, Error> {
    let api: Api<Backup> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    match api.get(name).await {
        Ok(_) => Ok(true),
        Err(::kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(e) => Err(kube_error(format!("get Backup {VELERO_NAMESPACE}/{name}"))(
            e,
        )),
    }
}

/// Finds out how Velero shows that `backup` cannot be restored: gone from the cluster
/// (its sync removed it), or a Restore `restore_manifest` (named `restore_name`) that ends
/// `Failed`, `FailedValidation` or `PartiallyFailed`, with Velero's reason. A Restore of it
/// that ends `Completed` means the deleted objects were not what Velero needed: the fault
/// did not take.
pub async fn how_unrestorable(
    client: &Client,
    backup: &str,
    restore_name: &str,
    restore_manifest: &str,
    timeout: Duration,
) -> Result<Unrestorable, Error> {
    if !backup_exists(client, backup).await? {
        return Ok(Unrestorable::RemovedBySync);
    }
    let object: Restore =
        serde_saphyr::from_str(restore_manifest).map_err(|e| Error::InvalidArgument {
            argument: "Restore manifest".into(),
            message: e.to_string(),
        })?;
    strict::create(
        client,
        Some(VELERO_NAMESPACE),
        &object,
        format!("create Restore {VELERO_NAMESPACE}/{restore_name}"),
    )
    .await?;
    let finished = restore::wait_finished(client, restore_name, timeout).await?;
    if finished.phase == RestorePhase::Completed {
        return Err(Error::FaultDidNotTake(format!(
            "Restore {restore_name} of backup {backup} Completed although every object of the \
             backup was deleted from the store"
        )));
    }
    let api: Api<Restore> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    let status = api
        .get(restore_name)
        .await
        .map_err(kube_error(format!(
            "get Restore {VELERO_NAMESPACE}/{restore_name}"
        )))?
        .status
        .unwrap_or_default();
    let mut reasons: Vec<String> = status.validation_errors.unwrap_or_default();
    reasons.extend(status.failure_reason.filter(|r| !r.is_empty()));
    if reasons.is_empty() {
        reasons.push(format!(
            "{} error(s): see `velero restore describe {restore_name} --details`",
            finished.errors
        ));
    }
    Ok(Unrestorable::RestoreFailed {
        restore: restore_name.to_owned(),
        phase: finished.phase,
        reason: reasons.join("; "),
    })
}
