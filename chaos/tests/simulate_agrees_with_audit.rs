//! `simulate`'s maximum RPO and `audit`'s worst case are one truth (issue #15, item 2): for an
//! object covered by several Schedules, the largest gap of their *merged* firings plus Velero's
//! reconcile tick. Both read the same manifests through the same loader and coverage index here;
//! `fixtures/simulate/overlapping-schedules/` holds namespaces covered by two interleaving
//! Schedules each (weekdays + Sundays, six-hourly + nightly, weekday-hourly + daily, a Berlin
//! schedule across daylight-saving changes + a UTC one).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use backstop_chaos::simulate::objects::{objects_to_simulate, schedules_covering};
use backstop_chaos::simulate::{DurationFrom, Settings, simulate};
use backstop_webhook::manifests::{load_inventory, load_policy};
use policy::cron::RECONCILE_TICK;
use policy::{CoverageIndex, Verdict};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/simulate/overlapping-schedules"
);

fn index(dir: &str) -> CoverageIndex {
    let dir = Path::new(dir);
    let policy = load_policy(&dir.join("policy.yaml")).unwrap();
    let inventory = load_inventory(&[dir.join("manifests.yaml")]).unwrap();
    CoverageIndex::build(Arc::new(policy), inventory)
}

const HOUR: u64 = 3600;

#[test]
fn simulated_maximum_is_audits_merged_worst_case_within_the_reconcile_tick() {
    let index = index(FIXTURE);
    let verdicts: Vec<Verdict> = index.evaluate_all();
    let objects = objects_to_simulate(&index);
    let schedules = schedules_covering(&index, &objects, |_| (Duration::ZERO, DurationFrom::Flag));
    let settings = Settings {
        samples: 1_000,
        seed: 3,
        start: Settings::default_start(),
        horizon: Settings::DEFAULT_HORIZON,
    };
    let report = simulate(&schedules, &objects, &settings);

    // What audit says, merged (a single schedule's worst would be 72 h, 24 h, 49 h and 25 h).
    let expected = [
        ("berlin-morning-and-utc-evening", 14 * HOUR),
        ("hourly-on-weekdays-and-daily", 24 * HOUR),
        ("six-hourly-and-nightly", 6 * HOUR),
        ("weekdays-and-sundays", 42 * HOUR),
    ];
    assert_eq!(report.objects.len(), expected.len());
    for (namespace, gap) in expected {
        let audit = verdicts
            .iter()
            .find(|verdict| verdict.namespace == namespace)
            .and_then(|verdict| verdict.rpo)
            .unwrap();
        assert_eq!(
            audit,
            Duration::from_secs(gap) + RECONCILE_TICK,
            "{namespace}"
        );
        let simulated = report
            .objects
            .iter()
            .find(|result| result.object.namespace == namespace)
            .and_then(|result| result.rpo.max)
            .unwrap();
        // Each start is its cron instant plus a delay in [0, tick): the simulated largest gap
        // between two starts is the cron gap plus one delay minus another, never above audit's
        // bound (gap + tick) and never below gap - tick.
        let audit_ms = i64::try_from(audit.as_millis()).unwrap();
        let tick_ms = i64::try_from(RECONCILE_TICK.as_millis()).unwrap();
        assert!(
            simulated <= audit_ms && simulated > audit_ms - 2 * tick_ms,
            "{namespace}: simulated max {simulated} ms, audit {audit:?}"
        );
    }
}
