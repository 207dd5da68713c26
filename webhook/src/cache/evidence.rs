//! Backup evidence kept current in cluster mode: list/watch caches of Velero's records in the
//! policy's Velero namespace (Backups, PodVolumeBackups and, where the cluster serves the data
//! mover's `velero.io/v2alpha1`, DataUploads), each trimmed as it arrives to what
//! [`policy::evidence`] reads ([`trim`]), and a loop that judges them against the current
//! coverage index and publishes the result as metrics ([`crate::metrics::evidence`]).
//!
//! - Evidence is never on the request path: admission never reads it, and judging runs on the
//!   blocking pool, woken by a change of these caches or a new coverage index, after
//!   `debounce` (during a backup, PodVolumeBackups change every few seconds).
//! - Evidence never holds readiness: its caches are tracked beside readiness (their sync and
//!   staleness are exported like every cache's). A missing Backup or PodVolumeBackup CRD is
//!   reported and retried as for the other Velero caches; the webhook's readiness still depends
//!   only on the caches decisions read, whose Velero CRDs are missing too when Velero is.
//! - Nothing is judged before the first coverage index is ready and the Backups and
//!   PodVolumeBackups have synced once; an unserved DataUpload API counts as synced and empty.
//! - The same reflector machinery as the coverage caches ([`super::reflector`]), with its own
//!   change signal, so a backup's progress does not rebuild the coverage index.

pub mod trim;

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use kube::runtime::reflector::Store;
use kube::runtime::reflector::store::Writer;
use kube::{Client, Resource};
use policy::Detail;
use policy::evidence::{self, VeleroRecords};
use policy::velero::{Backup, DataUpload, PodVolumeBackup};
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::reflector::{Availability, Context, Reflector, Timing};
use crate::metrics::evidence::EvidenceSummary;
use crate::server::stopped;
use crate::state::AppState;

/// The evidence caches, as named in `backstop_cache_*{resource=…}`.
pub const EVIDENCE_RESOURCES: [&str; 3] = ["backups", "podvolumebackups", "datauploads"];

#[derive(Debug, Clone, Copy)]
pub struct EvidenceOptions {
    /// How long the loop gathers changes before judging again.
    pub debounce: Duration,
    /// Discovery, backoff and watch timings of the caches.
    pub timing: Timing,
    /// The wall clock evidence is judged and aged with (fixed in tests).
    pub clock: fn() -> Timestamp,
}

impl Default for EvidenceOptions {
    fn default() -> Self {
        Self {
            debounce: Duration::from_secs(5),
            timing: Timing::default(),
            clock: Timestamp::now,
        }
    }
}

/// The stores of Velero's records.
#[derive(Clone)]
struct Stores {
    backups: Store<Backup>,
    pod_volume_backups: Store<PodVolumeBackup>,
    data_uploads: Store<DataUpload>,
}

/// Starts the evidence caches and the loop that judges them; all stop when `shutdown` turns
/// true.
pub fn spawn(
    client: Client,
    state: AppState,
    options: EvidenceOptions,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let velero_namespace = state.index().policy().velero_namespace.clone();
    let context = Arc::new(Context {
        client: client.clone(),
        freshness: Arc::clone(&state.freshness),
        metrics: Arc::clone(&state.metrics),
        changed: Arc::new(Notify::new()),
        timing: options.timing,
    });
    for resource in EVIDENCE_RESOURCES {
        state.metrics.set_cache_synced(resource, false);
    }
    let stores = Stores {
        backups: start(
            Reflector {
                api: Api::namespaced(client.clone(), &velero_namespace),
                dyntype: (),
                resource: "backups",
                availability: Availability::Required,
                trim: trim::backup,
            },
            &context,
            &shutdown,
        ),
        pod_volume_backups: start(
            Reflector {
                api: Api::namespaced(client.clone(), &velero_namespace),
                dyntype: (),
                resource: "podvolumebackups",
                availability: Availability::Required,
                trim: trim::pod_volume_backup,
            },
            &context,
            &shutdown,
        ),
        data_uploads: start(
            Reflector {
                api: Api::namespaced(client, &velero_namespace),
                dyntype: (),
                resource: "datauploads",
                availability: Availability::Optional,
                trim: trim::data_upload,
            },
            &context,
            &shutdown,
        ),
    };
    tokio::spawn(judge_loop(state, stores, context, options, shutdown))
}

/// Starts one cache task; its store is what the loop reads.
fn start<K>(
    reflector: Reflector<K>,
    context: &Arc<Context>,
    shutdown: &watch::Receiver<bool>,
) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    let writer = Writer::new(reflector.dyntype.clone());
    let store = writer.as_reader();
    context.freshness.track_beside_readiness(reflector.resource);
    let context = Arc::clone(context);
    let stop = stopped(shutdown.clone());
    tokio::spawn(async move {
        tokio::select! {
            () = reflector.run(writer, context) => {}
            () = stop => {}
        }
    });
    store
}

async fn judge_loop(
    state: AppState,
    stores: Stores,
    context: Arc<Context>,
    options: EvidenceOptions,
    shutdown: watch::Receiver<bool>,
) {
    let stop = stopped(shutdown);
    tokio::pin!(stop);
    let mut index_changes = state.index_changes();
    let mut announced = false;
    loop {
        tokio::select! {
            () = context.changed.notified() => {}
            changed = index_changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = &mut stop => return,
        }
        let freshness = &context.freshness;
        // The first index swapped in is built from synced caches (`super::cluster`).
        let indexed = *index_changes.borrow_and_update() > 0;
        if !indexed
            || !EVIDENCE_RESOURCES
                .iter()
                .all(|resource| freshness.is_synced(resource))
        {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(options.debounce) => {}
            () = &mut stop => return,
        }
        let index = state.index();
        let (backups, volumes, uploads) = (
            stores.backups.state(),
            stores.pod_volume_backups.state(),
            stores.data_uploads.state(),
        );
        for (resource, count) in
            EVIDENCE_RESOURCES
                .into_iter()
                .zip([backups.len(), volumes.len(), uploads.len()])
        {
            state.metrics.set_cache_objects(resource, count);
        }
        let clock = options.clock;
        let judged = tokio::task::spawn_blocking(move || {
            let verdicts = index.evaluate_all_with(Detail::CodesOnly);
            let records = VeleroRecords {
                backups: backups.iter().map(AsRef::as_ref).collect(),
                pod_volume_backups: volumes.iter().map(AsRef::as_ref).collect(),
                data_uploads: uploads.iter().map(AsRef::as_ref).collect(),
            };
            let evidence = evidence::gather(&index, &verdicts, &records, clock());
            EvidenceSummary::of(&evidence, clock)
        })
        .await;
        match judged {
            Ok(summary) => {
                state.metrics.record_evidence(summary);
                if !announced {
                    announced = true;
                    tracing::info!(
                        "evidence: Velero's records synced and judged; metrics published"
                    );
                }
            }
            Err(error) => {
                tracing::error!(%error, "evidence: judging failed; evidence metrics stop here");
                return;
            }
        }
    }
}
