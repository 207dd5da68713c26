//! How current each cluster cache is: synced at least once, and how long ago it was last known
//! to match the API server. Readiness and `backstop_cache_staleness_seconds` read it.
//!
//! A cache is *current* while its watch is open (a healthy watch with nothing to report is
//! silent, so silence is not staleness). When the watch breaks or cannot be re-opened, the
//! cache keeps serving its last good copy and its staleness counts from the last moment it was
//! known to be current.
//!
//! Caches no admission decision reads (the backup evidence's) are tracked with
//! [`Freshness::track_beside_readiness`]: their staleness is exported like any other, but they
//! never hold readiness back.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Every tracked cache, by resource name. Nothing tracked (offline mode) means always fresh.
#[derive(Debug, Default)]
pub struct Freshness {
    caches: Mutex<BTreeMap<&'static str, CacheHealth>>,
}

#[derive(Debug, Clone, Copy)]
struct CacheHealth {
    /// Readiness waits for this cache's first sync and fails when it is too stale.
    gates_readiness: bool,
    synced: bool,
    current: bool,
    /// The last moment the cache was known to match the server.
    last_good: Instant,
}

/// Why the caches hold readiness back, if they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheProblem {
    /// These caches have not completed a first full sync.
    NotSynced(Vec<&'static str>),
    /// The stalest cache is older than the limit.
    Stale {
        resource: &'static str,
        age: Duration,
        limit: Duration,
    },
}

impl std::fmt::Display for CacheProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotSynced(resources) => {
                write!(f, "waiting for a first sync of {}", resources.join(", "))
            }
            Self::Stale {
                resource,
                age,
                limit,
            } => write!(
                f,
                "the {resource} cache is {}s stale (limit {}s)",
                age.as_secs(),
                limit.as_secs()
            ),
        }
    }
}

impl Freshness {
    fn caches(&self) -> MutexGuard<'_, BTreeMap<&'static str, CacheHealth>> {
        // The map holds plain values: a panic elsewhere cannot leave it half-written.
        self.caches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts tracking `resource`: not synced, not current.
    pub fn track(&self, resource: &'static str) {
        self.insert(resource, true);
    }

    /// Starts tracking `resource` for its staleness only: it never holds readiness back.
    pub fn track_beside_readiness(&self, resource: &'static str) {
        self.insert(resource, false);
    }

    fn insert(&self, resource: &'static str, gates_readiness: bool) {
        self.caches().insert(
            resource,
            CacheHealth {
                gates_readiness,
                synced: false,
                current: false,
                last_good: Instant::now(),
            },
        );
    }

    /// The cache of `resource` holds a complete copy now. True the first time.
    pub fn synced(&self, resource: &'static str) -> bool {
        let mut caches = self.caches();
        let health = caches.entry(resource).or_insert(CacheHealth {
            gates_readiness: true,
            synced: false,
            current: true,
            last_good: Instant::now(),
        });
        let first = !health.synced;
        health.synced = true;
        health.current = true;
        health.last_good = Instant::now();
        first
    }

    /// The cache of `resource` is current again (its watch is open).
    pub fn current(&self, resource: &'static str) {
        if let Some(health) = self.caches().get_mut(resource) {
            health.current = true;
            health.last_good = Instant::now();
        }
    }

    /// The cache of `resource` lost its watch; it was last known current at `last_good`.
    pub fn lost(&self, resource: &'static str, last_good: Instant) {
        if let Some(health) = self.caches().get_mut(resource)
            && health.current
        {
            health.current = false;
            health.last_good = last_good.min(Instant::now());
        }
    }

    /// How stale each tracked cache is at `now` (zero while current).
    pub fn staleness(&self, now: Instant) -> Vec<(&'static str, Duration)> {
        self.caches()
            .iter()
            .map(|(resource, health)| {
                let age = if health.current {
                    Duration::ZERO
                } else {
                    now.saturating_duration_since(health.last_good)
                };
                (*resource, age)
            })
            .collect()
    }

    /// Whether every cache readiness waits for has synced once.
    pub fn all_synced(&self) -> bool {
        self.caches()
            .values()
            .all(|health| health.synced || !health.gates_readiness)
    }

    /// Whether readiness waits for `resource` (untracked resources count as waited for).
    pub fn gates_readiness(&self, resource: &'static str) -> bool {
        self.caches()
            .get(resource)
            .is_none_or(|health| health.gates_readiness)
    }

    /// Whether `resource` is tracked and has synced once.
    pub fn is_synced(&self, resource: &'static str) -> bool {
        self.caches()
            .get(resource)
            .is_some_and(|health| health.synced)
    }

    /// What holds readiness back at `now` with a staleness `limit`, if anything.
    pub fn problem(&self, now: Instant, limit: Duration) -> Option<CacheProblem> {
        let unsynced: Vec<&'static str> = self
            .caches()
            .iter()
            .filter(|(_, health)| health.gates_readiness && !health.synced)
            .map(|(resource, _)| *resource)
            .collect();
        if !unsynced.is_empty() {
            return Some(CacheProblem::NotSynced(unsynced));
        }
        let gating: Vec<&'static str> = self
            .caches()
            .iter()
            .filter(|(_, health)| health.gates_readiness)
            .map(|(resource, _)| *resource)
            .collect();
        self.staleness(now)
            .into_iter()
            .filter(|(resource, age)| gating.contains(resource) && *age > limit)
            .max_by_key(|(_, age)| *age)
            .map(|(resource, age)| CacheProblem::Stale {
                resource,
                age,
                limit,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(300);

    #[test]
    fn nothing_tracked_is_always_fresh() {
        let freshness = Freshness::default();
        assert!(freshness.all_synced());
        assert_eq!(freshness.problem(Instant::now(), LIMIT), None);
    }

    #[test]
    fn a_tracked_cache_holds_readiness_back_until_its_first_sync() {
        let freshness = Freshness::default();
        freshness.track("pods");
        freshness.track("schedules");
        assert!(freshness.synced("pods"));
        assert_eq!(
            freshness.problem(Instant::now(), LIMIT),
            Some(CacheProblem::NotSynced(vec!["schedules"]))
        );
        assert!(freshness.synced("schedules"));
        assert!(!freshness.synced("schedules"));
        assert_eq!(freshness.problem(Instant::now(), LIMIT), None);
    }

    #[test]
    fn a_lost_watch_ages_from_its_last_good_moment_until_it_is_current_again() {
        let freshness = Freshness::default();
        freshness.track("pods");
        freshness.synced("pods");
        let broke = Instant::now();
        freshness.lost("pods", broke);
        let later = broke + Duration::from_secs(301);
        assert_eq!(
            freshness.staleness(later),
            [("pods", Duration::from_secs(301))]
        );
        assert_eq!(
            freshness.problem(later, LIMIT),
            Some(CacheProblem::Stale {
                resource: "pods",
                age: Duration::from_secs(301),
                limit: LIMIT
            })
        );
        assert_eq!(
            freshness.problem(broke + Duration::from_secs(299), LIMIT),
            None
        );
        // A second failure while already lost does not restart the clock.
        freshness.lost("pods", later);
        assert_eq!(
            freshness.staleness(later),
            [("pods", Duration::from_secs(301))]
        );
        freshness.current("pods");
        assert_eq!(freshness.staleness(later), [("pods", Duration::ZERO)]);
    }

    #[test]
    fn a_cache_tracked_beside_readiness_is_exported_but_never_holds_readiness_back() {
        let freshness = Freshness::default();
        freshness.track("schedules");
        freshness.track_beside_readiness("backups");
        assert!(freshness.synced("schedules"));
        assert!(freshness.all_synced());
        assert_eq!(freshness.problem(Instant::now(), LIMIT), None);
        assert!(!freshness.is_synced("backups"));
        freshness.synced("backups");
        let broke = Instant::now();
        freshness.lost("backups", broke);
        let later = broke + Duration::from_secs(400);
        assert_eq!(freshness.problem(later, LIMIT), None);
        assert!(
            freshness
                .staleness(later)
                .contains(&("backups", Duration::from_secs(400)))
        );
    }
}
