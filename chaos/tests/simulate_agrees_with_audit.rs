//! `simulate`'s maximum RPO, `audit`'s worst case and the webhook's decisions are one truth
//! (issue #15, item 2): for an object covered by several Schedules, the largest gap of their
//! *merged* firings plus Velero's reconcile tick. All read the same manifests through the same
//! loader and coverage index here;
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
use backstop_webhook::review::decode;
use backstop_webhook::validate;
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

/// The webhook's `/validate` answer to the CREATE of Namespace `name`: the captured-shape review
/// `fixtures/admission/namespace-create-protected-missing-tier.json`, renamed.
fn webhook_decides_namespace(index: &CoverageIndex, name: &str) -> (bool, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/admission/namespace-create-protected-missing-tier.json");
    let mut review: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let request = &mut review["request"];
    request["name"] = name.into();
    request["namespace"] = name.into();
    request["object"]["metadata"]["name"] = name.into();
    request["object"]["metadata"]["labels"]["kubernetes.io/metadata.name"] = name.into();
    let body = review.to_string();
    let decoded = decode(body.as_bytes()).unwrap();
    let decision = validate::decide(index, &decoded.request);
    (
        decision.is_allowed(),
        decision.message().unwrap_or_default().to_owned(),
    )
}

#[test]
fn the_webhook_decides_on_the_same_merged_worst_case() {
    let index = index(FIXTURE);
    // 42 h (weekdays 09:00 + Sundays 03:00, merged) is above the tier's 24 h: denied, and the
    // message says the merged firings leave gaps of up to 1d18h, as audit does.
    let (allowed, message) = webhook_decides_namespace(&index, "weekdays-and-sundays");
    assert!(!allowed);
    assert!(
        message.contains("their merged firings leave gaps of up to 1d18h"),
        "{message}"
    );
    // 6 h merged (every 6 h + nightly) meets 24 h: admitted.
    let (allowed, message) = webhook_decides_namespace(&index, "six-hourly-and-nightly");
    assert!(allowed, "{message}");
}
