//! The backup evidence as gauges: what the newest real backups hold, summarised per schedule
//! and per protected namespace each time the evidence is judged, and turned into ages at each
//! scrape (an age grows between two judgments; recomputing the evidence every second would not
//! make it more true).
//!
//! Cardinality is bounded by what the cluster's owners chose, never by traffic: one series per
//! Velero Schedule in the policy's Velero namespace (`schedule`), and one per namespace the
//! policy protects (`namespace`, with its one `tier`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use policy::GapCode;
use policy::ObjectKind;
use policy::evidence::Evidence;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

pub const LAST_BACKUP_AGE: &str = "backstop_last_backup_age_seconds";
pub const OVERDUE_AFTER: &str = "backstop_backup_overdue_after_seconds";
pub const VOLUMES_MISSING: &str = "backstop_volumes_missing_from_last_backup";
pub const ACHIEVED_RPO: &str = "backstop_achieved_rpo_seconds";

/// What the gauges are computed from: the last judgment of the evidence.
#[derive(Debug, Clone)]
pub struct EvidenceSummary {
    pub schedules: Vec<ScheduleSummary>,
    pub namespaces: Vec<NamespaceSummary>,
    /// The clock ages are measured with at each scrape (the wall clock; a fixed one in tests).
    pub clock: fn() -> Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSummary {
    pub schedule: String,
    /// The start of its newest `Completed` backup, or its creation before the first one.
    pub restorable_since: Option<Timestamp>,
    /// Its predicted worst case plus the tolerance; `None` when it is not active.
    pub overdue_after: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceSummary {
    pub namespace: String,
    pub tier: String,
    /// Protected claims whose newest finished backup is `Completed` without their data.
    pub volumes_missing: u32,
    /// The oldest of its protected objects' newest restorable backups; `None` when some
    /// protected object has none.
    pub restorable_since: Option<Timestamp>,
}

impl EvidenceSummary {
    /// Sums `evidence` up per schedule and per protected namespace.
    pub fn of(evidence: &Evidence, clock: fn() -> Timestamp) -> Self {
        let schedules = evidence
            .schedules
            .iter()
            .map(|schedule| ScheduleSummary {
                schedule: schedule.schedule.clone(),
                restorable_since: schedule.restorable_since,
                overdue_after: schedule.overdue_after,
            })
            .collect();
        let mut namespaces: Vec<NamespaceSummary> = Vec::new();
        let mut unrestorable: Vec<&str> = Vec::new();
        for object in &evidence.objects {
            let Some(tier) = &object.tier else { continue };
            let index = match namespaces
                .iter()
                .position(|summary| summary.namespace == object.namespace)
            {
                Some(index) => index,
                None => {
                    namespaces.push(NamespaceSummary {
                        namespace: object.namespace.clone(),
                        tier: tier.clone(),
                        volumes_missing: 0,
                        restorable_since: None,
                    });
                    namespaces.len() - 1
                }
            };
            let summary = &mut namespaces[index];
            if object.kind == ObjectKind::PersistentVolumeClaim
                && object
                    .findings
                    .iter()
                    .any(|gap| gap.code == GapCode::LastBackupMissedVolume)
            {
                summary.volumes_missing += 1;
            }
            match object.restorable_since {
                Some(since) => {
                    summary.restorable_since = Some(
                        summary
                            .restorable_since
                            .map_or(since, |oldest| oldest.min(since)),
                    );
                }
                None => unrestorable.push(&object.namespace),
            }
        }
        for summary in &mut namespaces {
            if unrestorable.contains(&summary.namespace.as_str()) {
                summary.restorable_since = None;
            }
        }
        namespaces.sort_by(|a, b| a.namespace.cmp(&b.namespace));
        Self {
            schedules,
            namespaces,
            clock,
        }
    }
}

/// The evidence gauges, registered once as a collector; [`EvidenceGauges::publish`] swaps in
/// each new judgment.
#[derive(Debug, Default)]
pub struct EvidenceGauges {
    current: Mutex<Option<Arc<EvidenceSummary>>>,
}

impl EvidenceGauges {
    pub fn publish(&self, summary: EvidenceSummary) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(summary));
    }

    fn current(&self) -> Option<Arc<EvidenceSummary>> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn age(now: Timestamp, since: Timestamp) -> f64 {
    (now.as_millisecond().saturating_sub(since.as_millisecond())).max(0) as f64 / 1000.0
}

fn gauge<N: EncodeGaugeValue + Copy>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: &[(Vec<(&str, &str)>, N)],
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in samples {
        ConstGauge::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

impl Collector for EvidenceGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let summary = self.current();
        let now = summary.as_ref().map(|summary| (summary.clock)());
        let schedules = summary.as_ref().map_or(&[][..], |s| &s.schedules[..]);
        let namespaces = summary.as_ref().map_or(&[][..], |s| &s.namespaces[..]);
        let ages: Vec<_> = schedules
            .iter()
            .filter_map(|s| {
                let since = s.restorable_since?;
                Some((vec![("schedule", s.schedule.as_str())], age(now?, since)))
            })
            .collect();
        gauge(
            &mut encoder,
            LAST_BACKUP_AGE,
            "Seconds since the start of the schedule's newest Completed backup (before its first one: since the Schedule was created).",
            &ages,
        )?;
        let limits: Vec<_> = schedules
            .iter()
            .filter_map(|s| {
                let limit = s.overdue_after?;
                Some((vec![("schedule", s.schedule.as_str())], limit.as_secs_f64()))
            })
            .collect();
        gauge(
            &mut encoder,
            OVERDUE_AFTER,
            "The age past which the schedule's newest Completed backup is overdue: its predicted worst case plus the tolerance (active schedules only).",
            &limits,
        )?;
        let missing: Vec<_> = namespaces
            .iter()
            .map(|n| {
                (
                    vec![
                        ("namespace", n.namespace.as_str()),
                        ("tier", n.tier.as_str()),
                    ],
                    n.volumes_missing,
                )
            })
            .collect();
        gauge(
            &mut encoder,
            VOLUMES_MISSING,
            "Protected PVCs of the namespace whose newest finished backup of a schedule selecting them is Completed but holds no copy of their data.",
            &missing,
        )?;
        let rpo: Vec<_> = namespaces
            .iter()
            .filter_map(|n| {
                Some((
                    vec![("namespace", n.namespace.as_str())],
                    age(now?, n.restorable_since?),
                ))
            })
            .collect();
        gauge(
            &mut encoder,
            ACHIEVED_RPO,
            "Seconds since the start of the newest restorable backup of the namespace's worst-off protected object (absent while one has none).",
            &rpo,
        )
    }
}

#[cfg(test)]
mod tests {
    use policy::evidence::{ObjectEvidence, ScheduleEvidence};
    use policy::{Gap, Severity};

    use super::*;

    fn at(time: &str) -> Timestamp {
        time.parse().unwrap()
    }

    fn object(
        kind: ObjectKind,
        namespace: &str,
        name: &str,
        since: Option<&str>,
        missed: bool,
    ) -> ObjectEvidence {
        ObjectEvidence {
            kind,
            namespace: namespace.into(),
            name: name.into(),
            tier: Some("critical".into()),
            schedules: vec!["hourly".into()],
            predicted_rpo: Some(Duration::from_secs(3660)),
            achieved_rpo: None,
            restorable_since: since.map(at),
            restorable_from: since.map(|_| "hourly-1".into()),
            findings: if missed {
                vec![Gap {
                    code: GapCode::LastBackupMissedVolume,
                    severity: Severity::Error,
                    message: String::new(),
                    schedule: Some("hourly".into()),
                }]
            } else {
                Vec::new()
            },
            notes: Vec::new(),
        }
    }

    fn now() -> Timestamp {
        at("2026-12-03T03:00:00Z")
    }

    fn encoded(summary: EvidenceSummary) -> String {
        let metrics = crate::metrics::Metrics::new();
        metrics.record_evidence(summary);
        metrics.encode()
    }

    #[test]
    fn a_namespace_is_as_old_as_its_worst_off_object_and_counts_its_missing_volumes() {
        let evidence = Evidence {
            schedules: vec![ScheduleEvidence {
                schedule: "hourly".into(),
                worst_case: Some(Duration::from_secs(3660)),
                newest: None,
                last_finished: None,
                last_completed: None,
                last_completed_age: None,
                restorable_since: Some(at("2026-12-03T02:00:00Z")),
                overdue_after: Some(Duration::from_secs(3660 + 915)),
                overdue: false,
            }],
            objects: vec![
                object(
                    ObjectKind::Namespace,
                    "a",
                    "a",
                    Some("2026-12-03T02:00:00Z"),
                    false,
                ),
                object(
                    ObjectKind::PersistentVolumeClaim,
                    "a",
                    "old",
                    Some("2026-12-03T01:00:00Z"),
                    true,
                ),
                object(
                    ObjectKind::Namespace,
                    "b",
                    "b",
                    Some("2026-12-03T02:00:00Z"),
                    false,
                ),
                object(ObjectKind::PersistentVolumeClaim, "b", "never", None, true),
            ],
        };
        let text = encoded(EvidenceSummary::of(&evidence, now));
        for line in [
            "backstop_last_backup_age_seconds{schedule=\"hourly\"} 3600.0",
            "backstop_backup_overdue_after_seconds{schedule=\"hourly\"} 4575.0",
            "backstop_volumes_missing_from_last_backup{namespace=\"a\",tier=\"critical\"} 1",
            "backstop_volumes_missing_from_last_backup{namespace=\"b\",tier=\"critical\"} 1",
            "backstop_achieved_rpo_seconds{namespace=\"a\"} 7200.0",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
        assert!(
            !text.contains("backstop_achieved_rpo_seconds{namespace=\"b\"}"),
            "b's claim `never` has no restorable backup:\n{text}"
        );
    }

    #[test]
    fn before_the_first_judgment_the_families_are_declared_without_samples() {
        let text = crate::metrics::Metrics::new().encode();
        for name in [
            LAST_BACKUP_AGE,
            OVERDUE_AFTER,
            VOLUMES_MISSING,
            ACHIEVED_RPO,
        ] {
            assert!(text.contains(&format!("# TYPE {name} gauge")), "{text}");
            assert!(!text.contains(&format!("{name}{{")), "{text}");
        }
    }
}
