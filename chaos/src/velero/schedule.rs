//! The run's Velero Schedule: created from the plan's own manifest (the text `run --plan`
//! prints), strictly validated by the API server, labelled for the run, and deleted at the
//! end (on an existing cluster it lives in Velero's namespace, not in one the run made).

use ::kube::api::DeleteParams;
use ::kube::{Api, Client};
use policy::velero::Schedule;

use super::restore::VELERO_NAMESPACE;
use crate::error::Error;
use crate::kube::namespace::RUN_LABEL;
use crate::kube::strict;

/// The Schedule the run sends: the plan's manifest ([`crate::plan::manifests::schedule`])
/// parsed, with the run's label ([`RUN_LABEL`]` = run_id`).
pub fn object(manifest: &str, run_id: &str) -> Result<Schedule, Error> {
    let mut schedule: Schedule =
        serde_saphyr::from_str(manifest).map_err(|e| Error::InvalidArgument {
            argument: "Schedule manifest".into(),
            message: e.to_string(),
        })?;
    schedule
        .metadata
        .labels
        .get_or_insert_default()
        .insert(RUN_LABEL.to_owned(), run_id.to_owned());
    Ok(schedule)
}

/// Creates [`object`] with `fieldValidation=Strict`; returns the Schedule as the API server
/// stored it.
pub async fn create(client: &Client, manifest: &str, run_id: &str) -> Result<Schedule, Error> {
    let schedule = object(manifest, run_id)?;
    let name = schedule.metadata.name.clone().unwrap_or_default();
    strict::create(
        client,
        Some(VELERO_NAMESPACE),
        &schedule,
        format!("create Schedule {VELERO_NAMESPACE}/{name}"),
    )
    .await
}

/// Deletes the Schedule `name` (the backups it made stay until their TTL). A Schedule that
/// is already gone is not an error: teardown may run twice (Ctrl-C during teardown).
pub async fn delete(client: &Client, name: &str) -> Result<(), Error> {
    let api: Api<Schedule> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(::kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(source) => Err(Error::Kube {
            action: format!("delete Schedule {VELERO_NAMESPACE}/{name}"),
            source: Box::new(source),
        }),
    }
}
