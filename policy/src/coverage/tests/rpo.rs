//! Worst-case RPO: the largest gap of the covering schedules' merged firings plus the reconcile
//! tick.

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

// An object in several schedules is backed up at the union of their firings (Velero's
// `pkg/controller/schedule_controller.go`, `Reconcile` → `ifDue`, runs each Schedule on its own):
// its worst case is the largest gap of the merged firings plus the tick.

fn registry_in(schedules: &[(&str, &str)]) -> Verdict {
    let mut manifests = namespace("registry", "");
    for (name, cron) in schedules {
        manifests += &schedule(name, cron, "{includedNamespaces: [registry], ttl: 720h}");
    }
    namespace_verdict(&index(&manifests), "registry")
}

fn rpo_gap_message(verdict: &Verdict) -> &str {
    &verdict
        .gaps
        .iter()
        .find(|gap| gap.code == GapCode::RpoExceedsTarget)
        .expect("an rpo-exceeds-target gap")
        .message
}

#[test]
fn weekday_and_weekend_schedules_together_meet_a_daily_target_neither_meets_alone() {
    // Alone: 72 h (Friday to Monday) and 120 h (Sunday to Saturday); together, every day.
    let verdict = registry_in(&[("weekdays", "0 2 * * 1-5"), ("weekends", "0 2 * * 0,6")]);
    assert_eq!(verdict.covered_by, ["weekdays", "weekends"]);
    assert_eq!(verdict.rpo, Some(Duration::from_secs(24 * H + 60)));
    assert!(verdict.met);
    assert!(verdict.gaps.is_empty(), "{:?}", verdict.gaps);
}

#[test]
fn merged_worst_case_message_names_every_schedule_and_says_how_it_is_computed() {
    // Friday 09:00 to Sunday 03:00: 42 h, where the weekday schedule alone leaves 72 h.
    let verdict = registry_in(&[
        ("weekday-mornings", "0 9 * * 1-5"),
        ("sunday-nights", "0 3 * * 0"),
    ]);
    assert_eq!(verdict.rpo, Some(Duration::from_secs(42 * H + 60)));
    assert_eq!(
        rpo_gap_message(&verdict),
        "worst-case RPO of Namespace registry is 1d18h1m (schedules weekday-mornings \"0 9 * * 1-5\", \
         sunday-nights \"0 3 * * 0\" together: their merged firings leave gaps of up to 1d18h, plus \
         the 1m reconcile tick), above the standard tier's 1d1h target; add a schedule that fires \
         at least every 1d59m, e.g. \"0 2 * * *\""
    );
}

#[test]
fn schedules_that_do_not_shorten_the_best_gap_leave_its_own_summary() {
    // Mondays at 03:00 shorten nothing: Friday 02:00 to Monday 02:00 is still the worst, and the
    // message points at the schedule that leaves it.
    let verdict = registry_in(&[("weekdays", "0 2 * * 1-5"), ("mondays", "0 3 * * 1")]);
    assert_eq!(verdict.covered_by, ["weekdays", "mondays"]);
    assert_eq!(verdict.rpo, Some(Duration::from_secs(72 * H + 60)));
    let message = rpo_gap_message(&verdict);
    assert!(
        message.contains("(schedule weekdays: \"0 2 * * 1-5\" leaves gaps of up to 3d,"),
        "{message}"
    );
}

#[test]
fn deleting_one_of_two_merged_schedules_is_a_regression() {
    let index = index(
        &(namespace("registry", "")
            + &schedule(
                "weekdays",
                "0 2 * * 1-5",
                "{includedNamespaces: [registry], ttl: 720h}",
            )
            + &schedule(
                "weekends",
                "0 2 * * 0,6",
                "{includedNamespaces: [registry], ttl: 720h}",
            )),
    );
    let found = index.schedule_change_regressions("velero", "weekends", None);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].before.rpo, Some(Duration::from_secs(24 * H + 60)));
    assert_eq!(found[0].after.rpo, Some(Duration::from_secs(72 * H + 60)));
}
