//! The simulation against closed forms. Sampling tolerances are derived from the sample count:
//! a nearest-rank quantile q of N uniform draws on [a, a + T] has a standard deviation of about
//! T·sqrt(q(1-q)/N), and a fraction p one of sqrt(p(1-p)/N); the bounds below are four of those
//! plus what the up-to-one-minute reconcile delay can shift.

use std::time::Duration;

use policy::ObjectKind;
use policy::cron::{RECONCILE_TICK, merged_worst_case_interval, parse_schedule};

use super::*;

const MINUTE: f64 = 60.0;
const HOUR: f64 = 3600.0;
const SAMPLES: usize = 50_000;

fn schedule(name: &str, expr: &str, ttl_hours: u64, duration: Duration) -> SimSchedule {
    SimSchedule {
        name: name.to_string(),
        cron: parse_schedule(expr).expect("test crons parse"),
        ttl: Duration::from_secs(ttl_hours * 3600),
        backup_duration: duration,
        duration_from: DurationFrom::Flag,
    }
}

fn object(name: &str, target_minutes: u64, covered_by: &[&str]) -> SimObject {
    SimObject {
        kind: ObjectKind::Namespace,
        namespace: name.to_string(),
        name: name.to_string(),
        tier: "critical".to_string(),
        target: Duration::from_secs(target_minutes * 60),
        covered_by: covered_by.iter().map(|name| name.to_string()).collect(),
    }
}

fn settings(samples: usize, seed: u64) -> Settings {
    Settings {
        samples,
        seed,
        start: Settings::default_start(),
        horizon: Settings::DEFAULT_HORIZON,
    }
}

fn run(schedules: &[SimSchedule], objects: &[SimObject]) -> Report {
    simulate(schedules, objects, &settings(SAMPLES, 7))
}

fn secs(ms: Option<Millis>) -> f64 {
    ms.expect("bounded") as f64 / 1000.0
}

/// Four standard deviations of the nearest-rank q-quantile of `n` uniform draws over `span`.
fn quantile_bound(span: f64, q: f64, n: usize) -> f64 {
    4.0 * span * (q * (1.0 - q) / n as f64).sqrt()
}

/// Four standard deviations of a sampled fraction near `p`.
fn fraction_bound(p: f64, n: usize) -> f64 {
    4.0 * (p * (1.0 - p) / n as f64).sqrt()
}

fn assert_near(what: &str, actual: f64, expected: f64, bound: f64) {
    assert!(
        (actual - expected).abs() <= bound,
        "{what}: {actual} is not within {bound} of {expected}"
    );
}

#[test]
fn hourly_with_zero_duration_gives_an_rpo_uniform_over_the_hour() {
    let report = run(
        &[schedule("hourly", "0 * * * *", 168, Duration::ZERO)],
        &[object("data-platform", 15, &["hourly"])],
    );
    let result = &report.objects[0];
    // Uniform on [0, 60 min]; the reconcile delay moves any quantile by less than one minute.
    for (q, value) in [
        (0.5, result.rpo.p50),
        (0.9, result.rpo.p90),
        (0.99, result.rpo.p99),
    ] {
        assert_near(
            &format!("p{}", q * 100.0),
            secs(value),
            q * HOUR,
            quantile_bound(HOUR, q, SAMPLES) + MINUTE,
        );
    }
    // The whole distribution, not only three quantiles: the share of instants whose RPO is at
    // most k·6 min is k/10, each within four standard deviations (and the delay's minute).
    let settings = settings(SAMPLES, 7);
    let from = settings.start.timestamp_millis();
    let span = millis(settings.horizon);
    let timeline = schedule_steps(&report.schedules[0], from, from + span, settings.seed);
    let mut rpos = Vec::new();
    rpo_at(
        &timeline,
        &draw_samples(settings.seed, from, span, SAMPLES),
        &mut rpos,
    );
    for k in 1..10 {
        let at_most = (k as f64 * 6.0 * MINUTE * 1000.0) as Millis;
        let share = rpos.iter().filter(|rpo| **rpo <= at_most).count() as f64 / SAMPLES as f64;
        let expected = k as f64 / 10.0;
        assert_near(
            &format!("share at most {} min", k * 6),
            share,
            expected,
            fraction_bound(expected, SAMPLES) + MINUTE / HOUR,
        );
    }
    // Exact: the largest gap between two starts, an hour plus at most one delay.
    let max = secs(result.rpo.max);
    assert!((HOUR - MINUTE..=HOUR + MINUTE).contains(&max), "max {max}");
    // Breached (above 15 min) three quarters of the time.
    assert_near(
        "breach fraction",
        result.breach_fraction,
        0.75,
        fraction_bound(0.75, SAMPLES) + MINUTE / HOUR,
    );
    assert_eq!(result.no_restorable_fraction, 0.0);
    // Each breach runs from 15 min after a start to the next start: 45 min, up to a minute more.
    let longest = result.longest_breach as f64 / 1000.0;
    assert!(
        (45.0 * MINUTE..=46.0 * MINUTE).contains(&longest),
        "longest {longest}"
    );
}

#[test]
fn daily_with_a_two_hour_backup_peaks_at_26_hours() {
    let report = run(
        &[schedule(
            "daily",
            "0 2 * * *",
            720,
            Duration::from_secs(2 * 3600),
        )],
        &[object("registry", 24 * 60, &["daily"])],
    );
    let result = &report.objects[0];
    // Just before a backup completes, the newest restorable one started 24 h + 2 h earlier.
    let max = secs(result.rpo.max);
    assert!(
        (26.0 * HOUR - MINUTE..=26.0 * HOUR + MINUTE).contains(&max),
        "max {max}"
    );
    // RPO is uniform on [2 h, 26 h]: median 14 h.
    assert_near(
        "p50",
        secs(result.rpo.p50),
        14.0 * HOUR,
        quantile_bound(24.0 * HOUR, 0.5, SAMPLES) + MINUTE,
    );
    // Above the 24 h target for the last 2 h of each day.
    assert_near(
        "breach fraction",
        result.breach_fraction,
        2.0 / 24.0,
        fraction_bound(2.0 / 24.0, SAMPLES) + MINUTE / (24.0 * HOUR),
    );
}

#[test]
fn ttl_shorter_than_the_interval_leaves_nothing_restorable_for_the_rest_of_it() {
    // Daily backups kept 18 h: for 6 h of every day no backup exists at all.
    let report = run(
        &[schedule("daily", "0 2 * * *", 18, Duration::ZERO)],
        &[object("registry", 24 * 60, &["daily"])],
    );
    let result = &report.objects[0];
    assert_near(
        "no restorable fraction",
        result.no_restorable_fraction,
        0.25,
        fraction_bound(0.25, SAMPLES) + MINUTE / (24.0 * HOUR),
    );
    // Nothing restorable is a breach, whatever the target.
    assert_eq!(result.breach_fraction, result.no_restorable_fraction);
    assert_eq!(result.rpo.max, None, "the RPO is unbounded");
    assert!(result.rpo.p50.is_some());
    assert_eq!(result.rpo.p90, None, "the worst quarter has no backup");
}

#[test]
fn a_weekday_only_schedule_peaks_over_the_weekend_as_audit_says() {
    let weekdays = schedule("weekdays", "0 9 * * 1-5", 720, Duration::ZERO);
    let report = run(
        std::slice::from_ref(&weekdays),
        &[object("registry", 24 * 60, &["weekdays"])],
    );
    let max = secs(report.objects[0].rpo.max);
    // Friday 09:00 to Monday 09:00.
    assert!(
        (72.0 * HOUR - MINUTE..=72.0 * HOUR + MINUTE).contains(&max),
        "max {max}"
    );
    let audit = merged_worst_case_interval([&weekdays.cron]).expect("fires") + RECONCILE_TICK;
    assert!(max <= audit.as_secs_f64(), "{max} above audit's {audit:?}");
}

#[test]
fn two_schedules_merge_as_audit_merges_them() {
    // Weekdays 09:00 + Sundays 03:00: Friday 09:00 to Sunday 03:00 is the longest wait, 42 h.
    let schedules = [
        schedule("weekdays", "0 9 * * 1-5", 720, Duration::ZERO),
        schedule("sundays", "0 3 * * 0", 720, Duration::ZERO),
    ];
    let report = run(
        &schedules,
        &[object("registry", 24 * 60, &["weekdays", "sundays"])],
    );
    let max = secs(report.objects[0].rpo.max);
    assert!(
        (42.0 * HOUR - MINUTE..=42.0 * HOUR + MINUTE).contains(&max),
        "max {max}"
    );
    let audit = merged_worst_case_interval(schedules.iter().map(|s| &s.cron)).expect("fires")
        + RECONCILE_TICK;
    assert_eq!(audit, Duration::from_secs(42 * 3600 + 60));
    assert!(max <= audit.as_secs_f64());
}

#[test]
fn a_run_still_in_progress_makes_the_next_wait_until_it_completes() {
    // Velero submits nothing while a backup of the schedule is InProgress and starts the due run
    // at the first reconcile after it completes: 90-minute backups of an hourly schedule run
    // back to back, every 90 minutes, so the newest restorable backup is up to 3 h old.
    let report = run(
        &[schedule(
            "hourly",
            "0 * * * *",
            168,
            Duration::from_secs(90 * 60),
        )],
        &[object("data-platform", 15, &["hourly"])],
    );
    let max = secs(report.objects[0].rpo.max);
    assert!(
        (3.0 * HOUR - 2.0 * MINUTE..=3.0 * HOUR + 2.0 * MINUTE).contains(&max),
        "max {max}"
    );
}

#[test]
fn every_runs_its_delay_after_the_previous_start() {
    let report = run(
        &[schedule("six-hourly", "@every 6h", 168, Duration::ZERO)],
        &[object("registry", 24 * 60, &["six-hourly"])],
    );
    let max = secs(report.objects[0].rpo.max);
    assert!(
        (6.0 * HOUR..=6.0 * HOUR + MINUTE).contains(&max),
        "max {max}"
    );
}

#[test]
fn an_uncovered_object_is_breached_all_the_time() {
    let report = run(
        &[schedule("hourly", "0 * * * *", 168, Duration::ZERO)],
        &[object("orphan", 15, &[])],
    );
    let result = &report.objects[0];
    assert_eq!(result.breach_fraction, 1.0);
    assert_eq!(result.no_restorable_fraction, 1.0);
    assert_eq!(result.rpo.max, None);
    assert_eq!(result.longest_breach, millis(Settings::DEFAULT_HORIZON));
}

#[test]
fn a_tier_is_breached_whenever_any_of_its_objects_is() {
    let schedules = [
        schedule("hourly", "0 * * * *", 168, Duration::ZERO),
        schedule("half-past", "30 * * * *", 168, Duration::ZERO),
    ];
    let report = run(
        &schedules,
        &[
            object("a", 15, &["hourly"]),
            object("b", 15, &["half-past"]),
        ],
    );
    let tier = &report.tiers[0];
    assert_eq!(tier.objects, 2);
    // a breaches from :15 to :00, b from :45 to :30: together, never met at all.
    assert!(tier.breach_fraction > 0.99, "{}", tier.breach_fraction);
    assert!(tier.longest_breach > millis(Settings::DEFAULT_HORIZON) / 2);
    assert!(tier.worst_object.is_some());
}

#[test]
fn the_same_seed_gives_the_same_report_and_another_seed_another() {
    let schedules = [schedule("hourly", "0 * * * *", 168, Duration::ZERO)];
    let objects = [object("data-platform", 15, &["hourly"])];
    let once = render::json(&simulate(&schedules, &objects, &settings(10_000, 3)));
    let again = render::json(&simulate(&schedules, &objects, &settings(10_000, 3)));
    let other = render::json(&simulate(&schedules, &objects, &settings(10_000, 4)));
    assert_eq!(once, again);
    assert_ne!(once, other);
}

#[test]
fn json_has_the_documented_shape() {
    let report = simulate(
        &[schedule("hourly", "0 * * * *", 168, Duration::ZERO)],
        &[object("data-platform", 15, &["hourly"])],
        &settings(1_000, 1),
    );
    let document: serde_json::Value =
        serde_json::from_str(&render::json(&report)).expect("valid JSON");
    assert_eq!(document["samples"], 1_000);
    assert_eq!(document["seed"], 1);
    assert_eq!(document["horizon"]["start"], "2026-01-01T00:00:00Z");
    assert_eq!(document["horizon"]["end"], "2027-01-01T00:00:00Z");
    let object = &document["objects"][0];
    for key in [
        "kind",
        "namespace",
        "name",
        "tier",
        "targetSeconds",
        "coveredBy",
        "rpo",
        "breachFraction",
        "longestBreachSeconds",
        "noRestorableFraction",
    ] {
        assert!(!object[key].is_null(), "objects[0].{key} missing");
    }
    for key in ["p50Seconds", "p90Seconds", "p99Seconds", "maxSeconds"] {
        assert!(object["rpo"][key].is_number(), "rpo.{key}");
    }
    let tier = &document["tiers"][0];
    assert_eq!(tier["tier"], "critical");
    assert_eq!(tier["objects"], 1);
    assert_eq!(tier["worstObject"], "Namespace data-platform");
    assert!(tier["breachFraction"].is_number());
}
