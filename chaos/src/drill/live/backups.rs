//! The schedule's Backups, listed by Velero's schedule label.

use ::kube::api::ListParams;
use ::kube::{Api, Client};
use policy::velero::Backup;

use super::super::backup::SCHEDULE_LABEL;
use super::super::restore::VELERO_NAMESPACE;
use super::api_error;
use crate::error::Error;

/// Every Backup of `schedule` in Velero's namespace. A 404 for the list means the API server
/// does not serve `backups.velero.io` (capture 01: an unserved group or resource answers
/// `404 page not found` as text/plain): Velero is not installed.
pub async fn of_schedule(client: &Client, schedule: &str) -> Result<Vec<Backup>, Error> {
    let api: Api<Backup> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    let selector = format!("{SCHEDULE_LABEL}={schedule}");
    match api.list(&ListParams::default().labels(&selector)).await {
        Ok(list) => Ok(list.items),
        Err(::kube::Error::Api(status)) if status.code == 404 => Err(Error::Unavailable(
            "Velero is not installed in this cluster: the API server does not serve \
             backups.velero.io/v1 (404 for the Backup list). Install Velero, or point \
             --context at the cluster that runs it."
                .to_owned(),
        )),
        Err(e) => Err(api_error(
            format!("list Backups in {VELERO_NAMESPACE} labelled {selector}"),
            e,
        )),
    }
}
