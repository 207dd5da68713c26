use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::syntax::{self, Body};
use super::{CronSchedule, croner_parser, parse_schedule};
use crate::PolicyError;

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

fn schedule(expr: &str) -> CronSchedule {
    parse_schedule(expr).unwrap_or_else(|error| panic!("{expr:?} should parse: {error}"))
}

fn worst(expr: &str) -> Option<Duration> {
    schedule(expr).worst_case_interval()
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("{text}: {error}"))
        .with_timezone(&Utc)
}

fn firings(expr: &str, from: &str, to: &str) -> Vec<String> {
    schedule(expr)
        .firings_between(utc(from), utc(to))
        .iter()
        .map(|at| at.format("%Y-%m-%dT%H:%MZ").to_string())
        .collect()
}

fn days_between(from: (i32, u32, u32), to: (i32, u32, u32)) -> u64 {
    let date = |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    (date(to) - date(from)).num_days() as u64
}

#[test]
fn worst_case_interval_is_the_largest_gap_between_firings() {
    let cases: &[(&str, &str, u64)] = &[
        ("hourly at minute 0", "0 * * * *", HOUR),
        ("daily at 02:00", "0 2 * * *", 24 * HOUR),
        ("weekly on Sunday", "0 3 * * 0", 168 * HOUR),
        ("weekdays only: Friday to Monday", "0 9 * * 1-5", 72 * HOUR),
        ("every 15 minutes by descriptor", "@every 15m", 15 * MINUTE),
        // Jan 15 -> Feb 1 is the longest stretch: 31 - 15 + 1 days.
        ("1st and 15th of the month", "0 2 1,15 * *", 17 * DAY),
        ("every minute", "* * * * *", MINUTE),
        ("every five minutes", "*/5 * * * *", 5 * MINUTE),
        (
            "steps that do not divide the hour",
            "*/7 * * * *",
            7 * MINUTE,
        ),
        ("two times a day, unevenly", "0 6,8 * * *", 22 * HOUR),
        ("@hourly", "@hourly", HOUR),
        ("@daily", "@daily", DAY),
        ("@midnight", "@midnight", DAY),
        ("@weekly", "@weekly", 7 * DAY),
        ("@monthly: January is 31 days", "@monthly", 31 * DAY),
        ("@yearly: a leap year is 366 days", "@yearly", 366 * DAY),
        ("@annually", "@annually", 366 * DAY),
        // Aug 31 -> Oct 31: September has no 31st.
        ("the 31st skips short months", "0 0 31 * *", 61 * DAY),
        (
            "every other hour in office hours",
            "0 8-18/2 * * 1-5",
            62 * HOUR,
        ),
        ("quarterly", "0 0 1 1,4,7,10 *", 92 * DAY),
    ];
    for (name, expr, expected) in cases {
        assert_eq!(
            worst(expr),
            Some(Duration::from_secs(*expected)),
            "{name}: {expr:?}"
        );
    }
}

#[test]
fn a_feb_29_schedule_waits_eight_years_across_2100() {
    // The horizon is the whole 400-year cycle, and 2100 is not a leap year.
    let expected = days_between((2096, 2, 29), (2104, 2, 29)) * DAY;
    assert_eq!(worst("0 0 29 2 *"), Some(Duration::from_secs(expected)));
    assert_eq!(expected, (8 * 365 + 1) * DAY);
}

#[test]
fn an_expression_that_never_fires_parses_without_an_interval() {
    // robfig accepts these; they simply have no firing time.
    for expr in ["0 0 30 2 *", "0 0 31 4,6,9,11 *", ", * * * *"] {
        let schedule = schedule(expr);
        assert_eq!(schedule.worst_case_interval(), None, "{expr}");
        assert_eq!(
            schedule.next_after(utc("2025-01-01T00:00:00Z")),
            None,
            "{expr}"
        );
        assert!(
            schedule
                .firings_between(utc("2025-01-01T00:00:00Z"), utc("2030-01-01T00:00:00Z"))
                .is_empty(),
            "{expr}"
        );
    }
}

#[test]
fn day_of_month_and_day_of_week_combine_like_robfig() {
    // January 2025 starts on a Wednesday; its Mondays are the 6th, 13th, 20th and 27th.
    let (from, to) = ("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z");
    let mondays = ["2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27"];
    let at_midnight = |days: &[&str]| {
        days.iter()
            .map(|day| format!("{day}T00:00Z"))
            .collect::<Vec<_>>()
    };
    let first_and_mondays = at_midnight(&[&["2025-01-01"][..], &mondays[..]].concat());
    let cases: &[(&str, &str, Vec<String>)] = &[
        // robfig dayMatches: both restricted (no star bit) -> OR.
        (
            "both restricted: the 1st OR Mondays",
            "0 0 1 * 1",
            first_and_mondays.clone(),
        ),
        ("mon by name", "0 0 1 * MON", first_and_mondays),
        // Either field carrying the star bit -> AND, which leaves the other field's days.
        (
            "star day-of-month: Mondays only",
            "0 0 * * 1",
            at_midnight(&mondays),
        ),
        ("? is *: Mondays only", "0 0 ? * 1", at_midnight(&mondays)),
        (
            "star day-of-week: the 1st only",
            "0 0 1 * *",
            at_midnight(&["2025-01-01"]),
        ),
        (
            "? in day-of-week: the 1st only",
            "0 0 1 * ?",
            at_midnight(&["2025-01-01"]),
        ),
        // getRange keeps the star bit for step 1 only: */1 is still a star...
        (
            "*/1 keeps the star bit: AND",
            "0 0 1 * */1",
            at_midnight(&["2025-01-01"]),
        ),
        // ...but */2 clears it, so the fields combine with OR.
        (
            "*/2 clears the star bit: OR",
            "0 0 1 * */2",
            at_midnight(&[
                "2025-01-01",
                "2025-01-02",
                "2025-01-04",
                "2025-01-05",
                "2025-01-07",
                "2025-01-09",
                "2025-01-11",
                "2025-01-12",
                "2025-01-14",
                "2025-01-16",
                "2025-01-18",
                "2025-01-19",
                "2025-01-21",
                "2025-01-23",
                "2025-01-25",
                "2025-01-26",
                "2025-01-28",
                "2025-01-30",
            ]),
        ),
    ];
    for (name, expr, expected) in cases {
        assert_eq!(&firings(expr, from, to), expected, "{name}: {expr:?}");
    }
    // The OR keeps a weekly firing, so the worst gap is a week, not months.
    assert_eq!(worst("0 0 1 * 1"), Some(Duration::from_secs(7 * DAY)));
    assert_eq!(worst("0 0 1 * */2"), Some(Duration::from_secs(2 * DAY)));
    assert_eq!(worst("0 0 1 * */1"), Some(Duration::from_secs(31 * DAY)));
    assert_eq!(worst("0 0 1-31 * 1"), Some(Duration::from_secs(DAY)));
}

#[test]
fn berlin_skips_the_missing_half_hour_and_repeats_the_doubled_one() {
    let expr = "CRON_TZ=Europe/Berlin 30 2 * * *";
    // 2025-03-30 02:00 CET -> 03:00 CEST: 02:30 does not exist, that day does not fire.
    assert_eq!(
        firings(expr, "2025-03-28T00:00:00Z", "2025-04-01T00:00:00Z"),
        [
            "2025-03-28T01:30Z",
            "2025-03-29T01:30Z",
            "2025-03-31T00:30Z"
        ]
    );
    // 2025-10-26 03:00 CEST -> 02:00 CET: 02:30 happens twice, and fires twice, an hour apart.
    assert_eq!(
        firings(expr, "2025-10-25T00:00:00Z", "2025-10-28T00:00:00Z"),
        [
            "2025-10-25T00:30Z",
            "2025-10-26T00:30Z",
            "2025-10-26T01:30Z",
            "2025-10-27T01:30Z"
        ]
    );
    // Saturday 02:30 CET to Monday 02:30 CEST is 48 wall-clock hours but 47 real ones.
    assert_eq!(worst(expr), Some(Duration::from_secs(47 * HOUR)));
    let schedule = schedule(expr);
    assert_eq!(
        schedule.next_after(utc("2025-03-29T01:30:00Z")),
        Some(utc("2025-03-31T00:30:00Z"))
    );
    assert_eq!(
        schedule.next_after(utc("2025-10-26T00:30:00Z")),
        Some(utc("2025-10-26T01:30:00Z"))
    );
    assert_eq!(schedule.time_zone(), Some(Tz::Europe__Berlin));
}

#[test]
fn dst_shifts_lengthen_and_shorten_gaps_under_a_zone() {
    let cases: &[(&str, &str, u64)] = &[
        // Sunday 03:00 exists on both change days; the autumn week is an hour longer.
        (
            "weekly in Berlin",
            "CRON_TZ=Europe/Berlin 0 3 * * 0",
            169 * HOUR,
        ),
        // Midnight-to-midnight is 25 h on the autumn change day.
        (
            "daily at midnight in Berlin",
            "CRON_TZ=Europe/Berlin @daily",
            25 * HOUR,
        ),
        // Skipping 02:00 and doubling 01:00 keeps hourly firings an hour apart.
        ("hourly in New York", "TZ=America/New_York 0 * * * *", HOUR),
        (
            "every 30 minutes in New York",
            "TZ=America/New_York */30 * * * *",
            30 * MINUTE,
        ),
        // Lord Howe moves its clocks by 30 minutes: 02:15 is skipped once a year.
        (
            "Lord Howe half-hour shift",
            "CRON_TZ=Australia/Lord_Howe 15 2 * * *",
            47 * HOUR + 30 * MINUTE,
        ),
        (
            "a zone without DST",
            "CRON_TZ=Asia/Kolkata 30 2 * * *",
            24 * HOUR,
        ),
        ("explicit UTC", "CRON_TZ=UTC 0 2 * * *", 24 * HOUR),
    ];
    for (name, expr, expected) in cases {
        assert_eq!(
            worst(expr),
            Some(Duration::from_secs(*expected)),
            "{name}: {expr:?}"
        );
    }
}

/// Every wall-clock firing croner finds (on naive times), mapped to instants one by one with
/// chrono-tz: a slow, obviously right reference for the fast paths.
fn reference_firings(expr: &str, from: NaiveDateTime, to: NaiveDateTime) -> Vec<DateTime<Utc>> {
    let parsed = syntax::parse(expr).unwrap();
    let Body::Fields(fields) = parsed.body else {
        panic!("{expr} is not a field schedule");
    };
    let cron = croner_parser().parse(&fields).unwrap();
    let zone = parsed.zone.unwrap_or(Tz::UTC);
    let mut instants = Vec::new();
    for wall in cron.iter_after(from - chrono::TimeDelta::seconds(1)) {
        if wall >= to {
            break;
        }
        match zone.from_local_datetime(&wall) {
            LocalResult::Single(at) => instants.push(at.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => {
                instants.push(a.with_timezone(&Utc));
                instants.push(b.with_timezone(&Utc));
            }
            LocalResult::None => {}
        }
    }
    instants.sort();
    instants
}

#[test]
fn firings_and_worst_case_agree_with_croner_mapped_one_wall_time_at_a_time() {
    let expressions = [
        "30 2 * * *",
        "*/20 * * * *",
        "0 3 * * 0",
        "0 1,2,3 * * *",
        "45 1 * * 1-5",
        "0 0 * * *",
        "0 2 1,15 * *",
        "0 0 1 * 1",
    ];
    let zones = [
        "",
        "CRON_TZ=UTC ",
        "CRON_TZ=Europe/Berlin ",
        "TZ=America/New_York ",
        "CRON_TZ=Australia/Lord_Howe ",
        "CRON_TZ=Pacific/Chatham ",
        "CRON_TZ=America/Sao_Paulo ",
    ];
    let wall = |y, m, d| {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    };
    for zone in zones {
        for body in expressions {
            let expr = format!("{zone}{body}");
            // Eight years reach every arrangement of these day rules around DST changes (the
            // 1st falling on the Monday of New York's November change first happens in 2027);
            // one (with both changes) is enough for the every-20-minutes one.
            let years = if body.starts_with('*') { 1 } else { 8 };
            let reference = reference_firings(&expr, wall(2025, 1, 1), wall(2025 + years, 1, 1));
            // Stay a day inside the window so both sides see the same wall days.
            let (low, high) = (reference[1], reference[reference.len() - 2]);
            let parsed = schedule(&expr);
            let ours = parsed.firings_between(low, high);
            let expected: Vec<_> = reference
                .iter()
                .copied()
                .filter(|at| (low..high).contains(at))
                .collect();
            assert_eq!(ours, expected, "{expr}");
            let widest = reference
                .windows(2)
                .map(|w| (w[1] - w[0]).to_std().unwrap())
                .max();
            assert_eq!(parsed.worst_case_interval(), widest, "{expr}");
            for pair in reference.windows(2).step_by(97) {
                assert_eq!(
                    parsed.next_after(pair[0]),
                    Some(pair[1]),
                    "{expr} after {}",
                    pair[0]
                );
            }
        }
    }
}

#[test]
fn next_after_is_strictly_after_and_rounds_to_the_second() {
    let hourly = schedule("0 * * * *");
    assert_eq!(
        hourly.next_after(utc("2025-05-01T10:00:00Z")),
        Some(utc("2025-05-01T11:00:00Z"))
    );
    assert_eq!(
        hourly.next_after(utc("2025-05-01T09:59:59.999Z")),
        Some(utc("2025-05-01T10:00:00Z"))
    );
    let yearly = schedule("@yearly");
    assert_eq!(
        yearly.next_after(utc("2025-01-01T00:00:00Z")),
        Some(utc("2026-01-01T00:00:00Z"))
    );
    let leap = schedule("0 0 29 2 *");
    assert_eq!(
        leap.next_after(utc("2096-03-01T00:00:00Z")),
        Some(utc("2104-02-29T00:00:00Z"))
    );
    // robfig's ConstantDelaySchedule.Next: t + delay, with t's sub-second part dropped.
    let every = schedule("@every 90m");
    assert_eq!(
        every.next_after(utc("2025-05-01T10:00:00.700Z")),
        Some(utc("2025-05-01T11:30:00Z"))
    );
}

#[test]
fn every_is_anchored_at_the_start_of_the_window() {
    assert_eq!(
        firings("@every 20m", "2025-05-01T10:00:00Z", "2025-05-01T11:00:00Z"),
        [
            "2025-05-01T10:00Z",
            "2025-05-01T10:20Z",
            "2025-05-01T10:40Z"
        ]
    );
}

#[test]
fn every_durations_round_like_robfig() {
    // robfig Every: below one second becomes one second; sub-second parts are dropped.
    let cases: &[(&str, &str, u64)] = &[
        ("plain minutes", "@every 15m", 15 * MINUTE),
        ("compound", "@every 1h30m", 90 * MINUTE),
        ("fractional hours", "@every 1.5h", 90 * MINUTE),
        ("zero becomes a second", "@every 0s", 1),
        ("negative becomes a second", "@every -5m", 1),
        ("milliseconds below a second", "@every 300ms", 1),
        ("sub-second part dropped", "@every 1500ms", 1),
        (
            "with a zone prefix",
            "CRON_TZ=Europe/Berlin @every 2h",
            2 * HOUR,
        ),
    ];
    for (name, expr, seconds) in cases {
        assert_eq!(
            worst(expr),
            Some(Duration::from_secs(*seconds)),
            "{name}: {expr:?}"
        );
    }
}

#[test]
fn robfig_quirks_are_accepted_as_velero_accepts_them() {
    let cases: &[(&str, &str, u64)] = &[
        ("names are case-insensitive", "0 0 * * MON", 7 * DAY),
        ("name ranges", "0 9 * jan-dec mon-fri", 72 * HOUR),
        // getRange: "N/step" means "N-max/step".
        ("a/n runs to the maximum", "5/15 * * * *", 15 * MINUTE),
        ("a/n in hours", "0 6/12 * * *", 12 * HOUR),
        ("? works in every field", "? ? ? ? ?", MINUTE),
        // getRange ignores what follows "*-".
        ("*-5 is *", "*-5 * * * *", MINUTE),
        // strings.FieldsFunc drops empty list items.
        ("empty list items", "0,,30 * * * *", 30 * MINUTE),
        // strconv.Atoi accepts a sign and leading zeros.
        ("plus sign", "+0 * * * *", HOUR),
        ("leading zeros", "00 02 * * *", DAY),
        ("extra white space", "  0\t2  * * *  ", DAY),
        ("a step wider than the range", "*/90 * * * *", HOUR),
        // The rest after a zone prefix is trimmed (strings.TrimSpace).
        ("spaces after the prefix", "TZ=UTC    0 2 * * *", DAY),
        (
            "descriptor after the prefix, trailing space",
            "CRON_TZ=UTC @daily ",
            DAY,
        ),
        // time.LoadLocation("") is UTC.
        ("empty zone name is UTC", "CRON_TZ= 0 2 * * *", DAY),
    ];
    for (name, expr, expected) in cases {
        assert_eq!(
            worst(expr),
            Some(Duration::from_secs(*expected)),
            "{name}: {expr:?}"
        );
    }
    assert_eq!(schedule("CRON_TZ= 0 2 * * *").time_zone(), Some(Tz::UTC));
    assert_eq!(schedule("0 2 * * *").time_zone(), None);
}

#[test]
fn what_velero_rejects_is_rejected_with_a_fix() {
    let cases: &[(&str, &str, &str)] = &[
        // Velero's schedule controller: "Schedule must be a non-empty valid Cron expression".
        ("empty", "", "empty"),
        ("only white space", "   ", "expected exactly 5 fields"),
        // ParseStandard has no seconds field.
        ("six fields", "0 0 2 * * *", "no seconds field"),
        ("four fields", "0 2 * *", "expected exactly 5 fields"),
        ("seven fields", "0 0 2 * * * 2025", "found 7"),
        // dow bounds are 0-6.
        ("7 for Sunday", "0 0 * * 7", "write 0 or sun"),
        ("range to 7", "0 0 * * 5-7", "write 0 or sun"),
        ("L in day-of-month", "0 0 L * *", "L, W or #"),
        ("W in day-of-month", "0 0 15W * *", "L, W or #"),
        ("# in day-of-week", "0 0 * * 1#2", "L, W or #"),
        ("L in day-of-week", "0 0 * * 5L", "L, W or #"),
        // Descriptors are matched exactly.
        (
            "capitalised descriptor",
            "@Daily",
            "case-sensitive: write @daily",
        ),
        (
            "leading space before descriptor",
            " @daily",
            "remove any leading space",
        ),
        (
            "trailing space after descriptor",
            "@daily ",
            "trailing whitespace",
        ),
        ("unknown descriptor", "@fortnightly", "@every <duration>"),
        ("@every without a duration", "@every", "exactly one space"),
        ("@every without a space", "@every15m", "exactly one space"),
        (
            "@every with words",
            "@every 15 minutes",
            "not a Go duration",
        ),
        ("@every with days", "@every 1d", "not a Go duration"),
        (
            "unknown zone",
            "CRON_TZ=Mars/Olympus 0 2 * * *",
            "IANA zone name",
        ),
        (
            "zone in the wrong case",
            "CRON_TZ=europe/berlin 0 2 * * *",
            "case-sensitive",
        ),
        ("zone prefix alone", "CRON_TZ=UTC", "followed by a space"),
        (
            "space before the zone prefix",
            " CRON_TZ=UTC 0 2 * * *",
            "must start the schedule",
        ),
        (
            "lower-case prefix",
            "cron_tz=UTC 0 2 * * *",
            "must start the schedule",
        ),
        ("TZ prefix alone", "TZ=Europe/Berlin", "followed by a space"),
        ("step 0", "*/0 * * * *", "positive number"),
        (
            "step not a number",
            "0-30/x * * * *",
            "step \"x\" is not a number",
        ),
        ("two slashes", "1/2/3 * * * *", "more than one '/'"),
        ("two hyphens", "1-2-3 * * * *", "more than one '-'"),
        ("negative step", "*/-5 * * * *", "negative"),
        ("minute 60", "60 * * * *", "above the maximum 59"),
        ("hour 24", "0 24 * * *", "above the maximum 23"),
        ("day 0", "0 0 0 * *", "below the minimum 1"),
        ("day 32", "0 0 32 * *", "above the maximum 31"),
        ("month 13", "0 0 * 13 *", "above the maximum 12"),
        ("month 0", "0 0 * 0 *", "below the minimum 1"),
        ("backwards range", "30-10 * * * *", "runs backwards"),
        (
            "wrapping weekday range",
            "0 0 * * fri-mon",
            "runs backwards",
        ),
        ("full day name", "0 0 * * monday", "three-letter name"),
        ("full month name", "0 0 * january *", "three-letter name"),
        ("day names in day-of-month", "0 0 mon * *", "not a number"),
        ("open range", "5- * * * *", "not a number"),
        ("question mark inside a value", "5? * * * *", "not a number"),
    ];
    for (name, expr, needle) in cases {
        let error = parse_schedule(expr).expect_err(&format!("{name}: {expr:?} should fail"));
        let PolicyError::Cron {
            expr: named,
            reason,
        } = &error
        else {
            panic!("{name}: unexpected error kind {error:?}");
        };
        assert_eq!(named, expr, "{name}");
        assert!(
            reason.contains(needle),
            "{name}: {reason:?} lacks {needle:?}"
        );
        // Every message names the expression and says what to do about it.
        let message = error.to_string();
        assert!(message.contains(&format!("{expr:?}")), "{name}: {message}");
        assert!(
            ["write", "use", "drop", "remove", "list", "expected"]
                .iter()
                .any(|verb| reason.contains(verb)),
            "{name}: no fix in {reason:?}"
        );
    }
}

#[test]
fn six_field_error_says_velero_uses_five_fields() {
    let message = parse_schedule("0 0 2 * * *").unwrap_err().to_string();
    assert_eq!(
        message,
        "invalid schedule \"0 0 2 * * *\": found 6 fields, but Velero schedules have exactly 5 \
         (minute hour day-of-month month day-of-week) and no seconds field; drop the leading \
         seconds field"
    );
}

#[test]
fn a_schedule_is_cheap_to_clone_and_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CronSchedule>();
    let original = schedule("0 2 * * *");
    let copy = original.clone();
    assert!(std::sync::Arc::ptr_eq(&original.0, &copy.0));
    assert_eq!(copy.expression(), "0 2 * * *");
}
