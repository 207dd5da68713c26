//! Taking the world down and saying what went wrong: teardown removes what [`super::Created`]
//! records, each removal tried even when one before failed (the first failure is the
//! error); diagnostics run their captures into the run's `diagnostics/`.
//!
//! On kind, deleting the cluster and the MinIO container removes everything. On an existing
//! cluster the run removes its Restore, its backups (a DeleteBackupRequest each, so Velero
//! deletes them from the store too), its Schedule and the namespaces it created, and
//! nothing else.

use std::path::Path;
use std::time::Duration;

use ::kube::api::{DeleteParams, DynamicObject, ListParams};
use ::kube::{Api, Client, ResourceExt};
use policy::velero::keys::SCHEDULE_NAME;
use policy::velero::{Backup, Restore};

use super::{Cluster, RealWorld, blocking, kube_error};
use crate::cluster::kind;
use crate::diagnostics::{self, Access, Known};
use crate::error::Error;
use crate::kube::namespace;
use crate::kube::strict;
use crate::minio;
use crate::plan::NAMESPACE;
use crate::velero::restore::VELERO_NAMESPACE;
use crate::velero::schedule;

/// Keeps the first error of several attempts.
fn first(kept: &mut Option<Error>, result: Result<(), Error>) {
    if let Err(e) = result {
        tracing::warn!("teardown: {e}");
        kept.get_or_insert(e);
    }
}

fn gone_is_fine(result: Result<(), Error>) -> Result<(), Error> {
    match result {
        Err(Error::Kube { source, .. }) if matches!(source.as_ref(), ::kube::Error::Api(s) if s.code == 404) => {
            Ok(())
        }
        other => other,
    }
}

impl RealWorld {
    pub(super) async fn remove_everything(&self, timeout: Duration) -> Result<(), Error> {
        self.runner.stop_running();
        let mut failed = None;
        match &self.setup.cluster {
            Cluster::Kind { name } => {
                if self.created().cluster {
                    let argv = kind::delete_argv(name, &self.setup.dir.kubeconfig());
                    let deleted = self.checked(argv, timeout).await.map(drop);
                    if deleted.is_ok() {
                        self.created().cluster = false;
                    }
                    first(&mut failed, deleted);
                }
                let store = self.created().store.clone();
                if let Some(container) = store {
                    let runner = self.runner.clone();
                    let removed =
                        blocking(move || minio::remove(runner.as_ref(), &container)).await;
                    if removed.is_ok() {
                        let mut created = self.created();
                        created.store = None;
                        created.minio = None;
                    }
                    first(&mut failed, removed);
                }
            }
            Cluster::Existing { .. } => {
                if let Ok(client) = self.client() {
                    self.remove_from_existing(&client, timeout, &mut failed)
                        .await;
                }
            }
        }
        failed.map_or(Ok(()), Err)
    }

    async fn remove_from_existing(
        &self,
        client: &Client,
        timeout: Duration,
        failed: &mut Option<Error>,
    ) {
        let (restore, schedule_name, namespaces) = {
            let created = self.created();
            (
                created.restore.clone(),
                created.schedule.clone(),
                created.namespaces.clone(),
            )
        };
        if let Some(name) = restore {
            let api: Api<Restore> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
            let deleted = api
                .delete(&name, &DeleteParams::background())
                .await
                .map(drop)
                .map_err(kube_error(format!(
                    "delete Restore {VELERO_NAMESPACE}/{name}"
                )));
            first(failed, gone_is_fine(deleted));
        }
        if let Some(name) = schedule_name {
            first(failed, schedule::delete(client, &name).await);
            first(failed, self.delete_backups(client, &name).await);
        }
        for ns in namespaces {
            let deleted = gone_is_fine(namespace::delete(client, &ns).await);
            let gone = match deleted {
                Ok(()) => namespace::wait_gone(client, &ns, timeout).await,
                Err(e) => Err(e),
            };
            first(failed, gone);
        }
    }

    /// A DeleteBackupRequest for every Backup of the run's Schedule (Velero removes the
    /// Backup object and its data in the store).
    async fn delete_backups(&self, client: &Client, schedule: &str) -> Result<(), Error> {
        let api: Api<Backup> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
        let selector = format!("{SCHEDULE_NAME}={schedule}");
        let backups = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(kube_error(format!(
                "list Backups in {VELERO_NAMESPACE} labelled {selector}"
            )))?;
        let resource = ::kube::api::ApiResource::from_gvk_with_plural(
            &::kube::api::GroupVersionKind::gvk("velero.io", "v1", "DeleteBackupRequest"),
            "deletebackuprequests",
        );
        for backup in backups.items {
            let name = backup.name_any();
            let request: DynamicObject =
                serde_json::from_value(crate::velero::backup::delete_request(&name, &self.run_id))
                    .map_err(|e| {
                        Error::Unavailable(format!("DeleteBackupRequest for {name}: {e}"))
                    })?;
            strict::create_dynamic(
                client,
                VELERO_NAMESPACE,
                &resource,
                &request,
                format!("create DeleteBackupRequest for Backup {VELERO_NAMESPACE}/{name}"),
            )
            .await?;
        }
        Ok(())
    }

    /// Runs the diagnostics captures into `dir` (they need no API client: kubectl and velero
    /// read the same kubeconfig). Only a cluster the run made or reached is looked at, and of
    /// an existing cluster only the namespace it created (and Velero's).
    pub(super) async fn diagnose(&self, dir: &Path, timeout: Duration) -> Result<(), Error> {
        let (kubeconfig, context) = self.access();
        let (known, namespace) = {
            let created = self.created();
            let known = Known {
                schedule: created.schedule.clone(),
                backup: created.backup.clone(),
                restore: created.restore.clone(),
            };
            let namespace = match &self.setup.cluster {
                Cluster::Kind { .. } if !created.cluster => {
                    return diagnostics::nothing(dir, "the run made no cluster");
                }
                Cluster::Existing { .. } if self.client().is_err() => {
                    return diagnostics::nothing(dir, "the run never reached the cluster");
                }
                Cluster::Kind { .. } => Some(NAMESPACE),
                Cluster::Existing { .. } => created
                    .namespaces
                    .iter()
                    .any(|n| n == NAMESPACE)
                    .then_some(NAMESPACE),
            };
            (known, namespace)
        };
        let captures = diagnostics::captures(
            &Access {
                kubeconfig: &kubeconfig,
                context: &context,
            },
            namespace,
            &known,
        );
        let runner = self.runner.clone();
        let dir = dir.to_owned();
        let deadline = std::time::Instant::now() + timeout;
        blocking(move || diagnostics::collect(runner.as_ref(), &dir, &captures, deadline)).await
    }
}
