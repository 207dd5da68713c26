//! One worst-case analysis per expression (what `parse_schedule` pays once, before the lead's
//! per-expression cache), plus the per-call paths `next_after` and a day of `firings_between`.
//! Target: every expression well under 5 ms in release.

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use policy::cron::parse_schedule;

const EXPRESSIONS: [&str; 10] = [
    "* * * * *",
    "*/5 * * * *",
    "0 * * * *",
    "0 2 * * *",
    "0 9 * * 1-5",
    "0 2 1,15 * *",
    "0 0 29 2 *",
    "@every 15m",
    "CRON_TZ=Europe/Berlin 30 2 * * *",
    "CRON_TZ=America/New_York * * * * *",
];

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_default()
}

fn analysis(c: &mut Criterion) {
    // The zone's offsets over the 400-year horizon are probed once per process and cached, so
    // the measured loop below sees warm zones; the first schedule in a zone pays this instead.
    for zone in [
        "Asia/Tokyo",
        "Australia/Sydney",
        "America/Chicago",
        "Asia/Gaza",
    ] {
        let expr = format!("CRON_TZ={zone} 0 2 * * *");
        let started = Instant::now();
        let parsed = parse_schedule(black_box(&expr));
        println!(
            "cold: {expr:?} took {:?} ({:?})",
            started.elapsed(),
            parsed.map(|s| s.worst_case_interval())
        );
    }
    let mut group = c.benchmark_group("parse_schedule");
    for expr in EXPRESSIONS {
        group.bench_function(expr, |b| b.iter(|| parse_schedule(black_box(expr))));
    }
    group.finish();
}

fn queries(c: &mut Criterion) {
    let after = at("2025-03-29T12:34:56Z");
    let (from, to) = (at("2025-03-29T00:00:00Z"), at("2025-03-30T00:00:00Z"));
    let mut group = c.benchmark_group("queries");
    for expr in [
        "*/5 * * * *",
        "CRON_TZ=Europe/Berlin 30 2 * * *",
        "0 0 29 2 *",
    ] {
        let Ok(schedule) = parse_schedule(expr) else {
            continue;
        };
        group.bench_function(format!("next_after {expr}"), |b| {
            b.iter(|| schedule.next_after(black_box(after)))
        });
        group.bench_function(format!("firings_between one day {expr}"), |b| {
            b.iter(|| schedule.firings_between(black_box(from), black_box(to)))
        });
    }
    group.finish();
}

criterion_group!(benches, analysis, queries);
criterion_main!(benches);
