//! `simulate` at scale: 1,000,000 failure instants over 20 objects and 10 schedules (one year).
//! Target: under 2 s on a 2-core machine. Baselines measured in the same run:
//! - the floor: drawing the same 1,000,000 instants and sorting them, no schedule work at all;
//! - the firings alone: every schedule's cron instants over the year (what `simulate` computes
//!   once per schedule);
//! - naive: what the issue rules out, the firings recomputed per sample (each object's covering
//!   schedules' firings within their ttl before the instant, the newest completed one), over
//!   1,000 samples only: scale it by 1,000 to compare with the 1,000,000-sample run.

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, Utc};

use backstop_chaos::simulate::{
    DurationFrom, Settings, SimObject, SimSchedule, draw_samples, simulate,
};
use criterion::{Criterion, criterion_group, criterion_main};
use policy::ObjectKind;
use policy::cron::parse_schedule;

const SAMPLES: usize = 1_000_000;
const CRONS: [(&str, u64, u64); 10] = [
    // (expression, ttl hours, backup minutes)
    ("0 * * * *", 168, 5),
    ("*/15 * * * *", 48, 2),
    ("0 2 * * *", 720, 40),
    ("CRON_TZ=Europe/Berlin 30 2 * * *", 720, 30),
    ("0 9 * * 1-5", 720, 20),
    ("@every 6h", 168, 10),
    ("CRON_TZ=UTC 0 3 * * 0", 2160, 90),
    ("0 2 1,15 * *", 2160, 60),
    ("*/30 8-18 * * 1-5", 72, 3),
    ("0 */4 * * *", 336, 15),
];

fn schedules() -> Vec<SimSchedule> {
    CRONS
        .iter()
        .enumerate()
        .map(|(index, (expr, ttl, minutes))| SimSchedule {
            name: format!("schedule-{index}"),
            cron: parse_schedule(expr).expect("bench crons parse"),
            ttl: Duration::from_secs(ttl * 3600),
            backup_duration: Duration::from_secs(minutes * 60),
            duration_from: DurationFrom::Flag,
        })
        .collect()
}

/// Twenty objects, each covered by one to three of the schedules.
fn objects() -> Vec<SimObject> {
    (0..20)
        .map(|n| {
            let covered_by: Vec<String> = (0..1 + n % 3)
                .map(|k| format!("schedule-{}", (n + 3 * k) % CRONS.len()))
                .collect();
            SimObject {
                kind: ObjectKind::Namespace,
                namespace: format!("team-{n}"),
                name: format!("team-{n}"),
                tier: if n % 4 == 0 { "critical" } else { "standard" }.to_string(),
                target: Duration::from_secs(if n % 4 == 0 { 900 } else { 86_400 }),
                covered_by,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let schedules = schedules();
    let objects = objects();
    let settings = Settings {
        samples: SAMPLES,
        seed: 1,
        start: Settings::default_start(),
        horizon: Settings::DEFAULT_HORIZON,
    };
    let from = settings.start.timestamp_millis();
    let span = i64::try_from(settings.horizon.as_millis()).unwrap_or(i64::MAX);
    let mut group = c.benchmark_group("1M samples, 20 objects, 10 schedules");
    group.sample_size(10);
    group.bench_function("draw and sort the samples (floor)", |b| {
        b.iter(|| black_box(draw_samples(1, from, span, SAMPLES)))
    });
    let start = settings.start;
    let end = start + chrono::Duration::milliseconds(span);
    group.bench_function("firings of the 10 schedules over the year", |b| {
        b.iter(|| {
            let count: usize = schedules
                .iter()
                .map(|schedule| schedule.cron.firings_between(start, end).len())
                .sum();
            black_box(count)
        })
    });
    let few = draw_samples(1, from, span, NAIVE_SAMPLES);
    group.bench_function("naive: firings per sample, 1,000 samples", |b| {
        b.iter(|| black_box(naive(&schedules, &objects, &few)))
    });
    group.bench_function("simulate", |b| {
        b.iter(|| black_box(simulate(&schedules, &objects, &settings)))
    });
    group.finish();
    let report = simulate(&schedules, &objects, &settings);
    assert_eq!(report.objects.len(), 20);
    assert!(report.objects.iter().all(|object| object.rpo.p50.is_some()));
}

const NAIVE_SAMPLES: usize = 1_000;

/// Per sample and object: the age of the newest backup of any covering schedule that had
/// completed by then and not expired, from firings recomputed for that instant.
fn naive(schedules: &[SimSchedule], objects: &[SimObject], samples: &[i64]) -> i64 {
    let mut total = 0i64;
    for &at in samples {
        let Some(instant) = DateTime::<Utc>::from_timestamp_millis(at) else {
            continue;
        };
        for object in objects {
            let newest = schedules
                .iter()
                .filter(|schedule| object.covered_by.contains(&schedule.name))
                .filter_map(|schedule| {
                    let ttl = chrono::Duration::from_std(schedule.ttl).ok()?;
                    let took = chrono::Duration::from_std(schedule.backup_duration).ok()?;
                    schedule
                        .cron
                        .firings_between(instant - ttl, instant)
                        .into_iter()
                        .rev()
                        .find(|fired| *fired + took <= instant)
                })
                .max();
            total += newest.map_or(0, |fired| at - fired.timestamp_millis());
        }
    }
    total
}

criterion_group!(benches, bench);
criterion_main!(benches);
