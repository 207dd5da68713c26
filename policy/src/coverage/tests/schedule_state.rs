//! Which schedules count at all: paused, invalid (`FailedValidation`), never firing, outside the Velero namespace.
//! `pkg/controller/schedule_controller.go`: `SetupWithManager` filters paused schedules out of
//! reconciling, and `Reconcile` marks one whose cron does not parse (`parseCronSchedule`)
//! `FailedValidation`; `pkg/controller/backup_controller.go`, `prepareBackupRequest`, refuses
//! `labelSelector` beside `orLabelSelectors`. Velero watches Schedules in its own namespace only.

use super::*;

#[test]
fn paused_schedule_covers_nothing_and_says_so() {
    let index = index(
        &(namespace("registry", "")
            + &schedule("daily", "0 2 * * *", "{includedNamespaces: [registry]}")
                .replace("  schedule:", "  paused: true\n  schedule:")),
    );
    let verdict = namespace_verdict(&index, "registry");
    assert!(verdict.covered_by.is_empty());
    assert_eq!(error_codes(&verdict), [GapCode::SchedulePaused]);
    assert!(verdict.gaps[0].message.contains("unpause"));
}

#[test]
fn paused_extra_schedule_is_only_a_warning_when_another_covers() {
    let index = index(
        &(namespace("registry", "")
            + &schedule("daily", "0 2 * * *", "{includedNamespaces: [registry]}")
            + &schedule("old", "0 3 * * *", "{includedNamespaces: [registry]}")
                .replace("  schedule:", "  paused: true\n  schedule:")),
    );
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(verdict.covered_by, ["daily"]);
    assert!(!verdict.has_errors());
    assert_eq!(
        verdict.warnings().map(|gap| gap.code).collect::<Vec<_>>(),
        [GapCode::SchedulePaused]
    );
}

#[test]
fn failed_validation_status_covers_nothing() {
    let index = index(
        &(namespace("registry", "")
            + &schedule("daily", "0 2 * * *", "{includedNamespaces: [registry]}")
            + "status: {phase: FailedValidation, validationErrors: ['invalid storage location']}\n"),
    );
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(error_codes(&verdict), [GapCode::ScheduleInvalid]);
    assert!(verdict.gaps[0].message.contains("invalid storage location"));
}

#[test]
fn label_selector_and_or_label_selectors_together_are_invalid() {
    let index = index(
        &(namespace("registry", "a: b")
            + &schedule(
                "both",
                "0 2 * * *",
                "{labelSelector: {matchLabels: {a: b}}, orLabelSelectors: [{matchLabels: {a: b}}]}",
            )),
    );
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(error_codes(&verdict), [GapCode::ScheduleInvalid]);
    assert!(verdict.gaps[0].message.contains("only one"));
}

#[test]
fn malformed_cron_is_invalid_and_does_not_stop_the_evaluation() {
    let index = index(
        &(namespace("registry", "")
            + &namespace("data-platform", "")
            + &schedule("six-fields", "0 0 2 * * *", "{}")
            + &schedule(
                "hourly",
                "0 * * * *",
                "{includedNamespaces: [data-platform]}",
            )),
    );
    let verdicts = index.evaluate_all();
    assert_eq!(verdicts.len(), 2);
    let registry = namespace_verdict(&index, "registry");
    assert_eq!(error_codes(&registry), [GapCode::ScheduleInvalid]);
    assert_eq!(
        namespace_verdict(&index, "data-platform").covered_by,
        ["hourly"]
    );
}

#[test]
fn empty_cron_is_invalid() {
    let index = index(&(namespace("registry", "") + &schedule("empty", "", "{}")));
    assert_eq!(
        error_codes(&namespace_verdict(&index, "registry")),
        [GapCode::ScheduleInvalid]
    );
}

#[test]
fn cron_that_never_fires_covers_nothing() {
    let index = index(&(namespace("registry", "") + &schedule("feb30", "0 0 30 2 *", "{}")));
    assert_eq!(
        error_codes(&namespace_verdict(&index, "registry")),
        [GapCode::ScheduleNeverFires]
    );
}

#[test]
fn schedule_outside_the_velero_namespace_is_ignored() {
    let index = index(
        &(namespace("registry", "")
            + &schedule("elsewhere", "0 2 * * *", "{}")
                .replace("namespace: velero", "namespace: default")),
    );
    assert_eq!(index.schedules().count(), 0);
    assert_eq!(
        codes(&namespace_verdict(&index, "registry")),
        [GapCode::NoSchedule]
    );
}
