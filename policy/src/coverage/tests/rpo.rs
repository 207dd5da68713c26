//! Worst-case RPO: the best covering schedule's largest gap plus the reconcile tick.

use super::*;

#[test]
fn hourly_schedule_cannot_meet_a_fifteen_minute_target() {
    let index = index(
        &(namespace("data-platform", "")
            + &schedule("critical-backup", "0 * * * *", "{ttl: 168h}")),
    );
    let verdict = namespace_verdict(&index, "data-platform");
    assert_eq!(verdict.rpo, Some(Duration::from_secs(H + 60)));
    assert!(!verdict.met);
    assert_eq!(error_codes(&verdict), [GapCode::RpoExceedsTarget]);
    assert!(
        verdict.gaps[0].message.contains("1h1m"),
        "{}",
        verdict.gaps[0].message
    );
}

#[test]
fn rpo_is_the_best_over_covering_schedules_plus_the_tick() {
    let index = index(
        &(namespace("data-platform", "")
            + &schedule("hourly", "0 * * * *", "{ttl: 168h}")
            + &schedule("frequent", "*/10 * * * *", "{ttl: 168h}")),
    );
    let verdict = namespace_verdict(&index, "data-platform");
    assert_eq!(verdict.covered_by, ["frequent", "hourly"]);
    assert_eq!(verdict.rpo, Some(Duration::from_secs(11 * 60)));
    assert!(verdict.met);
    assert!(verdict.gaps.is_empty(), "{:?}", verdict.gaps);
}
