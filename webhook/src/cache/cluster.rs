//! Cluster mode: one list/watch cache per resource ([`reflector`](super::reflector)), and a
//! rebuild loop that turns the stores into a new coverage index, debounced, off the request
//! path.
//!
//! - Every change wakes the rebuild loop (a [`Notify`] permit, so bursts coalesce).
//! - Nothing is built until every cache has completed its first full list; the first index
//!   built after that makes the webhook ready.
//! - After a wake-up the loop waits `debounce` for more changes, then builds once: a busy
//!   cluster costs at most one rebuild per `debounce` period, and parsed cron expressions are
//!   reused across rebuilds.
//! - VolumeSnapshotClasses are optional: a cluster that does not serve the snapshot API counts
//!   as having none (and is asked again every `timing.rediscover`); a missing Velero CRD keeps
//!   the webhook unready.
//! - A cache whose watch breaks keeps its last good copy; readiness turns false only once it
//!   is staler than `--max-cache-staleness` (see [`crate::state::freshness`]).
//!
//! Adding a resource is one [`Caches::add`] call in [`spawn`] (and its name in
//! [`RESOURCES`](super::RESOURCES) for the gauges).

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolume, PersistentVolumeClaim, Pod,
};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::Store;
use kube::runtime::reflector::store::Writer;
use kube::{Client, Resource};
use policy::Inventory;
use policy::velero::{BackupStorageLocation, Schedule, VolumeSnapshotLocation};
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::reflector::{Availability, Context, Reflector, Timing};
use super::{IndexBuilder, RESOURCES, convert};
use crate::server::stopped;

#[derive(Debug, Clone, Copy)]
pub struct ClusterOptions {
    /// How long the rebuild loop gathers changes before building a new index.
    pub debounce: Duration,
    /// Discovery, backoff and watch timings of every cache.
    pub timing: Timing,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            debounce: Duration::from_millis(500),
            timing: Timing::default(),
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

/// Starts the caches and the rebuild loop; all stop when `shutdown` turns true.
pub fn spawn(
    client: Client,
    builder: IndexBuilder,
    options: ClusterOptions,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let state = builder.state().clone();
    let velero_namespace = state.index().policy().velero_namespace.clone();
    let velero_deployment = state.index().policy().velero_deployment.clone();
    for resource in RESOURCES {
        state.metrics.set_cache_synced(resource, false);
    }
    let mut caches = Caches {
        context: Arc::new(Context {
            client: client.clone(),
            freshness: Arc::clone(&state.freshness),
            metrics: Arc::clone(&state.metrics),
            changed: Arc::new(Notify::new()),
            timing: options.timing,
        }),
        shutdown: &shutdown,
        sources: Vec::new(),
    };
    caches.add(
        Reflector {
            api: Api::<Schedule>::namespaced(client.clone(), &velero_namespace),
            dyntype: (),
            resource: "schedules",
            availability: Availability::Required,
            trim: convert::trim,
        },
        |schedules, inventory| {
            inventory.schedules = schedules.iter().map(|s| Schedule::clone(s)).collect();
        },
    );
    caches.add(
        Reflector {
            api: Api::<Namespace>::all(client.clone()),
            dyntype: (),
            resource: "namespaces",
            availability: Availability::Builtin,
            trim: convert::trim,
        },
        |namespaces, inventory| {
            inventory.namespaces = namespaces.iter().map(|n| convert::namespace(n)).collect();
        },
    );
    caches.add(
        Reflector {
            api: Api::<PersistentVolumeClaim>::all(client.clone()),
            dyntype: (),
            resource: "persistentvolumeclaims",
            availability: Availability::Builtin,
            trim: convert::trim,
        },
        |pvcs, inventory| inventory.pvcs = pvcs.iter().map(|pvc| convert::pvc(pvc)).collect(),
    );
    caches.add(
        Reflector {
            api: Api::<Pod>::all(client.clone()),
            dyntype: (),
            resource: "pods",
            availability: Availability::Builtin,
            trim: convert::trim_pod,
        },
        |pods, inventory| inventory.pods = pods.iter().map(|pod| convert::pod(pod)).collect(),
    );
    caches.add(
        Reflector {
            api: Api::<StorageClass>::all(client.clone()),
            dyntype: (),
            resource: "storageclasses",
            availability: Availability::Builtin,
            trim: convert::trim,
        },
        |classes, inventory| {
            inventory.storage_classes = classes.iter().map(|c| convert::storage_class(c)).collect();
        },
    );
    caches.add(
        Reflector {
            api: Api::<DynamicObject>::all_with(client.clone(), &snapshot_class_resource()),
            dyntype: snapshot_class_resource(),
            resource: "volumesnapshotclasses",
            availability: Availability::Optional,
            trim: convert::trim,
        },
        |classes, inventory| {
            inventory.snapshot_classes =
                classes.iter().map(|c| convert::snapshot_class(c)).collect();
        },
    );
    caches.add(
        Reflector {
            api: Api::<BackupStorageLocation>::namespaced(client.clone(), &velero_namespace),
            dyntype: (),
            resource: "backupstoragelocations",
            availability: Availability::Required,
            trim: convert::trim,
        },
        |locations, inventory| {
            inventory.storage_locations = Some(
                locations
                    .iter()
                    .map(|l| convert::storage_location(l))
                    .collect(),
            );
        },
    );
    caches.add(
        Reflector {
            api: Api::<PersistentVolume>::all(client.clone()),
            dyntype: (),
            resource: "persistentvolumes",
            availability: Availability::Builtin,
            trim: convert::trim_persistent_volume,
        },
        |volumes, inventory| {
            inventory.persistent_volumes = volumes
                .iter()
                .map(|v| convert::persistent_volume(v))
                .collect();
        },
    );
    caches.add_selected(
        Reflector {
            api: Api::<Deployment>::namespaced(client.clone(), &velero_namespace),
            dyntype: (),
            resource: "deployments",
            availability: Availability::Builtin,
            trim: convert::trim_deployment,
        },
        format!("metadata.name={velero_deployment}"),
        |deployments, inventory| {
            inventory.velero_deployment =
                deployments.first().map(|d| convert::velero_deployment(d));
        },
    );
    caches.add(
        Reflector {
            api: Api::<ConfigMap>::namespaced(client.clone(), &velero_namespace),
            dyntype: (),
            resource: "configmaps",
            availability: Availability::Builtin,
            trim: convert::trim_config_map,
        },
        |config_maps, inventory| {
            inventory.config_maps = config_maps.iter().map(|c| convert::config_map(c)).collect();
            inventory.config_maps_listed = true;
        },
    );
    caches.add(
        Reflector {
            api: Api::<VolumeSnapshotLocation>::namespaced(client, &velero_namespace),
            dyntype: (),
            resource: "volumesnapshotlocations",
            availability: Availability::Required,
            trim: convert::trim,
        },
        |locations, inventory| {
            inventory.snapshot_locations = locations
                .iter()
                .map(|l| convert::snapshot_location(l))
                .collect();
        },
    );
    let Caches {
        context, sources, ..
    } = caches;
    tokio::spawn(rebuild_loop(builder, sources, context, options, shutdown))
}

/// One cache's part of the inventory.
trait Source: Send + Sync {
    fn fill(&self, inventory: &mut Inventory);
}

struct Cached<K>
where
    K: Resource + 'static,
    K::DynamicType: Eq + Hash,
{
    store: Store<K>,
    fill: fn(&[Arc<K>], &mut Inventory),
}

impl<K> Source for Cached<K>
where
    K: Resource + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    fn fill(&self, inventory: &mut Inventory) {
        (self.fill)(&self.store.state(), inventory);
    }
}

struct Caches<'a> {
    context: Arc<Context>,
    shutdown: &'a watch::Receiver<bool>,
    sources: Vec<Box<dyn Source>>,
}

impl Caches<'_> {
    /// Starts the cache task of `reflector`; `fill` copies its objects into an inventory.
    fn add<K>(&mut self, reflector: Reflector<K>, fill: fn(&[Arc<K>], &mut Inventory))
    where
        K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::DynamicType: Eq + Hash + Clone + Send + Sync,
    {
        self.start(reflector, None, fill);
    }

    /// [`Caches::add`] for the objects `field_selector` selects (one object by name).
    fn add_selected<K>(
        &mut self,
        reflector: Reflector<K>,
        field_selector: String,
        fill: fn(&[Arc<K>], &mut Inventory),
    ) where
        K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::DynamicType: Eq + Hash + Clone + Send + Sync,
    {
        self.start(reflector, Some(field_selector), fill);
    }

    fn start<K>(
        &mut self,
        reflector: Reflector<K>,
        field_selector: Option<String>,
        fill: fn(&[Arc<K>], &mut Inventory),
    ) where
        K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::DynamicType: Eq + Hash + Clone + Send + Sync,
    {
        let writer = Writer::new(reflector.dyntype.clone());
        let store = writer.as_reader();
        self.context.freshness.track(reflector.resource);
        let context = Arc::clone(&self.context);
        let stop = stopped(self.shutdown.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = reflector.run_selected(field_selector, writer, context) => {}
                () = stop => {}
            }
        });
        self.sources.push(Box::new(Cached { store, fill }));
    }
}

async fn rebuild_loop(
    mut builder: IndexBuilder,
    sources: Vec<Box<dyn Source>>,
    context: Arc<Context>,
    options: ClusterOptions,
    shutdown: watch::Receiver<bool>,
) {
    let stop = stopped(shutdown);
    tokio::pin!(stop);
    let mut announced = false;
    loop {
        tokio::select! {
            () = context.changed.notified() => {}
            () = &mut stop => return,
        }
        if !context.freshness.all_synced() {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(options.debounce) => {}
            () = &mut stop => return,
        }
        let mut inventory = Inventory::default();
        for source in &sources {
            source.fill(&mut inventory);
        }
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
