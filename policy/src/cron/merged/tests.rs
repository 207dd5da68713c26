//! The merged worst case against its definition: the largest gap between consecutive firings of
//! all the schedules together, listed one by one over the whole cycle.

use std::time::Duration;

use chrono::DateTime;

use super::super::calendar::{CYCLE_SECONDS, reference_start};
use super::super::{CronSchedule, Kind, parse_schedule};
use super::{merged_calendar_gap, merged_worst_case_interval};

const HOUR: u64 = 3600;

fn schedules(exprs: &[&str]) -> Vec<CronSchedule> {
    exprs
        .iter()
        .map(|expr| parse_schedule(expr).expect("test expressions parse"))
        .collect()
}

fn merged(exprs: &[&str]) -> Option<Duration> {
    merged_worst_case_interval(&schedules(exprs))
}

/// Every firing of every schedule over the cycle, sorted, and the largest gap between neighbours
/// (with the one that wraps into the next cycle): the definition, by brute force.
fn brute_force(exprs: &[&str]) -> Duration {
    let start = reference_start();
    let from = DateTime::from_timestamp(start, 0).expect("cycle start is a valid instant");
    let to = DateTime::from_timestamp(start + CYCLE_SECONDS, 0).expect("cycle end is valid");
    let mut instants: Vec<i64> = schedules(exprs)
        .iter()
        .flat_map(|schedule| schedule.firings_between(from, to))
        .map(|at| at.timestamp())
        .collect();
    instants.sort_unstable();
    instants.dedup();
    let inside = instants.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    let wrap = instants[0] + CYCLE_SECONDS - instants[instants.len() - 1];
    Duration::from_secs(u64::try_from(inside.max(wrap)).expect("gaps are positive"))
}

#[test]
fn weekday_mornings_and_sunday_nights_leave_42_hours_not_72() {
    // Friday 09:00 to Sunday 03:00; each alone leaves 72 h (Friday to Monday) and 168 h.
    assert_eq!(
        merged(&["0 9 * * 1-5", "0 3 * * 0"]),
        Some(Duration::from_secs(42 * HOUR))
    );
    assert_eq!(
        merged(&["0 9 * * 1-5"]),
        Some(Duration::from_secs(72 * HOUR))
    );
}

#[test]
fn merged_worst_case_is_the_largest_gap_of_all_firings_over_the_cycle() {
    for exprs in [
        &["0 9 * * 1-5", "0 3 * * 0"][..],
        &["0 2 1,15 * *", "0 3 * * 0"],
        &["0 0 29 2 *", "0 12 1 3 *"],
        &["CRON_TZ=America/New_York 0 9 * * *", "0 3 * * *"],
        &["CRON_TZ=Europe/Berlin 30 2 * * *", "0 1 * * 6"],
        &[
            "CRON_TZ=America/New_York 30 1 * * 0",
            "CRON_TZ=Europe/Berlin 0 4 * * 3",
            "0 22 * * 5",
        ],
    ] {
        assert_eq!(merged(exprs), Some(brute_force(exprs)), "{exprs:?}");
    }
}

#[test]
fn one_schedule_merged_with_itself_keeps_its_own_worst_case() {
    for expr in [
        "0 9 * * 1-5",
        "0 0 29 2 *",
        "*/10 * * * *",
        "0 * * * *",
        "CRON_TZ=Europe/Berlin 30 2 * * *",
        "CRON_TZ=America/New_York 0 1-3 * * 0",
    ] {
        let schedule = parse_schedule(expr).expect("parses");
        let Kind::Cron(calendar) = &schedule.0.kind else {
            panic!("{expr} has five fields");
        };
        let worst = schedule.0.worst.expect("fires").as_secs() as i64;
        let twice = [
            (&**calendar, schedule.0.zone, worst),
            (&**calendar, schedule.0.zone, worst),
        ];
        assert_eq!(merged_calendar_gap(&twice), worst, "{expr}");
    }
}

#[test]
fn offset_schedules_split_each_others_gaps() {
    assert_eq!(
        merged(&["0 */2 * * *", "0 1-23/2 * * *"]),
        Some(Duration::from_secs(HOUR))
    );
    assert_eq!(
        merged(&["0 3 * * *", "0 15 * * *"]),
        Some(Duration::from_secs(12 * HOUR))
    );
}

#[test]
fn every_caps_the_merged_worst_case_at_its_delay() {
    // Velero runs `@every d` d after the previous backup whatever else fires.
    assert_eq!(
        merged(&["@every 6h", "0 9 * * 1-5"]),
        Some(Duration::from_secs(6 * HOUR))
    );
    assert_eq!(
        merged(&["@every 100h", "0 9 * * 1-5"]),
        Some(Duration::from_secs(72 * HOUR))
    );
    assert_eq!(
        merged(&["@every 6h", "@every 2h"]),
        Some(Duration::from_secs(2 * HOUR))
    );
}

#[test]
fn schedules_that_never_fire_add_nothing() {
    assert_eq!(
        merged(&["0 0 30 2 *", "0 2 * * *"]),
        Some(Duration::from_secs(24 * HOUR))
    );
    assert_eq!(merged(&["0 0 30 2 *", "0 0 31 4 *"]), None);
    assert_eq!(merged(&[]), None);
}

#[test]
fn the_same_expression_twice_counts_once() {
    assert_eq!(
        merged(&["0 9 * * 1-5", "0 9 * * 1-5"]),
        Some(Duration::from_secs(72 * HOUR))
    );
}
