//! Prometheus metrics (prometheus-client, OpenMetrics text on `/metrics`).
//!
//! The names are a contract: `deploy/velero` alerts and dashboards key on them.
//! Label values are `&'static str`, so request-path recording allocates nothing once a
//! series exists. The backup evidence's gauges are in [`evidence`].

pub mod evidence;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use policy::{CoverageIndex, Detail, Verdict};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// One admission decision, as recorded by the handlers.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRecord {
    /// `mutate` or `validate`.
    pub endpoint: &'static str,
    /// `Namespace`, `PersistentVolumeClaim`, `Schedule`, or `other`.
    pub kind: &'static str,
    /// `CREATE`, `UPDATE`, `DELETE`, `CONNECT` or `OTHER`.
    pub operation: &'static str,
    /// `allowed`, `denied`, `warned` or `invalid`.
    pub verdict: &'static str,
    pub elapsed: Duration,
}

/// Why a review could not be decided normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    Decode,
    Timeout,
    /// Past `--max-in-flight`: answered at once with the failure decision.
    Overloaded,
    /// The body did not arrive within `--body-read-timeout`: HTTP 408.
    SlowBody,
    Internal,
}

impl FailureReason {
    pub const ALL: [Self; 5] = [
        Self::Decode,
        Self::Timeout,
        Self::Overloaded,
        Self::SlowBody,
        Self::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decode => "decode",
            Self::Timeout => "timeout",
            Self::Overloaded => "overloaded",
            Self::SlowBody => "slow_body",
            Self::Internal => "internal",
        }
    }
}

/// Outcome of one attempt to load a rotated certificate pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadResult {
    Ok,
    Error,
}

/// Histogram buckets of the admission latency, in seconds: sub-millisecond resolution where
/// the webhook spends its time, up to the apiserver's timeout range.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 1.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    kind: &'static str,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    endpoint: &'static str,
    kind: &'static str,
    operation: &'static str,
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResourceLabels {
    resource: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TierLabels {
    kind: &'static str,
    tier: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

type LatencyFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    duration: LatencyFamily,
    decisions: Family<DecisionLabels, Counter>,
    failures: Family<ReasonLabels, Counter>,
    in_flight: Gauge,
    cache_objects: Family<ResourceLabels, Gauge>,
    cache_synced: Family<ResourceLabels, Gauge>,
    cache_staleness: Family<ResourceLabels, Gauge<f64, AtomicU64>>,
    cache_staleness_limit: Gauge<f64, AtomicU64>,
    uncovered: Family<TierLabels, Gauge>,
    rpo_breach: Family<TierLabels, Gauge>,
    tls_reloads: Family<ResultLabels, Counter>,
    evidence: Arc<evidence::EvidenceGauges>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let duration: LatencyFamily = Family::new_with_constructor(latency_histogram);
        let decisions = Family::<DecisionLabels, Counter>::default();
        let failures = Family::<ReasonLabels, Counter>::default();
        let in_flight = Gauge::default();
        let cache_objects = Family::<ResourceLabels, Gauge>::default();
        let cache_synced = Family::<ResourceLabels, Gauge>::default();
        let cache_staleness = Family::<ResourceLabels, Gauge<f64, AtomicU64>>::default();
        let cache_staleness_limit = Gauge::<f64, AtomicU64>::default();
        let uncovered = Family::<TierLabels, Gauge>::default();
        let rpo_breach = Family::<TierLabels, Gauge>::default();
        let tls_reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "backstop_admission_duration_seconds",
            "Time to answer one AdmissionReview in the handler: reading the body, decoding, deciding and encoding the response",
            duration.clone(),
        );
        registry.register(
            "backstop_admission_decisions",
            "Admission decisions by endpoint, kind, operation and verdict",
            decisions.clone(),
        );
        registry.register(
            "backstop_admission_failures",
            "Reviews not decided normally, by reason: decode (not a review), timeout, overloaded (past --max-in-flight, answered at once with the failure decision), slow_body (HTTP 408) or internal error",
            failures.clone(),
        );
        registry.register(
            "backstop_admission_in_flight",
            "Reviews being read or decided now (bounded by --max-in-flight)",
            in_flight.clone(),
        );
        registry.register(
            "backstop_cache_objects",
            "Objects held in the webhook's caches, by resource",
            cache_objects.clone(),
        );
        registry.register(
            "backstop_cache_synced",
            "1 once the cache of a resource completed its first full sync",
            cache_synced.clone(),
        );
        registry.register(
            "backstop_cache_staleness_seconds",
            "Seconds since the cache of a resource was last known to match the API server (0 while its watch is open)",
            cache_staleness.clone(),
        );
        registry.register(
            "backstop_cache_max_staleness_seconds",
            "The --max-cache-staleness bound: a cache staler than this fails /readyz",
            cache_staleness_limit.clone(),
        );
        registry.register(
            "backstop_uncovered_objects",
            "Protected, non-exempt objects that no schedule backs up (with their data)",
            uncovered.clone(),
        );
        registry.register(
            "backstop_rpo_breach_objects",
            "Protected objects that are backed up, but whose worst-case RPO misses the tier's target",
            rpo_breach.clone(),
        );
        registry.register(
            "backstop_tls_reloads",
            "Attempts to load a changed TLS certificate/key pair, by result",
            tls_reloads.clone(),
        );
        let evidence = Arc::new(evidence::EvidenceGauges::default());
        registry.register_collector(Box::new(Arc::clone(&evidence)));
        for reason in FailureReason::ALL {
            let _ = failures.get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            });
        }
        for result in [ReloadResult::Ok, ReloadResult::Error] {
            let _ = tls_reloads.get_or_create(&ResultLabels {
                result: reload_label(result),
            });
        }
        Self {
            registry,
            duration,
            decisions,
            failures,
            in_flight,
            cache_objects,
            cache_synced,
            cache_staleness,
            cache_staleness_limit,
            uncovered,
            rpo_breach,
            tls_reloads,
            evidence,
        }
    }

    pub fn record_decision(&self, record: DecisionRecord) {
        let DecisionRecord {
            endpoint,
            kind,
            operation,
            verdict,
            elapsed,
        } = record;
        self.duration
            .get_or_create(&RequestLabels {
                endpoint,
                kind,
                operation,
            })
            .observe(elapsed.as_secs_f64());
        self.decisions
            .get_or_create(&DecisionLabels {
                endpoint,
                kind,
                operation,
                verdict,
            })
            .inc();
    }

    pub fn record_failure(&self, reason: FailureReason) {
        self.failures
            .get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            })
            .inc();
    }

    /// Moves the gauge of reviews in flight by `delta`.
    pub fn add_in_flight(&self, delta: i64) {
        self.in_flight.inc_by(delta);
    }

    /// The number of reviews that failed for `reason` so far (for logs and tests).
    pub fn failures(&self, reason: FailureReason) -> u64 {
        self.failures
            .get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            })
            .get()
    }

    pub fn record_tls_reload(&self, result: ReloadResult) {
        self.tls_reloads
            .get_or_create(&ResultLabels {
                result: reload_label(result),
            })
            .inc();
    }

    /// The number of reloads with `result` so far (for logs and tests).
    pub fn tls_reloads(&self, result: ReloadResult) -> u64 {
        self.tls_reloads
            .get_or_create(&ResultLabels {
                result: reload_label(result),
            })
            .get()
    }

    pub fn set_cache_objects(&self, resource: &'static str, count: usize) {
        self.cache_objects
            .get_or_create(&ResourceLabels { resource })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub fn set_cache_synced(&self, resource: &'static str, synced: bool) {
        self.cache_synced
            .get_or_create(&ResourceLabels { resource })
            .set(i64::from(synced));
    }

    pub fn set_cache_staleness(&self, resource: &'static str, age: Duration) {
        self.cache_staleness
            .get_or_create(&ResourceLabels { resource })
            .set(age.as_secs_f64());
    }

    /// The staleness past which `/readyz` fails, for alerts to take a fraction of.
    pub fn set_cache_staleness_limit(&self, limit: Duration) {
        self.cache_staleness_limit.set(limit.as_secs_f64());
    }

    /// Recomputes the uncovered and RPO-breach gauges from a freshly built index. Every
    /// (kind, tier) pair of the policy is written, so a gap that closes goes back to 0.
    pub fn record_coverage(&self, index: &CoverageIndex) {
        // Counting reads no gap message. Every pair is overwritten, never cleared first: a
        // scrape must not catch the series missing.
        let counts = CoverageCounts::of(index, &index.evaluate_all_with(Detail::CodesOnly));
        for ((kind, tier), (uncovered, breach)) in counts.0 {
            let labels = TierLabels { kind, tier };
            self.uncovered.get_or_create(&labels).set(uncovered);
            self.rpo_breach.get_or_create(&labels).set(breach);
        }
    }

    /// Publishes a new judgment of the backup evidence (the gauges of [`evidence`]).
    pub fn record_evidence(&self, summary: evidence::EvidenceSummary) {
        self.evidence.publish(summary);
    }

    /// The whole registry as OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The `Content-Type` of [`Metrics::encode`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn reload_label(result: ReloadResult) -> &'static str {
    match result {
        ReloadResult::Ok => "ok",
        ReloadResult::Error => "error",
    }
}

/// (kind, tier) → (uncovered, RPO breach).
struct CoverageCounts(BTreeMap<(&'static str, String), (i64, i64)>);

impl CoverageCounts {
    fn of(index: &CoverageIndex, verdicts: &[Verdict]) -> Self {
        let mut counts = BTreeMap::new();
        for kind in ["Namespace", "PersistentVolumeClaim"] {
            for tier in index.policy().tiers.keys() {
                counts.insert((kind, tier.clone()), (0, 0));
            }
        }
        for verdict in verdicts {
            let (Some(tier), None) = (&verdict.tier, &verdict.exempt) else {
                continue;
            };
            let entry = counts
                .entry((verdict.kind.as_str(), tier.clone()))
                .or_insert((0, 0));
            if verdict.covered_by.is_empty() {
                entry.0 += 1;
            } else if !verdict.met {
                entry.1 += 1;
            }
        }
        Self(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_the_contracted_names() {
        let metrics = Metrics::new();
        metrics.record_decision(DecisionRecord {
            endpoint: "validate",
            kind: "Namespace",
            operation: "CREATE",
            verdict: "denied",
            elapsed: Duration::from_micros(80),
        });
        metrics.record_failure(FailureReason::Timeout);
        metrics.record_tls_reload(ReloadResult::Error);
        metrics.set_cache_objects("namespaces", 3);
        metrics.set_cache_synced("namespaces", true);
        let text = metrics.encode();
        for expected in [
            "backstop_admission_duration_seconds_bucket{le=\"0.0001\",endpoint=\"validate\",kind=\"Namespace\",operation=\"CREATE\"} 1",
            "backstop_admission_duration_seconds_bucket{le=\"0.00005\",endpoint=\"validate\",kind=\"Namespace\",operation=\"CREATE\"} 0",
            "backstop_admission_decisions_total{endpoint=\"validate\",kind=\"Namespace\",operation=\"CREATE\",verdict=\"denied\"} 1",
            "backstop_admission_failures_total{reason=\"timeout\"} 1",
            "backstop_admission_failures_total{reason=\"decode\"} 0",
            "backstop_admission_failures_total{reason=\"overloaded\"} 0",
            "backstop_admission_in_flight 0",
            "backstop_cache_objects{resource=\"namespaces\"} 3",
            "backstop_cache_synced{resource=\"namespaces\"} 1",
            "backstop_tls_reloads_total{result=\"error\"} 1",
            "backstop_tls_reloads_total{result=\"ok\"} 0",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }

    #[test]
    fn decisions_are_counted_per_verdict_and_timed_per_request() {
        let metrics = Metrics::new();
        for verdict in ["allowed", "allowed", "warned"] {
            metrics.record_decision(DecisionRecord {
                endpoint: "mutate",
                kind: "other",
                operation: "OTHER",
                verdict,
                elapsed: Duration::from_micros(10),
            });
        }
        let text = metrics.encode();
        for expected in [
            "backstop_admission_decisions_total{endpoint=\"mutate\",kind=\"other\",operation=\"OTHER\",verdict=\"allowed\"} 2",
            "backstop_admission_decisions_total{endpoint=\"mutate\",kind=\"other\",operation=\"OTHER\",verdict=\"warned\"} 1",
            "backstop_admission_duration_seconds_count{endpoint=\"mutate\",kind=\"other\",operation=\"OTHER\"} 3",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }
}
