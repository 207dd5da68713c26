//! Cluster mode: one kube-rs reflector per resource, and a rebuild loop that turns the stores
//! into a new coverage index, debounced, off the request path.
//!
//! - Every watcher event wakes the rebuild loop (a [`Notify`] permit, so bursts coalesce).
//! - Nothing is built until every reflector has reported its first full list
//!   ([`watcher::Event::InitDone`]); the first index built after that makes the webhook ready.
//! - After a wake-up the loop waits `debounce` for more changes, then builds once: a busy
//!   cluster costs at most one rebuild per `debounce` period, and parsed cron expressions are
//!   reused across rebuilds.
//! - VolumeSnapshotClasses are optional: a cluster without the snapshot CRDs (404) counts as
//!   synced with none, so a missing CRD cannot keep the webhook unready forever.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::Store;
use kube::runtime::reflector::store::Writer;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use policy::Inventory;
use policy::velero::{Schedule, VolumeSnapshotLocation};
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::{IndexBuilder, RESOURCES, convert};
use crate::metrics::Metrics;
use crate::server::stopped;

#[derive(Debug, Clone, Copy)]
pub struct ClusterOptions {
    /// How long the rebuild loop gathers changes before building a new index.
    pub debounce: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            debounce: Duration::from_millis(500),
        }
    }
}

/// What the reflector tasks share with the rebuild loop.
struct Shared {
    changed: Notify,
    synced: [AtomicBool; RESOURCES.len()],
    metrics: Arc<Metrics>,
}

impl Shared {
    fn mark_synced(&self, resource: &'static str) {
        if let Some(position) = RESOURCES.iter().position(|name| *name == resource)
            && let Some(flag) = self.synced.get(position)
            && !flag.swap(true, Ordering::AcqRel)
        {
            tracing::info!(resource, "cache: first full sync");
            self.metrics.set_cache_synced(resource, true);
        }
    }

    fn all_synced(&self) -> bool {
        self.synced.iter().all(|flag| flag.load(Ordering::Acquire))
    }
}

struct Stores {
    schedules: Store<Schedule>,
    namespaces: Store<Namespace>,
    pvcs: Store<PersistentVolumeClaim>,
    pods: Store<Pod>,
    storage_classes: Store<StorageClass>,
    snapshot_classes: Store<DynamicObject>,
    snapshot_locations: Store<VolumeSnapshotLocation>,
}

impl Stores {
    fn inventory(&self) -> Inventory {
        Inventory {
            schedules: self
                .schedules
                .state()
                .iter()
                .map(|schedule| Schedule::clone(schedule))
                .collect(),
            namespaces: self
                .namespaces
                .state()
                .iter()
                .map(|namespace| convert::namespace(namespace))
                .collect(),
            pvcs: self
                .pvcs
                .state()
                .iter()
                .map(|pvc| convert::pvc(pvc))
                .collect(),
            pods: self
                .pods
                .state()
                .iter()
                .map(|pod| convert::pod(pod))
                .collect(),
            storage_classes: self
                .storage_classes
                .state()
                .iter()
                .map(|class| convert::storage_class(class))
                .collect(),
            snapshot_classes: self
                .snapshot_classes
                .state()
                .iter()
                .map(|class| convert::snapshot_class(class))
                .collect(),
            snapshot_locations: self
                .snapshot_locations
                .state()
                .iter()
                .map(|location| convert::snapshot_location(location))
                .collect(),
        }
    }
}

/// The `snapshot.storage.k8s.io/v1` VolumeSnapshotClass resource (no typed struct in
/// k8s-openapi; only `driver` and the metadata are read).
pub fn snapshot_class_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("snapshot.storage.k8s.io", "v1", "VolumeSnapshotClass"),
        "volumesnapshotclasses",
    )
}

/// Starts the reflectors and the rebuild loop; both stop when `shutdown` turns true.
pub fn spawn(
    client: Client,
    builder: IndexBuilder,
    options: ClusterOptions,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let state = builder.state().clone();
    let velero_namespace = state.index().policy().velero_namespace.clone();
    for resource in RESOURCES {
        state.metrics.set_cache_synced(resource, false);
    }
    let shared = Arc::new(Shared {
        changed: Notify::new(),
        synced: Default::default(),
        metrics: Arc::clone(&state.metrics),
    });
    let reflect = Reflect {
        shared: &shared,
        shutdown: &shutdown,
    };
    let stores = Stores {
        schedules: reflect.start(
            Api::namespaced(client.clone(), &velero_namespace),
            (),
            "schedules",
            convert::trim::<Schedule>,
            false,
        ),
        namespaces: reflect.start(
            Api::all(client.clone()),
            (),
            "namespaces",
            convert::trim::<Namespace>,
            false,
        ),
        pvcs: reflect.start(
            Api::all(client.clone()),
            (),
            "persistentvolumeclaims",
            convert::trim::<PersistentVolumeClaim>,
            false,
        ),
        pods: reflect.start(
            Api::all(client.clone()),
            (),
            "pods",
            convert::trim_pod,
            false,
        ),
        storage_classes: reflect.start(
            Api::all(client.clone()),
            (),
            "storageclasses",
            convert::trim::<StorageClass>,
            false,
        ),
        snapshot_classes: reflect.start(
            Api::all_with(client.clone(), &snapshot_class_resource()),
            snapshot_class_resource(),
            "volumesnapshotclasses",
            convert::trim::<DynamicObject>,
            true,
        ),
        snapshot_locations: reflect.start(
            Api::namespaced(client, &velero_namespace),
            (),
            "volumesnapshotlocations",
            convert::trim::<VolumeSnapshotLocation>,
            false,
        ),
    };
    tokio::spawn(rebuild_loop(builder, stores, shared, options, shutdown))
}

struct Reflect<'a> {
    shared: &'a Arc<Shared>,
    shutdown: &'a watch::Receiver<bool>,
}

impl Reflect<'_> {
    /// Starts one reflector task and returns its store.
    fn start<K>(
        &self,
        api: Api<K>,
        dyntype: K::DynamicType,
        resource: &'static str,
        trim: fn(&mut K),
        optional: bool,
    ) -> Store<K>
    where
        K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::DynamicType: Eq + Hash + Clone + Send + Sync,
    {
        let writer = Writer::new(dyntype);
        let store = writer.as_reader();
        let shared = Arc::clone(self.shared);
        let shutdown = self.shutdown.clone();
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .modify(trim)
            .reflect(writer);
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            let stop = stopped(shutdown);
            tokio::pin!(stop);
            loop {
                let item = tokio::select! {
                    item = stream.next() => item,
                    () = &mut stop => return,
                };
                match item {
                    Some(Ok(event)) => {
                        if matches!(event, watcher::Event::InitDone) {
                            shared.mark_synced(resource);
                        }
                        shared.changed.notify_one();
                    }
                    Some(Err(error)) => {
                        if optional && is_not_found(&error) {
                            tracing::debug!(resource, "cache: resource not served here; none");
                            shared.mark_synced(resource);
                            shared.changed.notify_one();
                        } else {
                            tracing::warn!(resource, %error, "cache: watch failed; retrying");
                        }
                    }
                    None => return,
                }
            }
        });
        store
    }
}

fn is_not_found(error: &watcher::Error) -> bool {
    match error {
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => status.is_not_found(),
        _ => false,
    }
}

async fn rebuild_loop(
    mut builder: IndexBuilder,
    stores: Stores,
    shared: Arc<Shared>,
    options: ClusterOptions,
    shutdown: watch::Receiver<bool>,
) {
    let stop = stopped(shutdown);
    tokio::pin!(stop);
    let mut announced = false;
    loop {
        tokio::select! {
            () = shared.changed.notified() => {}
            () = &mut stop => return,
        }
        if !shared.all_synced() {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(options.debounce) => {}
            () = &mut stop => return,
        }
        let inventory = stores.inventory();
        builder = match tokio::task::spawn_blocking(move || {
            builder.rebuild(inventory);
            builder
        })
        .await
        {
            Ok(builder) => builder,
            Err(error) => {
                tracing::error!(%error, "cache: index rebuild failed; caches stop here");
                return;
            }
        };
        if !announced {
            announced = true;
            builder.state().set_ready(true);
            tracing::info!("cache: every resource synced and indexed; ready");
        }
    }
}
