//! What request handlers share: the current coverage index (swapped whole when caches change),
//! readiness, cache freshness, metrics and the few settings decisions need.

pub mod freshness;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use policy::CoverageIndex;
use tokio::sync::watch;

use crate::args::TimeoutDecision;
use crate::metrics::Metrics;
use freshness::{CacheProblem, Freshness};

/// The staleness limit of a state built without one: `--max-cache-staleness`'s default.
pub const DEFAULT_MAX_CACHE_STALENESS: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct AppState {
    /// Rebuilt off the request path whenever the policy, Schedules or cluster facts change.
    pub coverage: Arc<ArcSwap<CoverageIndex>>,
    /// True once the policy is loaded and every cache has synced and been indexed once;
    /// false again while shutting down.
    pub ready: Arc<AtomicBool>,
    /// How current each cluster cache is (empty in offline mode).
    pub freshness: Arc<Freshness>,
    /// Past this staleness of any cache, `/readyz` fails (the index keeps answering).
    pub max_cache_staleness: Duration,
    pub metrics: Arc<Metrics>,
    pub timeout_decision: TimeoutDecision,
    /// Counts index swaps, for work that follows the index off the request path (the backup
    /// evidence); [`AppState::index_changes`] subscribes.
    index_generation: Arc<watch::Sender<u64>>,
}

/// What `/readyz` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Starting up (caches synced but not indexed yet) or shutting down.
    NotStarted,
    Caches(CacheProblem),
}

impl AppState {
    pub fn new(
        index: CoverageIndex,
        metrics: Arc<Metrics>,
        timeout_decision: TimeoutDecision,
    ) -> Self {
        metrics.set_cache_staleness_limit(DEFAULT_MAX_CACHE_STALENESS);
        Self {
            coverage: Arc::new(ArcSwap::from_pointee(index)),
            ready: Arc::new(AtomicBool::new(false)),
            freshness: Arc::new(Freshness::default()),
            max_cache_staleness: DEFAULT_MAX_CACHE_STALENESS,
            metrics,
            timeout_decision,
            index_generation: Arc::new(watch::Sender::new(0)),
        }
    }

    #[must_use]
    pub fn with_max_cache_staleness(mut self, limit: Duration) -> Self {
        self.max_cache_staleness = limit;
        self.metrics.set_cache_staleness_limit(limit);
        self
    }

    pub fn index(&self) -> Arc<CoverageIndex> {
        self.coverage.load_full()
    }

    pub fn replace_index(&self, index: CoverageIndex) {
        self.coverage.store(Arc::new(index));
        self.index_generation
            .send_modify(|generation| *generation += 1);
    }

    /// Changes whenever a new index is swapped in.
    pub fn index_changes(&self) -> watch::Receiver<u64> {
        self.index_generation.subscribe()
    }

    pub fn readiness(&self) -> Readiness {
        let problem = self
            .freshness
            .problem(Instant::now(), self.max_cache_staleness);
        match (self.ready.load(Ordering::Acquire), problem) {
            (_, Some(problem @ CacheProblem::NotSynced(_))) => Readiness::Caches(problem),
            (false, _) => Readiness::NotStarted,
            (true, Some(problem)) => Readiness::Caches(problem),
            (true, None) => Readiness::Ready,
        }
    }

    pub fn is_ready(&self) -> bool {
        self.readiness() == Readiness::Ready
    }

    /// Marks the caches indexed (true) or the webhook shutting down (false).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Writes the staleness of every tracked cache into the metrics (before a scrape).
    pub fn publish_freshness(&self) {
        for (resource, age) in self.freshness.staleness(Instant::now()) {
            self.metrics.set_cache_staleness(resource, age);
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    #[test]
    fn the_default_staleness_limit_is_the_flags_default() {
        let cli = Cli::try_parse_from(["backstop-webhook", "serve", "--policy", "p.yaml", "--dev"])
            .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        assert_eq!(args.max_cache_staleness, DEFAULT_MAX_CACHE_STALENESS);
    }
}
