//! The run's namespace: created labelled as the run's, deleted by a fault, watched until gone.

use std::time::Duration;

use ::kube::api::DeleteParams;
use ::kube::{Api, Client};
use k8s_openapi::api::core::v1::Namespace;

use super::wait::{self, Target};
use crate::error::Error;

/// Label on everything the harness creates, with the run's id as its value: on an existing
/// cluster the harness touches only what carries it.
pub const RUN_LABEL: &str = "backstop.io/chaos-run";

fn kube_error(action: String) -> impl FnOnce(::kube::Error) -> Error {
    move |source| Error::Kube {
        action,
        source: Box::new(source),
    }
}

/// Deletes `name`. The API server answers a namespace DELETE with the Namespace itself, in
/// phase Terminating; the namespace is gone only once its finalizers ran ([`wait_gone`]).
pub async fn delete(client: &Client, name: &str) -> Result<(), Error> {
    let api: Api<Namespace> = Api::all(client.clone());
    api.delete(name, &DeleteParams::background())
        .await
        .map_err(kube_error(format!("delete namespace {name}")))?;
    Ok(())
}

/// Creates `name` labelled for the run `run_id`, with strict field validation.
pub async fn create(client: &Client, name: &str, run_id: &str) -> Result<Namespace, Error> {
    super::strict::create(
        client,
        None,
        &manifest(name, run_id),
        format!("create namespace {name}"),
    )
    .await
}

/// The run's Namespace: `name`, labelled for the run.
pub fn manifest(name: &str, run_id: &str) -> Namespace {
    let mut namespace = Namespace::default();
    namespace.metadata.name = Some(name.to_owned());
    namespace.metadata.labels = Some([(RUN_LABEL.to_owned(), run_id.to_owned())].into());
    namespace
}

/// Watches until the namespace `name` no longer exists.
pub async fn wait_gone(client: &Client, name: &str, timeout: Duration) -> Result<(), Error> {
    let api: Api<Namespace> = Api::all(client.clone());
    wait::until(
        &api,
        Target {
            name,
            what: format!("namespace {name} to be gone"),
            timeout,
        },
        |ns| ns.is_none().then_some(()),
        |ns| match ns {
            None => "no such namespace".into(),
            Some(ns) => format!(
                "namespace {name} in phase {}{}",
                ns.status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .unwrap_or("(none)"),
                if ns.metadata.deletion_timestamp.is_some() {
                    ", deletion requested"
                } else {
                    ""
                }
            ),
        },
    )
    .await
}
