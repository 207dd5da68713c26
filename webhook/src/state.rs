//! What request handlers share: the current coverage index (swapped whole when caches change),
//! readiness, metrics and the few settings decisions need.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use policy::CoverageIndex;

use crate::args::TimeoutDecision;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    /// Rebuilt off the request path whenever the policy, Schedules or cluster facts change.
    pub coverage: Arc<ArcSwap<CoverageIndex>>,
    /// True once the policy is loaded and every cache has synced at least once.
    pub ready: Arc<AtomicBool>,
    pub metrics: Arc<Metrics>,
    pub timeout_decision: TimeoutDecision,
}

impl AppState {
    pub fn new(
        index: CoverageIndex,
        metrics: Arc<Metrics>,
        timeout_decision: TimeoutDecision,
    ) -> Self {
        Self {
            coverage: Arc::new(ArcSwap::from_pointee(index)),
            ready: Arc::new(AtomicBool::new(false)),
            metrics,
            timeout_decision,
        }
    }

    pub fn index(&self) -> Arc<CoverageIndex> {
        self.coverage.load_full()
    }

    pub fn replace_index(&self, index: CoverageIndex) {
        self.coverage.store(Arc::new(index));
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }
}
