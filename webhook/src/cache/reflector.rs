//! One resource's cache: a paginated list, then a watch from the list's resourceVersion, for
//! as long as the webhook runs. Written on kube-rs's `Api::list`/`Api::watch` and reflector
//! `Writer` rather than `kube::runtime::watcher`, because the cache must know three things the
//! watcher stream does not tell: whether a resource is served at all (discovery), when a broken
//! watch is open again (the watcher re-opens silently), and a backoff that grows (the watcher's
//! `Event::Init` after every failed list resets `default_backoff` to 0.8 s).
//!
//! - A 404 on a list or watch is settled by discovery: [`Availability::Optional`] resources
//!   that are not served count as synced with no objects, and discovery is asked again every
//!   `rediscover` period until they are; [`Availability::Required`] (Velero) CRDs that are
//!   missing are logged once by name and retried with backoff, and the cache stays unsynced.
//! - A 410 (an `ERROR` event with a 410 `Status` on a watch, or an expired continue token on a
//!   list) means relist from scratch.
//! - Any other failure keeps the last good copy, marks the cache stale from its last good
//!   moment, and retries with exponential backoff; the first failure is a WARN, repeats are
//!   DEBUG (with a WARN reminder every [`REMIND_EVERY`]), the recovery is an INFO.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::Event;
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use super::discovery::{self, crd_name, is_http_404, is_http_410};
use crate::metrics::Metrics;
use crate::state::freshness::Freshness;

/// Items per list page.
const PAGE: u32 = 500;
/// A failing cache says WARN again after this long (repeats in between are DEBUG).
pub const REMIND_EVERY: Duration = Duration::from_secs(300);
/// A watch that ends sooner than this after it opened is treated as a failure (backoff), so
/// a server that closes every watch at once is not hammered.
const SHORTEST_HEALTHY_WATCH: Duration = Duration::from_secs(1);

/// Whether the API server must serve a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// Built into every API server (core and `storage.k8s.io` resources).
    Builtin,
    /// A Velero CRD: while it is missing the webhook stays unready.
    Required,
    /// An optional API (the CSI snapshot CRDs): not served counts as none.
    Optional,
}

/// Timings of the list/watch loop.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How often discovery is asked again whether an unserved optional resource is served now.
    pub rediscover: Duration,
    /// First and longest wait between retries after a failure.
    pub backoff_first: Duration,
    pub backoff_max: Duration,
    /// `timeoutSeconds` of each watch; the server ends it then and the loop re-opens it.
    pub watch_timeout_seconds: u32,
    /// Past `watch_timeout_seconds` plus this with no byte received, the connection is dead.
    pub watch_idle_margin: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            rediscover: Duration::from_secs(30),
            backoff_first: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            watch_timeout_seconds: 290,
            watch_idle_margin: Duration::from_secs(10),
        }
    }
}

/// What every cache task shares.
pub struct Context {
    pub client: Client,
    pub freshness: Arc<Freshness>,
    pub metrics: Arc<Metrics>,
    /// Woken on every change of any store.
    pub changed: Arc<Notify>,
    pub timing: Timing,
}

/// One resource to cache.
pub struct Reflector<K: Resource> {
    pub api: Api<K>,
    pub dyntype: K::DynamicType,
    pub resource: &'static str,
    pub availability: Availability,
    pub trim: fn(&mut K),
}

enum Phase {
    Discover,
    List,
    Watch { resource_version: String },
}

/// What the loop does after a failed step.
enum Next {
    Retry(Phase),
    Backoff(Phase),
}

impl<K> Reflector<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    /// Lists and watches until the task is dropped, keeping `writer`'s store current.
    pub async fn run(self, writer: Writer<K>, context: Arc<Context>) {
        self.run_selected(None, writer, context).await;
    }

    /// [`Reflector::run`] with a field selector on every list and watch (`metadata.name=velero`:
    /// RBAC that grants one object by name allows list and watch only with it).
    pub async fn run_selected(
        self,
        field_selector: Option<String>,
        mut writer: Writer<K>,
        context: Arc<Context>,
    ) {
        let api_version = K::api_version(&self.dyntype).into_owned();
        let plural = K::plural(&self.dyntype).into_owned();
        let mut run = Run {
            reflector: &self,
            field_selector: field_selector.as_deref(),
            context: &context,
            api_version: &api_version,
            plural: &plural,
            backoff: Backoff::new(context.timing),
            trouble: Trouble::new(self.resource),
            reported_missing: false,
            served_per_discovery: false,
        };
        let mut phase = if self.availability == Availability::Builtin {
            Phase::List
        } else {
            Phase::Discover
        };
        loop {
            let next = match phase {
                Phase::Discover => run.discover(&mut writer).await,
                Phase::List => run.list(&mut writer).await,
                Phase::Watch { resource_version } => run.watch(&mut writer, resource_version).await,
            };
            phase = match next {
                Next::Retry(phase) => phase,
                Next::Backoff(phase) => {
                    tokio::time::sleep(run.backoff.next()).await;
                    phase
                }
            };
        }
    }
}

struct Run<'a, K: Resource> {
    reflector: &'a Reflector<K>,
    field_selector: Option<&'a str>,
    context: &'a Context,
    api_version: &'a str,
    plural: &'a str,
    backoff: Backoff,
    trouble: Trouble,
    reported_missing: bool,
    /// Discovery said served, and no list has succeeded since: a 404 now is an anomaly.
    served_per_discovery: bool,
}

impl<K> Run<'_, K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    fn resource(&self) -> &'static str {
        self.reflector.resource
    }

    fn crd(&self) -> String {
        crd_name(self.api_version, self.plural)
    }

    async fn discover(&mut self, writer: &mut Writer<K>) -> Next {
        let resource = self.resource();
        match discovery::is_served(&self.context.client, self.api_version, self.plural).await {
            Ok(true) => {
                if std::mem::take(&mut self.reported_missing) {
                    tracing::info!(resource, crd = %self.crd(), "cache: the API is served now; listing it");
                }
                self.served_per_discovery = true;
                Next::Retry(Phase::List)
            }
            Ok(false) => {
                self.trouble.recovered();
                match self.reflector.availability {
                    Availability::Optional => {
                        if !self.reported_missing {
                            self.reported_missing = true;
                            tracing::info!(
                                resource,
                                crd = %self.crd(),
                                recheck_seconds = self.context.timing.rediscover.as_secs(),
                                "cache: optional API not served by this cluster; counted as none, checked again periodically"
                            );
                            writer.apply_watcher_event(&Event::Init);
                            writer.apply_watcher_event(&Event::InitDone);
                            self.mark_synced();
                            self.context.changed.notify_one();
                        }
                        self.context.freshness.current(resource);
                        self.backoff.reset();
                        tokio::time::sleep(self.context.timing.rediscover).await;
                        Next::Retry(Phase::Discover)
                    }
                    Availability::Required | Availability::Builtin => {
                        if !self.reported_missing {
                            self.reported_missing = true;
                            let waits = if self.context.freshness.gates_readiness(resource) {
                                "the webhook stays unready until it is"
                            } else {
                                "the backup evidence waits for it"
                            };
                            tracing::error!(
                                resource,
                                crd = %self.crd(),
                                "cache: the CustomResourceDefinition {} is not installed (is Velero installed?); {waits}, checking again with backoff",
                                self.crd()
                            );
                        } else {
                            tracing::debug!(resource, crd = %self.crd(), "cache: CRD still not installed");
                        }
                        self.lost(Instant::now());
                        Next::Backoff(Phase::Discover)
                    }
                }
            }
            Err(error) => {
                self.trouble.failed("discovery", &error);
                self.lost(Instant::now());
                Next::Backoff(Phase::Discover)
            }
        }
    }

    async fn list(&mut self, writer: &mut Writer<K>) -> Next {
        let mut params = ListParams::default().limit(PAGE);
        if let Some(fields) = self.field_selector {
            params = params.fields(fields);
        }
        let mut resource_version = None;
        writer.apply_watcher_event(&Event::Init);
        loop {
            let page = match self.reflector.api.list(&params).await {
                Ok(page) => page,
                Err(error) => return self.failed("list", &error, Phase::List),
            };
            // Every page repeats the first page's resourceVersion.
            if resource_version.is_none() {
                resource_version = page.metadata.resource_version.filter(|rv| !rv.is_empty());
            }
            for mut object in page.items {
                (self.reflector.trim)(&mut object);
                writer.apply_watcher_event(&Event::InitApply(object));
            }
            match page.metadata.continue_.filter(|token| !token.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
        let Some(resource_version) = resource_version else {
            tracing::warn!(
                resource = self.resource(),
                "cache: list without a resourceVersion; listing again"
            );
            return Next::Backoff(Phase::List);
        };
        writer.apply_watcher_event(&Event::InitDone);
        self.mark_synced();
        self.served_per_discovery = false;
        self.trouble.recovered();
        self.backoff.reset();
        self.context.changed.notify_one();
        Next::Retry(Phase::Watch { resource_version })
    }

    async fn watch(&mut self, writer: &mut Writer<K>, mut resource_version: String) -> Next {
        let timing = self.context.timing;
        let mut params = WatchParams::default().timeout(timing.watch_timeout_seconds);
        if let Some(fields) = self.field_selector {
            params = params.fields(fields);
        }
        let stream = match self.reflector.api.watch(&params, &resource_version).await {
            Ok(stream) => stream,
            Err(error) => {
                return self.failed("watch", &error, Phase::Watch { resource_version });
            }
        };
        let opened = Instant::now();
        let mut last_seen = opened;
        self.context.freshness.current(self.resource());
        self.trouble.recovered();
        let idle =
            Duration::from_secs(u64::from(timing.watch_timeout_seconds)) + timing.watch_idle_margin;
        let mut stream = std::pin::pin!(stream);
        loop {
            let Ok(item) = tokio::time::timeout(idle, stream.next()).await else {
                self.trouble
                    .failed("watch", &"no data past the watch timeout; reconnecting");
                self.lost(last_seen);
                return Next::Retry(Phase::Watch { resource_version });
            };
            last_seen = Instant::now();
            let event = match item {
                None if opened.elapsed() < SHORTEST_HEALTHY_WATCH => {
                    return Next::Backoff(Phase::Watch { resource_version });
                }
                None => return Next::Retry(Phase::Watch { resource_version }),
                Some(Err(error)) => {
                    return self.failed("watch", &error, Phase::Watch { resource_version });
                }
                Some(Ok(event)) => event,
            };
            match event {
                WatchEvent::Added(mut object) | WatchEvent::Modified(mut object) => {
                    if let Some(version) = object.resource_version() {
                        resource_version = version;
                    }
                    (self.reflector.trim)(&mut object);
                    writer.apply_watcher_event(&Event::Apply(object));
                }
                WatchEvent::Deleted(object) => {
                    if let Some(version) = object.resource_version() {
                        resource_version = version;
                    }
                    writer.apply_watcher_event(&Event::Delete(object));
                }
                WatchEvent::Bookmark(bookmark) => {
                    resource_version = bookmark.metadata.resource_version;
                    self.backoff.reset();
                    self.context.freshness.current(self.resource());
                    continue;
                }
                WatchEvent::Error(status) if status.code == 410 => {
                    // Too old a resourceVersion: HTTP 200 with one ERROR event, then the end.
                    tracing::debug!(
                        resource = self.resource(),
                        message = %status.message,
                        "cache: watch expired; relisting"
                    );
                    return Next::Retry(Phase::List);
                }
                WatchEvent::Error(status) => {
                    self.trouble.failed("watch", &status.message);
                    self.lost(Instant::now());
                    return Next::Backoff(Phase::List);
                }
            }
            self.backoff.reset();
            self.context.freshness.current(self.resource());
            self.context.changed.notify_one();
        }
    }

    /// A failed list or watch call: settle 404 by discovery, relist on 410, else back off.
    fn failed(&mut self, call: &'static str, error: &kube::Error, retry: Phase) -> Next {
        if is_http_404(error) && self.reflector.availability != Availability::Builtin {
            if std::mem::take(&mut self.served_per_discovery) {
                // Discovery lists the resource, yet it answers 404: retried, but not quietly.
                self.trouble.failed(call, error);
            } else {
                tracing::debug!(resource = self.resource(), %error, "cache: 404; asking discovery");
            }
            self.lost(Instant::now());
            return Next::Backoff(Phase::Discover);
        }
        if is_http_410(error) {
            tracing::debug!(resource = self.resource(), %error, "cache: expired; relisting");
            return Next::Backoff(Phase::List);
        }
        self.trouble.failed(call, error);
        self.lost(Instant::now());
        Next::Backoff(retry)
    }

    fn mark_synced(&self) {
        let resource = self.resource();
        if self.context.freshness.synced(resource) {
            tracing::info!(resource, "cache: first full sync");
            self.context.metrics.set_cache_synced(resource, true);
        }
    }

    fn lost(&self, last_good: Instant) {
        self.context.freshness.lost(self.resource(), last_good);
    }
}

/// Exponential backoff without jitter: `first`, doubled per failure, at most `max`.
struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(timing: Timing) -> Self {
        Self {
            first: timing.backoff_first,
            max: timing.backoff_max,
            next: timing.backoff_first,
        }
    }

    fn next(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    fn reset(&mut self) {
        self.next = self.first;
    }
}

/// One WARN per outage (and a reminder every [`REMIND_EVERY`]), DEBUG for the attempts in
/// between, INFO when it ends.
struct Trouble {
    resource: &'static str,
    since: Option<Instant>,
    attempts: u32,
    last_warned: Option<Instant>,
}

impl Trouble {
    fn new(resource: &'static str) -> Self {
        Self {
            resource,
            since: None,
            attempts: 0,
            last_warned: None,
        }
    }

    fn failed(&mut self, call: &'static str, error: &dyn std::fmt::Display) {
        let now = Instant::now();
        self.attempts += 1;
        let since = *self.since.get_or_insert(now);
        let remind = self
            .last_warned
            .is_none_or(|warned| now.duration_since(warned) >= REMIND_EVERY);
        if remind {
            self.last_warned = Some(now);
            tracing::warn!(
                resource = self.resource,
                call,
                %error,
                attempts = self.attempts,
                failing_for_seconds = now.duration_since(since).as_secs(),
                "cache: cannot read from the API server; answering from the last good copy, retrying with backoff"
            );
        } else {
            tracing::debug!(resource = self.resource, call, %error, attempts = self.attempts, "cache: retry failed");
        }
    }

    fn recovered(&mut self) {
        if let Some(since) = self.since.take() {
            tracing::info!(
                resource = self.resource,
                attempts = self.attempts,
                failed_for_seconds = since.elapsed().as_secs(),
                "cache: reading from the API server again"
            );
        }
        self.attempts = 0;
        self.last_warned = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_limit_and_resets() {
        let mut backoff = Backoff::new(Timing::default());
        let waits: Vec<u64> = (0..8).map(|_| backoff.next().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_secs(1));
    }
}
