//! `simulate`: how often each tier's RPO target is really breached, from the Schedules alone.
//!
//! Failure instants are drawn uniformly over a horizon. At each one an object's data-loss window
//! (its RPO there) is the time since the start of the newest backup, of *any* schedule covering
//! it, that had completed and not yet expired; with none, the instant is a breach and counts in
//! `noRestorableFraction`. How backups start, wait for each other, complete and expire is in
//! [`backups`]. Backups are laid out once per schedule and merged once per set of covering
//! schedules, never per sample; each object then costs one pass over the sorted samples.
//!
//! Percentiles and fractions are over the samples. `maxSeconds` and the longest continuous
//! breach are exact over the horizon, read from the backup timeline itself (the supremum of the
//! RPO is reached just before a backup completes, which samples would only approach), so that,
//! with zero backup duration, the maximum agrees with `audit`'s worst case: the largest gap of
//! the merged firings, plus at most the one-minute reconcile delay.

pub mod args;
mod backups;
pub mod cluster;
pub mod durations;
pub mod objects;
pub mod render;
mod rng;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use policy::ObjectKind;
use policy::cron::CronSchedule;

use self::backups::{Steps, merge_steps, restorable_steps};
use self::rng::SplitMix64;

/// Milliseconds since the Unix epoch, or a span of them.
pub type Millis = i64;

/// Velero's schedule reconcile period: a backup starts up to one tick after it is due.
pub(crate) const TICK: Millis = 60_000;

/// One schedule as the simulation needs it.
#[derive(Debug, Clone)]
pub struct SimSchedule {
    pub name: String,
    pub cron: CronSchedule,
    pub ttl: Duration,
    /// From start to completion, for every backup of this schedule.
    pub backup_duration: Duration,
    pub duration_from: DurationFrom,
}

/// Where a schedule's backup duration comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationFrom {
    /// `--backup-duration` (zero by default).
    Flag,
    /// The median of the schedule's recent Backups in the cluster.
    Cluster(durations::Measured),
    /// `--durations-from-cluster`, but the schedule has no finished Backup: zero.
    ClusterHasNone,
}

/// One protected object and the schedules that cover it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimObject {
    pub kind: ObjectKind,
    pub namespace: String,
    pub name: String,
    pub tier: String,
    pub target: Duration,
    pub covered_by: Vec<String>,
}

impl SimObject {
    /// `Namespace data-platform`, `PersistentVolumeClaim data-platform/data-postgres-0`.
    pub fn subject(&self) -> String {
        policy::verdict::Subject::new(self.kind, &self.namespace, &self.name).to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub samples: usize,
    pub seed: u64,
    pub start: DateTime<Utc>,
    pub horizon: Duration,
}

impl Settings {
    /// The fixed start of the default horizon, so runs are reproducible: 2026-01-01T00:00:00Z.
    pub fn default_start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default()
    }

    /// One year (365 days).
    pub const DEFAULT_HORIZON: Duration = Duration::from_secs(365 * 86_400);
    pub const DEFAULT_SAMPLES: usize = 100_000;
    pub const DEFAULT_SEED: u64 = 1;
}

/// RPO percentiles and maximum, in milliseconds; `None`: no restorable backup (unbounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rpo {
    pub p50: Option<Millis>,
    pub p90: Option<Millis>,
    pub p99: Option<Millis>,
    pub max: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectResult {
    pub object: SimObject,
    pub rpo: Rpo,
    pub breach_fraction: f64,
    pub longest_breach: Millis,
    pub no_restorable_fraction: f64,
}

/// A tier at each instant is as bad as its worst object then: it is breached when any is.
#[derive(Debug, Clone, PartialEq)]
pub struct TierResult {
    pub tier: String,
    pub target: Duration,
    pub objects: usize,
    pub rpo: Rpo,
    pub breach_fraction: f64,
    pub longest_breach: Millis,
    pub no_restorable_fraction: f64,
    /// The object breached most often (then the one with the larger maximum).
    pub worst_object: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub settings: Settings,
    pub schedules: Vec<SimSchedule>,
    pub objects: Vec<ObjectResult>,
    pub tiers: Vec<TierResult>,
}

impl PartialEq for SimSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.cron.expression() == other.cron.expression()
            && self.ttl == other.ttl
            && self.backup_duration == other.backup_duration
            && self.duration_from == other.duration_from
    }
}

/// Runs the simulation. Names in `covered_by` that are not in `schedules` cover nothing.
pub fn simulate(schedules: &[SimSchedule], objects: &[SimObject], settings: &Settings) -> Report {
    let from = settings.start.timestamp_millis();
    let span = millis(settings.horizon).max(1);
    let to = from.saturating_add(span);
    let steps: HashMap<&str, Steps> = schedules
        .iter()
        .map(|schedule| {
            (
                schedule.name.as_str(),
                schedule_steps(schedule, from, to, settings.seed),
            )
        })
        .collect();
    let samples = draw_samples(settings.seed, from, span, settings.samples);

    let mut merged: HashMap<Vec<&str>, Steps> = HashMap::new();
    let mut tiers: Vec<TierAccumulator> = Vec::new();
    let mut results = Vec::with_capacity(objects.len());
    let mut rpos = Vec::with_capacity(samples.len());
    for object in objects {
        let mut key: Vec<&str> = object.covered_by.iter().map(String::as_str).collect();
        key.sort_unstable();
        key.dedup();
        let timeline = merged.entry(key).or_insert_with_key(|key| {
            let parts: Vec<&Steps> = key.iter().filter_map(|name| steps.get(name)).collect();
            merge_steps(&parts)
        });
        let target = millis(object.target);
        rpo_at(timeline, &samples, &mut rpos);
        let (max, breaches) = exact_over_horizon(timeline, from, to, target);
        let tier = match tiers.iter().position(|tier| tier.name == object.tier) {
            Some(index) => &mut tiers[index],
            None => {
                tiers.push(TierAccumulator::new(
                    &object.tier,
                    object.target,
                    samples.len(),
                ));
                let last = tiers.len() - 1;
                &mut tiers[last]
            }
        };
        for (worst, rpo) in tier.worst.iter_mut().zip(&rpos) {
            *worst = (*worst).max(*rpo);
        }
        tier.breaches.extend_from_slice(&breaches);
        tier.unbounded |= max.is_none();
        tier.count += 1;
        let (breach_fraction, no_restorable_fraction) = fractions(&rpos, target);
        let result = ObjectResult {
            object: object.clone(),
            rpo: Rpo {
                max,
                ..percentiles(&mut rpos)
            },
            breach_fraction,
            longest_breach: longest(&breaches),
            no_restorable_fraction,
        };
        tier.consider(&result);
        results.push(result);
    }
    Report {
        settings: *settings,
        schedules: schedules.to_vec(),
        objects: results,
        tiers: tiers.into_iter().map(TierAccumulator::finish).collect(),
    }
}

fn millis(duration: Duration) -> Millis {
    Millis::try_from(duration.as_millis()).unwrap_or(Millis::MAX)
}

/// The schedule's backups from early enough that the horizon starts with its steady state:
/// a ttl, a backup and the largest gap before it (plus two days of slack).
fn schedule_steps(schedule: &SimSchedule, from: Millis, to: Millis, seed: u64) -> Steps {
    let ttl = millis(schedule.ttl);
    let duration = millis(schedule.backup_duration);
    let gap = schedule.cron.worst_case_interval().map_or(0, millis);
    let lookback = ttl
        .saturating_add(duration)
        .saturating_add(gap)
        .saturating_add(2 * 86_400_000);
    let mut rng = SplitMix64::derived(seed, &schedule.name);
    let list = backups::backups(
        &schedule.cron,
        from.saturating_sub(lookback),
        to,
        duration,
        ttl,
        &mut rng,
    );
    restorable_steps(&list)
}

/// `count` instants uniform on `[from, from + span)`, sorted.
pub fn draw_samples(seed: u64, from: Millis, span: Millis, count: usize) -> Vec<Millis> {
    let mut rng = SplitMix64::new(seed);
    let bound = u64::try_from(span).unwrap_or(u64::MAX);
    let mut samples: Vec<Millis> = (0..count)
        .map(|_| from + Millis::try_from(rng.below(bound)).unwrap_or(0))
        .collect();
    samples.sort_unstable();
    samples
}

/// No restorable backup: an RPO larger than any target.
const NONE: Millis = Millis::MAX;

/// The RPO at each (sorted) sample, [`NONE`] where nothing is restorable.
fn rpo_at(timeline: &Steps, samples: &[Millis], out: &mut Vec<Millis>) {
    out.clear();
    let mut step = 0;
    for &at in samples {
        while timeline.get(step + 1).is_some_and(|(from, _)| *from <= at) {
            step += 1;
        }
        out.push(match timeline.get(step).and_then(|(_, start)| *start) {
            Some(start) => at - start,
            None => NONE,
        });
    }
}

/// The supremum of the RPO over `[from, to)` (`None`: some instant has nothing restorable) and
/// the stretches where it is above `target`, merged where they touch.
fn exact_over_horizon(
    timeline: &Steps,
    from: Millis,
    to: Millis,
    target: Millis,
) -> (Option<Millis>, Vec<(Millis, Millis)>) {
    let mut max: Option<Millis> = Some(0);
    let mut breaches: Vec<(Millis, Millis)> = Vec::new();
    let mut breach = |low: Millis, high: Millis| match breaches.last_mut() {
        Some(last) if last.1 >= low => last.1 = last.1.max(high),
        _ => breaches.push((low, high)),
    };
    for (index, (step_from, start)) in timeline.iter().enumerate() {
        let low = (*step_from).max(from);
        let high = timeline
            .get(index + 1)
            .map_or(to, |(next, _)| *next)
            .min(to);
        if low >= high {
            continue;
        }
        match start {
            None => {
                max = None;
                breach(low, high);
            }
            Some(start) => {
                max = max.map(|max| max.max(high - start));
                let breached_from = start.saturating_add(target).max(low);
                if breached_from < high {
                    breach(breached_from, high);
                }
            }
        }
    }
    (max, breaches)
}

fn longest(breaches: &[(Millis, Millis)]) -> Millis {
    breaches
        .iter()
        .map(|(low, high)| high - low)
        .max()
        .unwrap_or(0)
}

/// Fractions of samples above `target` (nothing restorable included) and with nothing restorable.
fn fractions(rpos: &[Millis], target: Millis) -> (f64, f64) {
    if rpos.is_empty() {
        return (0.0, 0.0);
    }
    let breached = rpos.iter().filter(|rpo| **rpo > target).count();
    let none = rpos.iter().filter(|rpo| **rpo == NONE).count();
    let total = rpos.len() as f64;
    (breached as f64 / total, none as f64 / total)
}

/// Nearest-rank p50, p90 and p99 (`max` left for the caller). Reorders `rpos`.
fn percentiles(rpos: &mut [Millis]) -> Rpo {
    let rank = |q: f64, n: usize| ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
    let value = |v: Millis| (v != NONE).then_some(v);
    let n = rpos.len();
    if n == 0 {
        return Rpo {
            p50: None,
            p90: None,
            p99: None,
            max: None,
        };
    }
    // Each selection leaves the smaller values to its left, so the next looks only there.
    let (i99, i90, i50) = (rank(0.99, n), rank(0.90, n), rank(0.50, n));
    let p99 = *rpos.select_nth_unstable(i99).1;
    let p90 = *rpos[..=i99].select_nth_unstable(i90).1;
    let p50 = *rpos[..=i90].select_nth_unstable(i50).1;
    Rpo {
        p50: value(p50),
        p90: value(p90),
        p99: value(p99),
        max: None,
    }
}

struct TierAccumulator {
    name: String,
    target: Duration,
    count: usize,
    worst: Vec<Millis>,
    breaches: Vec<(Millis, Millis)>,
    unbounded: bool,
    worst_object: Option<(f64, Millis, String)>,
    max: Millis,
}

impl TierAccumulator {
    fn new(name: &str, target: Duration, samples: usize) -> Self {
        Self {
            name: name.to_string(),
            target,
            count: 0,
            worst: vec![Millis::MIN; samples],
            breaches: Vec::new(),
            unbounded: false,
            worst_object: None,
            max: 0,
        }
    }

    fn consider(&mut self, result: &ObjectResult) {
        let max = result.rpo.max.unwrap_or(Millis::MAX);
        self.max = self.max.max(max);
        let better = match &self.worst_object {
            None => true,
            Some((fraction, worst_max, _)) => {
                (result.breach_fraction, max) > (*fraction, *worst_max)
            }
        };
        if better {
            self.worst_object = Some((result.breach_fraction, max, result.object.subject()));
        }
    }

    fn finish(mut self) -> TierResult {
        let target = millis(self.target);
        let (breach_fraction, no_restorable_fraction) = fractions(&self.worst, target);
        self.breaches.sort_unstable();
        let mut union: Vec<(Millis, Millis)> = Vec::new();
        for (low, high) in self.breaches {
            match union.last_mut() {
                Some(last) if last.1 >= low => last.1 = last.1.max(high),
                _ => union.push((low, high)),
            }
        }
        let max = (!self.unbounded).then_some(self.max);
        TierResult {
            rpo: Rpo {
                max,
                ..percentiles(&mut self.worst)
            },
            tier: self.name,
            target: self.target,
            objects: self.count,
            breach_fraction,
            longest_breach: longest(&union),
            no_restorable_fraction,
            worst_object: self.worst_object.map(|(_, _, subject)| subject),
        }
    }
}
