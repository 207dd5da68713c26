//! Velero's cron dialect and the worst-case interval between backups.
//!
//! Velero parses `spec.schedule` with robfig/cron v3 `cron.ParseStandard`, after refusing an
//! empty string. [`parse_schedule`] accepts and rejects exactly what that accepts and rejects:
//! five fields (minute hour day-of-month month day-of-week), the descriptors `@yearly`,
//! `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly` (case-sensitive, no
//! surrounding space), `@every <Go duration>`, and an optional `CRON_TZ=<zone> ` or
//! `TZ=<zone> ` prefix. Where robfig differs from other cron dialects it wins: `?` is `*`,
//! day-of-week is 0-6 with three-letter names, `N/S` means `N-max/S`, `L`/`W`/`#` and seconds
//! are invalid, and day-of-month/day-of-week combine with OR unless either is `*` or `?`.
//!
//! Under a zone prefix the fields match wall-clock time in that zone: a wall time that a DST
//! change removes is skipped and one it repeats fires twice, as robfig's `SpecSchedule.Next`
//! does (it steps absolute hours and minutes). croner's own DST rule (run skipped jobs after
//! the gap, fixed-time jobs once in a repeat) differs, so croner only matches naive wall times
//! and the mapping to instants is done here. Without a prefix robfig uses `time.Local`, which is
//! UTC in Velero's server image, so such schedules are evaluated in UTC.
//!
//! The fields are checked against robfig's rules and handed to croner, which does the parsing
//! into value sets and all matching; see `cron/syntax.rs`. Firing instants and the worst-case
//! interval come from `cron/calendar.rs`; the worst case of several schedules together from
//! `cron/merged.rs`.

mod calendar;
mod merged;
mod syntax;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};

use crate::PolicyError;
use calendar::Calendar;
use syntax::Body;

pub use merged::merged_worst_case_interval;

/// Velero's schedule controller requeues every minute: a backup can start up to one tick late.
pub const RECONCILE_TICK: Duration = Duration::from_secs(60);

/// A parsed Velero schedule. Cheap to clone: the analysis is shared.
#[derive(Debug, Clone)]
pub struct CronSchedule(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    expression: String,
    zone: Option<Tz>,
    kind: Kind,
    worst: Option<Duration>,
}

#[derive(Debug)]
enum Kind {
    /// `@every`: Velero runs it `delay` after the previous backup, whenever that was.
    Every(Duration),
    /// Five fields: croner's answers, read once into firing days and times of day.
    Cron(Box<Calendar>),
}

/// Parses a Velero `spec.schedule` and computes its worst-case interval.
///
/// An expression that parses but can never fire (`0 0 30 2 *`) is valid, as in Velero; its
/// [`CronSchedule::worst_case_interval`] is `None`.
pub fn parse_schedule(expr: &str) -> Result<CronSchedule, PolicyError> {
    // Pure memoisation: the analysis depends on the text alone, and a cluster (or a webhook
    // judging Schedule edits) sees the same few expressions again and again.
    static MEMO: OnceLock<Mutex<HashMap<String, CronSchedule>>> = OnceLock::new();
    const MEMO_LIMIT: usize = 4096;
    let memo = MEMO.get_or_init(Mutex::default);
    if let Some(known) = memo
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(expr)
    {
        return Ok(known.clone());
    }
    let parsed = analyse(expr)?;
    let mut memo = memo.lock().unwrap_or_else(PoisonError::into_inner);
    if memo.len() >= MEMO_LIMIT {
        memo.clear();
    }
    memo.insert(expr.to_string(), parsed.clone());
    Ok(parsed)
}

fn analyse(expr: &str) -> Result<CronSchedule, PolicyError> {
    let fail = |reason: String| PolicyError::Cron {
        expr: expr.to_string(),
        reason,
    };
    let parsed = syntax::parse(expr).map_err(fail)?;
    let (kind, worst) = match parsed.body {
        Body::Every(delay) => (Kind::Every(delay), Some(delay)),
        Body::Fields(fields) => {
            let pattern = croner_parser()
                .parse(&fields)
                .map_err(|error| fail(format!("croner rejected {fields:?}: {error:?}")))?;
            let calendar = Calendar::new(&pattern).map_err(fail)?;
            let worst = calendar.worst_gap(parsed.zone);
            (Kind::Cron(Box::new(calendar)), worst)
        }
    };
    Ok(CronSchedule(Arc::new(Inner {
        expression: expr.to_string(),
        zone: parsed.zone,
        kind,
        worst,
    })))
}

/// Five fields, no seconds or years, OR between restricted day fields (robfig's rule).
fn croner_parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .dom_and_dow(false)
        .build()
}

impl std::str::FromStr for CronSchedule {
    type Err = PolicyError;

    fn from_str(expr: &str) -> Result<Self, Self::Err> {
        parse_schedule(expr)
    }
}

impl CronSchedule {
    /// The expression exactly as written in the Schedule.
    pub fn expression(&self) -> &str {
        &self.0.expression
    }

    /// Largest gap between consecutive firings over a horizon covering the whole cycle; None when it never fires.
    ///
    /// The horizon is the 400-year Gregorian cycle of wall-clock days from 2025-01-01 in the
    /// schedule's zone (146,097 days, a whole number of weeks, so weekday and leap-year patterns
    /// all repeat), including the gap that wraps into the next cycle. A gap is real elapsed
    /// time: under a zone, firings DST skips or repeats shorten or lengthen it. So `0 0 29 2 *`
    /// gives 8 years (2096-02-29 to 2104-02-29: 2100 is not a leap year), and time-zone
    /// transitions count as chrono-tz knows them (through 2099; fixed offsets after).
    /// `@every d` gives `d`, rounded as robfig rounds it.
    pub fn worst_case_interval(&self) -> Option<Duration> {
        self.0.worst
    }

    /// The first firing strictly after `after`, as Velero computes the next run from the last
    /// backup (`schedule.Next(lastBackup)`). For `@every d` that is `after` (whole seconds) + `d`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let after = after.timestamp();
        let next = match &self.0.kind {
            Kind::Every(delay) => after.checked_add(delay_seconds(*delay))?,
            Kind::Cron(calendar) => {
                self.0.worst?;
                calendar.first_firing_from(self.0.zone, after.checked_add(1)?)?
            }
        };
        DateTime::from_timestamp(next, 0)
    }

    /// All firings in [from, to) (tests and the cron bench check the analysis against them).
    ///
    /// `@every d` has no phase of its own (Velero counts from the previous backup), so its
    /// series is anchored at `from`: `from`, `from + d`, ... with `from` rounded up to a second.
    pub fn firings_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        // Firings fall on whole seconds: x >= from and x < to for those are these bounds.
        let low = ceil_seconds(from);
        let high = ceil_seconds(to);
        let mut instants = Vec::new();
        match &self.0.kind {
            Kind::Every(delay) => {
                let step = delay_seconds(*delay);
                let mut at = low;
                while at < high {
                    instants.push(at);
                    let Some(next) = at.checked_add(step) else {
                        break;
                    };
                    at = next;
                }
            }
            Kind::Cron(calendar) => {
                if self.0.worst.is_some() {
                    calendar.for_each_firing(self.0.zone, low, high, |at| instants.push(at));
                    instants.sort_unstable();
                }
            }
        }
        instants
            .into_iter()
            .filter_map(|at| DateTime::from_timestamp(at, 0))
            .collect()
    }

    /// The delay of an `@every` schedule (run that long after the previous backup, whenever that
    /// was); `None` for five fields and descriptors, which fire at fixed times.
    pub fn every(&self) -> Option<Duration> {
        match self.0.kind {
            Kind::Every(delay) => Some(delay),
            Kind::Cron(_) => None,
        }
    }

    /// The zone of a `CRON_TZ=`/`TZ=` prefix (`UTC` for an empty name or `Local`); `None`
    /// without a prefix, when Velero's server evaluates the schedule in its own zone, UTC.
    pub fn time_zone(&self) -> Option<Tz> {
        self.0.zone
    }
}

fn delay_seconds(delay: Duration) -> i64 {
    i64::try_from(delay.as_secs()).unwrap_or(i64::MAX)
}

fn ceil_seconds(at: DateTime<Utc>) -> i64 {
    let seconds = at.timestamp();
    if at.timestamp_subsec_nanos() > 0 {
        seconds.saturating_add(1)
    } else {
        seconds
    }
}
