//! Waiting as a watch with a timeout: never a fixed sleep. A wait follows one named object
//! through a kube-rs watcher (a LIST, then a WATCH from its resourceVersion, re-listed when
//! the server answers 410 Expired) and ends when `check` accepts what it sees, or fails
//! with [`Error::Timeout`] naming what it waited for and the last state it saw.

use std::fmt::Debug;
use std::time::Duration;

use ::kube::runtime::WatchStreamExt;
use ::kube::runtime::watcher::{self, Event, watcher};
use ::kube::{Api, Resource, ResourceExt};
use futures::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// What a wait is for, as it is named in a timeout error (`Restore velero/r1 to finish`).
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub name: &'a str,
    pub what: String,
    pub timeout: Duration,
}

/// Watches the object `target.name` until `check` returns `Some`. `check` sees `None` while
/// the object does not exist (or once it is deleted); `describe` puts a state into words
/// for the timeout error.
pub async fn until<K, T>(
    api: &Api<K>,
    target: Target<'_>,
    mut check: impl FnMut(Option<&K>) -> Option<T>,
    describe: impl Fn(Option<&K>) -> String,
) -> Result<T, Error>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let config = watcher::Config::default().fields(&format!("metadata.name={}", target.name));
    let mut events = watcher(api.clone(), config).default_backoff().boxed();
    let mut last_seen = "nothing yet (the first list has not answered)".to_owned();
    let watched = async {
        let mut current: Option<K> = None;
        let mut listing = false;
        while let Some(event) = events.next().await {
            let settled = match event {
                Ok(Event::Init) => {
                    listing = true;
                    current = None;
                    false
                }
                Ok(Event::InitApply(object)) => {
                    if object.name_any() == target.name {
                        current = Some(object);
                    }
                    false
                }
                Ok(Event::InitDone) => {
                    listing = false;
                    true
                }
                Ok(Event::Apply(object)) if object.name_any() == target.name => {
                    current = Some(object);
                    !listing
                }
                Ok(Event::Delete(object)) if object.name_any() == target.name => {
                    current = None;
                    !listing
                }
                Ok(Event::Apply(_) | Event::Delete(_)) => false,
                Err(e) => {
                    last_seen = format!(
                        "{} (then the watch failed: {e})",
                        describe(current.as_ref())
                    );
                    continue;
                }
            };
            if settled {
                last_seen = describe(current.as_ref());
                if let Some(done) = check(current.as_ref()) {
                    return Some(done);
                }
            }
        }
        None
    };
    match tokio::time::timeout(target.timeout, watched).await {
        Ok(Some(done)) => Ok(done),
        Ok(None) | Err(_) => Err(Error::Timeout {
            what: target.what,
            after: target.timeout,
            last_seen,
        }),
    }
}

/// Watches every object `config` selects (a label selector, say) and calls `settle` with
/// all of them each time the set settles (after the first list, then after each change),
/// until `settle` returns `Some`, or `timeout` passes. `settle` may do its own API calls
/// (it is async) and says in `last_seen` what it saw, for the timeout error.
pub async fn until_settled<K, T, F, Fut>(
    api: &Api<K>,
    config: watcher::Config,
    what: String,
    timeout: Duration,
    mut settle: F,
) -> Result<T, Error>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    F: FnMut(Vec<K>) -> Fut,
    Fut: std::future::Future<Output = (Option<T>, String)>,
{
    let mut events = watcher(api.clone(), config).default_backoff().boxed();
    let last_seen =
        std::sync::Mutex::new("nothing yet (the first list has not answered)".to_owned());
    let set_last = |text: String| {
        *last_seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = text;
    };
    let watched = async {
        let mut objects: std::collections::BTreeMap<String, K> = std::collections::BTreeMap::new();
        let mut listing: Option<std::collections::BTreeMap<String, K>> = None;
        while let Some(event) = events.next().await {
            let settled = match event {
                Ok(Event::Init) => {
                    listing = Some(std::collections::BTreeMap::new());
                    false
                }
                Ok(Event::InitApply(object)) => {
                    if let Some(l) = listing.as_mut() {
                        l.insert(object.name_any(), object);
                    }
                    false
                }
                Ok(Event::InitDone) => {
                    objects = listing.take().unwrap_or_default();
                    true
                }
                Ok(Event::Apply(object)) => {
                    objects.insert(object.name_any(), object);
                    listing.is_none()
                }
                Ok(Event::Delete(object)) => {
                    objects.remove(&object.name_any());
                    listing.is_none()
                }
                Err(e) => {
                    let before = last_seen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .clone();
                    set_last(format!("{before} (then the watch failed: {e})"));
                    false
                }
            };
            if settled {
                let (done, seen) = settle(objects.values().cloned().collect()).await;
                set_last(seen);
                if done.is_some() {
                    return done;
                }
            }
        }
        None
    };
    let outcome = tokio::time::timeout(timeout, watched).await;
    match outcome {
        Ok(Some(done)) => Ok(done),
        Ok(None) | Err(_) => Err(Error::Timeout {
            what,
            after: timeout,
            last_seen: last_seen
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        }),
    }
}
