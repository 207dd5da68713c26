//! Where a five-field schedule fires, as instants, and the largest gap between two firings.
//!
//! A schedule fires at the same times of day (hour x minute) on every firing day, and which
//! days fire depends only on the month, whether the year is a leap year and the weekday of the
//! 1st. So croner is asked once for those 168 month shapes and the times of day, and the rest is
//! arithmetic on whole months: the 400-year analysis visits 4,800 months, not 210 million
//! minutes, and looks at single days only where a time-zone transition falls.
//!
//! Wall-clock times are evaluated naively and mapped to instants with the zone's UTC offsets:
//! a wall time that a transition removes maps to nothing (the firing is skipped), one that a
//! transition repeats maps to both instants (it fires twice), as robfig/cron does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;
use croner::{Cron, Weekday};

const DAY: i64 = 86_400;
/// The Gregorian calendar repeats after 400 years, which are also a whole number of weeks.
const CYCLE_DAYS: i64 = 146_097;
/// One cycle in seconds.
pub(super) const CYCLE_SECONDS: i64 = CYCLE_DAYS * DAY;
const CYCLE_MONTHS: usize = 4_800;
/// The analysis runs over one whole cycle of wall-clock days from 2025-01-01 in the schedule's
/// zone, so its answer does not depend on when it runs.
const REFERENCE_YEAR: i32 = 2025;
/// Offsets are sampled this far apart and bisected where they differ, so two transitions that
/// cancel out must be further apart than this to be seen. The closest in chrono-tz's data from
/// 2025 on are 6.96 days apart (Asia/Gaza and Asia/Hebron suspend DST for a week some years).
const PROBE_STEP: i64 = 3 * DAY;
/// Days since 0001-01-01 (day 1) of 1970-01-01, for chrono's `from_num_days_from_ce`.
const UNIX_EPOCH_CE_DAYS: i64 = 719_163;

/// The first instant of the analysed cycle: 2025-01-01T00:00:00Z.
pub(super) fn reference_start() -> i64 {
    Month::first_of(REFERENCE_YEAR, 1).map_or(0, |month| month.first_day * DAY)
}

#[derive(Debug)]
pub(super) struct Calendar {
    /// Firing times as seconds after local midnight, ascending.
    times: Vec<i64>,
    /// `prefix_gap[i]`: the largest gap between consecutive entries of `times[..i]`.
    prefix_gap: Vec<i64>,
    /// `suffix_gap[i]`: the largest gap between consecutive entries of `times[i..]`.
    suffix_gap: Vec<i64>,
    /// Firing days of a month (bit `d` for day `d`), by [`shape_key`].
    masks: [u32; 168],
    shapes: [Shape; 168],
}

/// Summary of one month mask: first and last firing day and the widest distance (in days)
/// between consecutive firing days inside the month.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    first: i64,
    last: i64,
    widest: i64,
}

fn shape_key(month: u32, leap: bool, weekday_of_first: u32) -> usize {
    ((month as usize - 1) * 2 + usize::from(leap)) * 7 + weekday_of_first as usize
}

fn days_in_month(month: u32, leap: bool) -> u32 {
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Calendar {
    pub(super) fn new(cron: &Cron) -> Result<Self, String> {
        let pattern = &cron.pattern;
        let minutes = pattern.minutes.values();
        let times: Vec<i64> = pattern
            .hours
            .values()
            .into_iter()
            .flat_map(|hour| {
                minutes
                    .iter()
                    .map(move |minute| i64::from(hour) * 3600 + i64::from(*minute) * 60)
            })
            .collect();
        let mut prefix_gap = vec![0; times.len() + 1];
        for i in 2..=times.len() {
            prefix_gap[i] = prefix_gap[i - 1].max(times[i - 1] - times[i - 2]);
        }
        let mut suffix_gap = vec![0; times.len() + 1];
        for i in (0..times.len().saturating_sub(1)).rev() {
            suffix_gap[i] = suffix_gap[i + 1].max(times[i + 1] - times[i]);
        }

        // Day-of-month/day-of-week matching depends on the month only through its length, so
        // croner's `day_match` is asked for one month of each length and each first weekday.
        let error = |e: croner::errors::CronError| format!("croner: {e:?}");
        let mut by_length = [[0u32; 7]; 4];
        for (row, (year, month)) in [(2025, 2), (2024, 2), (2025, 4), (2025, 1)]
            .into_iter()
            .enumerate()
        {
            let length = days_in_month(month, year == 2024);
            for (weekday_of_first, mask) in by_length[row].iter_mut().enumerate() {
                for day in 1..=length {
                    let weekday = Weekday::from_days_from_sunday(weekday_of_first as u32 + day - 1);
                    if pattern
                        .day_match(year, month, day, weekday)
                        .map_err(error)?
                    {
                        *mask |= 1 << day;
                    }
                }
            }
        }
        let mut masks = [0u32; 168];
        let mut shapes = [Shape::default(); 168];
        for month in 1..=12 {
            let month_matches = pattern.month_match(month).map_err(error)?;
            for leap in [false, true] {
                let row = match days_in_month(month, leap) {
                    28 => 0,
                    29 => 1,
                    30 => 2,
                    _ => 3,
                };
                for weekday_of_first in 0..7 {
                    let key = shape_key(month, leap, weekday_of_first);
                    let mask = if month_matches {
                        by_length[row][weekday_of_first as usize]
                    } else {
                        0
                    };
                    masks[key] = mask;
                    shapes[key] = shape(mask);
                }
            }
        }
        Ok(Self {
            times,
            prefix_gap,
            suffix_gap,
            masks,
            shapes,
        })
    }

    /// The largest gap between consecutive firings over one 400-year cycle from the reference
    /// start, including the gap that wraps into the next cycle; `None` when it never fires.
    pub(super) fn worst_gap(&self, zone: Option<Tz>) -> Option<Duration> {
        let (&first_time, &last_time) = (self.times.first()?, self.times.last()?);
        let within_day = self.prefix_gap[self.times.len()];
        let span = last_time - first_time;
        let mut month = Month::first_of(REFERENCE_YEAR, 1)?;
        let timeline = Timeline::reference(zone, month.first_day * DAY);
        let mut cursor = Cursor::new(&timeline);
        let mut gaps = Gaps::default();
        for _ in 0..CYCLE_MONTHS {
            let key = month.key();
            let mask = self.masks[key];
            if mask != 0 {
                let month_start = month.first_day * DAY;
                let month_end = month_start + i64::from(month.length) * DAY;
                match cursor.classify(month_start, month_end) {
                    DayKind::Clean(offset) => {
                        // No transition touches the month: every firing day looks the same.
                        let shape = self.shapes[key];
                        let offset = i64::from(offset);
                        let first = month_start + (shape.first - 1) * DAY + first_time - offset;
                        let last = month_start + (shape.last - 1) * DAY + last_time - offset;
                        let between_days = if shape.widest > 0 {
                            shape.widest * DAY - span
                        } else {
                            0
                        };
                        gaps.push(first, last, within_day.max(between_days));
                    }
                    DayKind::Split(_) | DayKind::Explicit => {
                        for day in days_of(mask) {
                            let day_start = month_start + (day - 1) * DAY;
                            let kind = cursor.classify(day_start, day_start + DAY);
                            if let Some((first, last, widest)) =
                                self.day_summary(day_start, kind, &timeline)
                            {
                                gaps.push(first, last, widest);
                            }
                        }
                    }
                }
            }
            month = month.next();
        }
        gaps.finish(CYCLE_DAYS * DAY)
    }

    /// Calls `visit(a, b)` for every pair of consecutive firings `a < b` of the cycle from the
    /// reference start (the cycle [`Calendar::worst_gap`] analyses) that are more than
    /// `threshold` seconds apart, in order; returns the cycle's first and last firing. The gap
    /// that wraps into the next cycle is left to the caller. Costs a visit per firing day plus
    /// one per long gap inside a day: a schedule that fires every minute, asked for gaps above a
    /// minute, is walked day by day, not firing by firing.
    pub(super) fn long_gaps_of_cycle(
        &self,
        zone: Option<Tz>,
        threshold: i64,
        mut visit: impl FnMut(i64, i64),
    ) -> Option<(i64, i64)> {
        let (&first_time, &last_time) = (self.times.first()?, self.times.last()?);
        let long_inside: Vec<usize> = (1..self.times.len())
            .filter(|&i| self.times[i] - self.times[i - 1] > threshold)
            .collect();
        let mut month = Month::first_of(REFERENCE_YEAR, 1)?;
        let timeline = Timeline::reference(zone, month.first_day * DAY);
        let mut cursor = Cursor::new(&timeline);
        let mut bounds: Option<(i64, i64)> = None;
        let mut scratch = Vec::new();
        let mut step = |bounds: &mut Option<(i64, i64)>, first: i64, last: i64| {
            if let Some((_, previous)) = *bounds
                && first - previous > threshold
            {
                visit(previous, first);
            }
            *bounds = Some((bounds.map_or(first, |(start, _)| start), last));
        };
        for _ in 0..CYCLE_MONTHS {
            let month_start = month.first_day * DAY;
            for day in days_of(self.masks[month.key()]) {
                let day_start = month_start + (day - 1) * DAY;
                match cursor.classify(day_start, day_start + DAY) {
                    DayKind::Clean(offset) => {
                        // The day's firings as runs with no long gap inside, split where one is.
                        let base = day_start - i64::from(offset);
                        let mut run_start = base + first_time;
                        for &i in &long_inside {
                            step(&mut bounds, run_start, base + self.times[i - 1]);
                            run_start = base + self.times[i];
                        }
                        step(&mut bounds, run_start, base + last_time);
                    }
                    kind => {
                        scratch.clear();
                        self.day_instants(day_start, kind, &timeline, |at| scratch.push(at));
                        scratch.sort_unstable();
                        for &at in &scratch {
                            step(&mut bounds, at, at);
                        }
                    }
                }
            }
            month = month.next();
        }
        bounds
    }

    /// Calls `visit` with every firing instant (Unix seconds) in `[from, to)`, not in order.
    pub(super) fn for_each_firing(
        &self,
        zone: Option<Tz>,
        from: i64,
        to: i64,
        mut visit: impl FnMut(i64),
    ) {
        if self.times.is_empty() || from >= to {
            return;
        }
        let timeline = Timeline::new(zone, from - 2 * DAY, to + 2 * DAY);
        let (lowest, highest) = timeline.offset_bounds();
        let first_day = (from + lowest).div_euclid(DAY) - 1;
        let last_day = (to + highest).div_euclid(DAY) + 1;
        let Some(mut month) = Month::containing(first_day) else {
            return;
        };
        let mut cursor = Cursor::new(&timeline);
        while month.first_day <= last_day {
            for day in days_of(self.masks[month.key()]) {
                let day_number = month.first_day + day - 1;
                if day_number < first_day || day_number > last_day {
                    continue;
                }
                let day_start = day_number * DAY;
                let kind = cursor.classify(day_start, day_start + DAY);
                self.day_instants(day_start, kind, &timeline, |instant| {
                    if (from..to).contains(&instant) {
                        visit(instant);
                    }
                });
            }
            month = month.next();
        }
    }

    /// The earliest firing at or after `from` (Unix seconds); `None` if there is none within a
    /// whole calendar cycle, that is, never.
    pub(super) fn first_firing_from(&self, zone: Option<Tz>, from: i64) -> Option<i64> {
        let mut low = from;
        let mut window = 2 * 3600;
        while low - from <= (CYCLE_DAYS + 2) * DAY {
            let high = low.checked_add(window)?;
            let mut best: Option<i64> = None;
            self.for_each_firing(zone, low, high, |instant| {
                best = Some(best.map_or(instant, |b| b.min(instant)));
            });
            if best.is_some() {
                return best;
            }
            low = high;
            window = window.saturating_mul(8);
        }
        None
    }

    fn day_instants(
        &self,
        day_start: i64,
        kind: DayKind,
        timeline: &Timeline,
        mut emit: impl FnMut(i64),
    ) {
        match kind {
            DayKind::Clean(offset) => {
                let base = day_start - i64::from(offset);
                self.times.iter().for_each(|t| emit(base + t));
            }
            DayKind::Split(transition) => {
                let (before, after) = self.split(day_start, transition);
                let base = day_start - i64::from(transition.before);
                before.iter().for_each(|t| emit(base + t));
                let base = day_start - i64::from(transition.after);
                after.iter().for_each(|t| emit(base + t));
            }
            DayKind::Explicit => {
                for t in &self.times {
                    resolve(timeline.zone, day_start + t, &mut emit);
                }
            }
        }
    }

    /// First and last firing of a day and the widest gap between its firings.
    fn day_summary(
        &self,
        day_start: i64,
        kind: DayKind,
        timeline: &Timeline,
    ) -> Option<(i64, i64, i64)> {
        match kind {
            DayKind::Clean(offset) => {
                let base = day_start - i64::from(offset);
                Some((
                    base + self.times.first()?,
                    base + self.times.last()?,
                    self.prefix_gap[self.times.len()],
                ))
            }
            DayKind::Split(transition) => {
                // Firings before the transition keep the old offset, those after take the new one;
                // the two runs are each in order and the first run ends before the second starts.
                let (before, after) = self.split(day_start, transition);
                let before_base = day_start - i64::from(transition.before);
                let after_base = day_start - i64::from(transition.after);
                let first_before = before.first().map(|t| before_base + t);
                let last_before = before.last().map(|t| before_base + t);
                let first_after = after.first().map(|t| after_base + t);
                let last_after = after.last().map(|t| after_base + t);
                let junction = match (last_before, first_after) {
                    (Some(last), Some(first)) => first - last,
                    _ => 0,
                };
                let widest = self.prefix_gap[before.len()]
                    .max(self.suffix_gap[self.times.len() - after.len()])
                    .max(junction);
                Some((
                    first_before.or(first_after)?,
                    last_after.or(last_before)?,
                    widest,
                ))
            }
            DayKind::Explicit => {
                let mut instants = Vec::with_capacity(self.times.len() * 2);
                for t in &self.times {
                    resolve(timeline.zone, day_start + t, &mut |instant| {
                        instants.push(instant)
                    });
                }
                instants.sort_unstable();
                let widest = instants.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
                Some((*instants.first()?, *instants.last()?, widest))
            }
        }
    }

    /// The times of a day that fire before `transition` (with its old offset) and after it
    /// (with its new offset). A skipped wall time is in neither, a repeated one in both.
    fn split(&self, day_start: i64, transition: Transition) -> (&[i64], &[i64]) {
        let before_end = transition.at + i64::from(transition.before) - day_start;
        let after_start = transition.at + i64::from(transition.after) - day_start;
        let before = self.times.partition_point(|t| *t < before_end);
        let after = self.times.partition_point(|t| *t < after_start);
        (&self.times[..before], &self.times[after..])
    }
}

/// Maps one wall time (seconds, read as a naive date-time) to its instants in `zone`.
fn resolve(zone: Option<Tz>, wall: i64, emit: &mut impl FnMut(i64)) {
    let Some(zone) = zone else {
        emit(wall);
        return;
    };
    let Some(naive) = DateTime::from_timestamp(wall, 0).map(|utc| utc.naive_utc()) else {
        return;
    };
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(instant) => emit(instant.timestamp()),
        LocalResult::Ambiguous(earlier, later) => {
            emit(earlier.timestamp());
            emit(later.timestamp());
        }
        LocalResult::None => {}
    }
}

fn shape(mask: u32) -> Shape {
    let mut shape = Shape::default();
    let mut previous: Option<i64> = None;
    for day in days_of(mask) {
        match previous {
            None => shape.first = day,
            Some(previous) => shape.widest = shape.widest.max(day - previous),
        }
        previous = Some(day);
        shape.last = day;
    }
    shape
}

/// The days (1-31) whose bit is set, ascending.
fn days_of(mut mask: u32) -> impl Iterator<Item = i64> {
    std::iter::from_fn(move || {
        if mask == 0 {
            return None;
        }
        let day = mask.trailing_zeros();
        mask &= mask - 1;
        Some(i64::from(day))
    })
}

/// Running maximum of the gaps between consecutive firings, fed day by day or month by month.
#[derive(Default)]
struct Gaps {
    first: Option<i64>,
    last: i64,
    widest: i64,
}

impl Gaps {
    fn push(&mut self, first: i64, last: i64, widest_inside: i64) {
        match self.first {
            None => self.first = Some(first),
            Some(_) => self.widest = self.widest.max(first - self.last),
        }
        self.widest = self.widest.max(widest_inside);
        self.last = last;
    }

    fn finish(self, cycle: i64) -> Option<Duration> {
        let first = self.first?;
        let widest = self.widest.max(first + cycle - self.last);
        u64::try_from(widest).ok().map(Duration::from_secs)
    }
}

#[derive(Debug, Clone, Copy)]
struct Month {
    year: i32,
    month: u32,
    /// Days since 1970-01-01 of the 1st.
    first_day: i64,
    length: u32,
}

impl Month {
    fn first_of(year: i32, month: u32) -> Option<Self> {
        let date = NaiveDate::from_ymd_opt(year, month, 1)?;
        Some(Self {
            year,
            month,
            first_day: i64::from(date.num_days_from_ce()) - UNIX_EPOCH_CE_DAYS,
            length: days_in_month(month, is_leap(year)),
        })
    }

    fn containing(day: i64) -> Option<Self> {
        let date =
            NaiveDate::from_num_days_from_ce_opt(i32::try_from(day + UNIX_EPOCH_CE_DAYS).ok()?)?;
        Self::first_of(date.year(), date.month())
    }

    fn next(self) -> Self {
        let (year, month) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        Self {
            year,
            month,
            first_day: self.first_day + i64::from(self.length),
            length: days_in_month(month, is_leap(year)),
        }
    }

    fn key(self) -> usize {
        // 1970-01-01 was a Thursday (4 days after Sunday).
        let weekday_of_first = (self.first_day + 4).rem_euclid(7) as u32;
        shape_key(self.month, is_leap(self.year), weekday_of_first)
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// A change of a zone's UTC offset at instant `at` (Unix seconds).
#[derive(Debug, Clone, Copy)]
struct Transition {
    at: i64,
    before: i32,
    after: i32,
}

impl Transition {
    /// Wall times from here on may not map with the old offset alone.
    fn wall_start(self) -> i64 {
        self.at + i64::from(self.before.min(self.after))
    }

    /// Wall times from here on map with the new offset alone.
    fn wall_end(self) -> i64 {
        self.at + i64::from(self.before.max(self.after))
    }
}

/// A zone's UTC offsets over a range of instants.
#[derive(Debug)]
struct Timeline {
    zone: Option<Tz>,
    initial: i32,
    transitions: Vec<Transition>,
}

impl Timeline {
    fn new(zone: Option<Tz>, from: i64, to: i64) -> Self {
        let Some(tz) = zone else {
            return Self {
                zone,
                initial: 0,
                transitions: Vec::new(),
            };
        };
        let initial = offset_at(tz, from);
        let mut transitions = Vec::new();
        let (mut at, mut offset) = (from, initial);
        while at < to {
            let probe = (at + PROBE_STEP).min(to);
            if offset_at(tz, probe) == offset {
                at = probe;
                continue;
            }
            // offset_at(low) == offset != offset_at(high): find the first second that differs.
            let (mut low, mut high) = (at, probe);
            while high - low > 1 {
                let middle = low + (high - low) / 2;
                if offset_at(tz, middle) == offset {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            let after = offset_at(tz, high);
            transitions.push(Transition {
                at: high,
                before: offset,
                after,
            });
            (at, offset) = (high, after);
        }
        Self {
            zone,
            initial,
            transitions,
        }
    }

    /// The timeline of the analysis horizon, probed once per zone and process: probing 400
    /// years is most of the cost of analysing a zoned schedule.
    fn reference(zone: Option<Tz>, start: i64) -> Arc<Self> {
        static CACHE: OnceLock<Mutex<HashMap<Tz, Arc<Timeline>>>> = OnceLock::new();
        let build = || Self::new(zone, start - 2 * DAY, start + (CYCLE_DAYS + 2) * DAY);
        let Some(tz) = zone else {
            return Arc::new(build());
        };
        let cache = CACHE.get_or_init(Mutex::default);
        let cached = cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&tz)
            .cloned();
        cached.unwrap_or_else(|| {
            let timeline = Arc::new(build());
            cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(tz, Arc::clone(&timeline));
            timeline
        })
    }

    fn offset_bounds(&self) -> (i64, i64) {
        self.transitions.iter().map(|t| i64::from(t.after)).fold(
            (i64::from(self.initial), i64::from(self.initial)),
            |(low, high), offset| (low.min(offset), high.max(offset)),
        )
    }
}

fn offset_at(zone: Tz, at: i64) -> i32 {
    DateTime::from_timestamp(at, 0)
        .map(|utc| {
            zone.offset_from_utc_datetime(&utc.naive_utc())
                .fix()
                .local_minus_utc()
        })
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy)]
enum DayKind {
    /// No transition touches this wall range: every wall time maps with this offset.
    Clean(i32),
    /// Exactly one transition touches it.
    Split(Transition),
    /// Several do: map each wall time through the zone.
    Explicit,
}

/// Walks wall ranges in ascending order and tells which offsets apply to each.
struct Cursor<'a> {
    transitions: &'a [Transition],
    next: usize,
    offset: i32,
}

impl<'a> Cursor<'a> {
    fn new(timeline: &'a Timeline) -> Self {
        Self {
            transitions: &timeline.transitions,
            next: 0,
            offset: timeline.initial,
        }
    }

    fn classify(&mut self, wall_start: i64, wall_end: i64) -> DayKind {
        while let Some(transition) = self.transitions.get(self.next) {
            if transition.wall_end() > wall_start {
                break;
            }
            self.offset = transition.after;
            self.next += 1;
        }
        let touches = |index: usize| {
            self.transitions
                .get(index)
                .is_some_and(|t| t.wall_start() < wall_end)
        };
        match self.transitions.get(self.next) {
            Some(transition) if touches(self.next) => {
                if touches(self.next + 1) {
                    DayKind::Explicit
                } else {
                    DayKind::Split(*transition)
                }
            }
            _ => DayKind::Clean(self.offset),
        }
    }
}
