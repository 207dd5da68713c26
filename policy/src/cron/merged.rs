//! The worst case of several schedules backing up the same object: the largest gap between
//! consecutive firings of all of them together, not the best single schedule's largest gap.
//!
//! Weekdays at 09:00 plus Sundays at 03:00 leave at most 42 h (Friday 09:00 to Sunday 03:00),
//! while each alone leaves 72 h and 168 h. Velero runs every Schedule on its own
//! (`pkg/controller/schedule_controller.go`, `ifDue` per Schedule), so an object in several of
//! them is backed up at the union of their firing times.
//!
//! A gap of the merged firings is an interval that holds no firing of any schedule, so it lies
//! inside one gap of every schedule: the merged gaps longer than some `floor` are exactly the
//! non-empty intersections of each schedule's gaps longer than `floor`. The floor is the largest
//! merged gap seen in a short window at the start of the cycle (a true merged gap, so a lower
//! bound of the answer); each schedule's gaps above it are few unless the answer is near it,
//! and they are listed day by day over the same 400-year cycle (DST-aware under `CRON_TZ`) as
//! [`CronSchedule::worst_case_interval`], with the gap that wraps into the next cycle.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use chrono_tz::Tz;

use super::calendar::{CYCLE_SECONDS, Calendar, reference_start};
use super::{CronSchedule, Kind};

/// The floor is read from this much of the cycle's start: five weeks see every weekday pattern
/// and a month boundary.
const PROBE_WINDOW: i64 = 35 * 86_400;

/// Largest gap between consecutive firings of `schedules` together, over a horizon covering the
/// whole cycle; `None` when none of them ever fires.
///
/// Schedules that never fire add nothing. `@every d` runs `d` after the previous backup
/// whatever else fires, so with it the answer is at most `d`, and exactly `d` where the others
/// leave a gap that long. The answer depends on the expressions alone and is memoised by them.
pub fn merged_worst_case_interval<'a>(
    schedules: impl IntoIterator<Item = &'a CronSchedule>,
) -> Option<Duration> {
    let mut firing: Vec<&CronSchedule> = schedules
        .into_iter()
        .filter(|schedule| schedule.0.worst.is_some())
        .collect();
    firing.sort_unstable_by(|a, b| a.expression().cmp(b.expression()));
    firing.dedup_by(|a, b| a.expression() == b.expression());
    match firing.as_slice() {
        [] => None,
        [only] => only.0.worst,
        _ => memoised(&firing),
    }
}

fn memoised(schedules: &[&CronSchedule]) -> Option<Duration> {
    static MEMO: OnceLock<Mutex<HashMap<String, Option<Duration>>>> = OnceLock::new();
    const MEMO_LIMIT: usize = 4096;
    // Length-prefixed, so no two lists of expressions share a key.
    let mut key = String::new();
    for schedule in schedules {
        let expression = schedule.expression();
        let _ = write!(key, "{}:{expression}", expression.len());
    }
    let memo = MEMO.get_or_init(Mutex::default);
    if let Some(known) = memo
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return *known;
    }
    let answer = merge(schedules);
    let mut memo = memo.lock().unwrap_or_else(PoisonError::into_inner);
    if memo.len() >= MEMO_LIMIT {
        memo.clear();
    }
    memo.insert(key, answer);
    answer
}

/// `schedules`: distinct expressions that all fire.
fn merge(schedules: &[&CronSchedule]) -> Option<Duration> {
    let mut every: Option<Duration> = None;
    let mut calendars: Vec<(&Calendar, Option<Tz>, i64)> = Vec::new();
    for schedule in schedules {
        let worst = schedule.0.worst?;
        match &schedule.0.kind {
            Kind::Every(delay) => every = Some(every.map_or(*delay, |d| d.min(*delay))),
            Kind::Cron(calendar) => calendars.push((
                calendar,
                schedule.0.zone,
                i64::try_from(worst.as_secs()).unwrap_or(i64::MAX),
            )),
        }
    }
    let cron = match calendars.as_slice() {
        [] => None,
        [(_, _, worst)] => Some(*worst),
        _ => Some(merged_calendar_gap(&calendars)),
    }
    .and_then(|seconds| u64::try_from(seconds).ok())
    .map(Duration::from_secs);
    match (every, cron) {
        (Some(every), Some(cron)) => Some(every.min(cron)),
        (every, cron) => every.or(cron),
    }
}

/// The largest merged gap (seconds) of calendars that all fire, each with its zone and its own
/// largest gap.
pub(super) fn merged_calendar_gap(calendars: &[(&Calendar, Option<Tz>, i64)]) -> i64 {
    let smallest_worst = calendars
        .iter()
        .map(|(_, _, worst)| *worst)
        .min()
        .unwrap_or(0);
    let floor = probe_floor(calendars);
    if floor >= smallest_worst {
        return smallest_worst;
    }
    let mut lists = Vec::with_capacity(calendars.len());
    for (calendar, zone, _) in calendars {
        let mut gaps = Vec::new();
        let Some((first, last)) =
            calendar.long_gaps_of_cycle(*zone, floor, |a, b| gaps.push((a, b)))
        else {
            return floor;
        };
        if first + CYCLE_SECONDS - last > floor {
            gaps.push((last, first + CYCLE_SECONDS));
        }
        gaps.sort_unstable();
        lists.push((first, gaps));
    }
    // Every list must reach as far as the latest-starting one plus the longest possible merged
    // gap, so each schedule's gaps are repeated one cycle on where that reaches into the next.
    let reach = lists.iter().map(|(first, _)| *first).max().unwrap_or(0) + smallest_worst;
    let mut lists: Vec<Vec<(i64, i64)>> = lists
        .into_iter()
        .map(|(_, mut gaps)| {
            let repeated: Vec<(i64, i64)> = gaps
                .iter()
                .take_while(|(a, _)| *a < reach)
                .map(|(a, b)| (a + CYCLE_SECONDS, b + CYCLE_SECONDS))
                .collect();
            gaps.extend(repeated);
            gaps
        })
        .collect();
    lists.sort_by_key(Vec::len);
    let mut merged = lists.remove(0);
    for gaps in &lists {
        merged = intersect(&merged, gaps, floor);
        if merged.is_empty() {
            break;
        }
    }
    merged.iter().map(|(a, b)| b - a).fold(floor, i64::max)
}

/// The largest gap between consecutive merged firings inside the first [`PROBE_WINDOW`] of the
/// cycle: a gap the cycle really has, so never above the answer.
fn probe_floor(calendars: &[(&Calendar, Option<Tz>, i64)]) -> i64 {
    let start = reference_start();
    let mut instants = Vec::new();
    for (calendar, zone, _) in calendars {
        calendar.for_each_firing(*zone, start, start + PROBE_WINDOW, |at| instants.push(at));
    }
    instants.sort_unstable();
    instants.dedup();
    instants.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
}

/// Non-empty intersections longer than `floor` of two sorted lists of disjoint open intervals.
fn intersect(left: &[(i64, i64)], right: &[(i64, i64)], floor: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while let (Some(&(a, b)), Some(&(c, d))) = (left.get(i), right.get(j)) {
        let (low, high) = (a.max(c), b.min(d));
        if high - low > floor {
            out.push((low, high));
        }
        if b < d {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}
