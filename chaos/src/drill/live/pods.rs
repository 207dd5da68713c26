//! The restored namespace's pods, watched until every one is Ready (or has Succeeded), within
//! a timeout. A namespace-wide watch (kube-rs watcher: LIST, then WATCH), never a sleep.

use std::collections::BTreeMap;
use std::time::Duration;

use ::kube::runtime::WatchStreamExt;
use ::kube::runtime::watcher::{self, Event, watcher};
use ::kube::{Api, Client, ResourceExt};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;

use crate::outcome::PodsOutcome;

/// Whether a pod counts as up: its `Ready` condition is True, or it ran to `Succeeded`.
pub fn pod_ready(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    status.and_then(|s| s.phase.as_deref()) == Some("Succeeded")
        || status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// A pod's state in words, for the evidence (`ledger-0 (Pending: ContainersNotReady)`).
fn pod_state(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let phase = status
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("(no phase)");
    let reason = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.reason.as_deref());
    match reason {
        Some(reason) => format!("{} ({phase}: {reason})", pod.name_any()),
        None => format!("{} ({phase})", pod.name_any()),
    }
}

/// Judges the pods seen: all up, and at least `expected` of them (the pods the backup holds).
pub fn judge(namespace: &str, pods: &BTreeMap<String, Pod>, expected: usize) -> PodsOutcome {
    let ready = pods.values().filter(|p| pod_ready(p)).count();
    let not_ready: Vec<String> = pods
        .values()
        .filter(|p| !pod_ready(p))
        .map(pod_state)
        .collect();
    let mut detail = format!("{ready}/{} pods Ready in {namespace}", pods.len());
    if !not_ready.is_empty() {
        detail.push_str(&format!("; not Ready: {}", not_ready.join(", ")));
    }
    if pods.len() < expected {
        detail.push_str(&format!("; the backup holds {expected} pod(s)"));
    }
    PodsOutcome {
        ready: not_ready.is_empty() && pods.len() >= expected,
        detail,
    }
}

/// Watches the pods of `namespace` until [`judge`] says Ready, or `timeout` passes; the
/// outcome says what was seen last either way.
pub async fn wait_ready(
    client: &Client,
    namespace: &str,
    expected: usize,
    timeout: Duration,
) -> PodsOutcome {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut events = watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut last = PodsOutcome {
        ready: false,
        detail: format!("no pod list from {namespace} yet"),
    };
    let watched = async {
        let mut pods: BTreeMap<String, Pod> = BTreeMap::new();
        let mut listing: Option<BTreeMap<String, Pod>> = None;
        while let Some(event) = events.next().await {
            let settled = match event {
                Ok(Event::Init) => {
                    listing = Some(BTreeMap::new());
                    false
                }
                Ok(Event::InitApply(pod)) => {
                    if let Some(l) = listing.as_mut() {
                        l.insert(pod.name_any(), pod);
                    }
                    false
                }
                Ok(Event::InitDone) => {
                    pods = listing.take().unwrap_or_default();
                    true
                }
                Ok(Event::Apply(pod)) => {
                    pods.insert(pod.name_any(), pod);
                    listing.is_none()
                }
                Ok(Event::Delete(pod)) => {
                    pods.remove(&pod.name_any());
                    listing.is_none()
                }
                Err(e) => {
                    last.detail = format!("{} (then the watch failed: {e})", last.detail);
                    false
                }
            };
            if settled {
                last = judge(namespace, &pods, expected);
                if last.ready {
                    return;
                }
            }
        }
    };
    if tokio::time::timeout(timeout, watched).await.is_err() {
        last.detail = format!("not Ready before --timeout ran out: {}", last.detail);
    }
    last
}
