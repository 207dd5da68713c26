//! Choosing as Velero's `mostRecentCompletedBackup` (`pkg/controller/restore_controller.go`)
//! chooses, over Backup lists shaped as the API server lists custom resources (capture 10,
//! exchange 0: items carry apiVersion and kind, `metadata.continue` is `""`).

use super::*;

fn backups(fixture: &str) -> Vec<Backup> {
    #[derive(serde::Deserialize)]
    struct List {
        items: Vec<Backup>,
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/chaos/drill/backups")
        .join(format!("{fixture}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str::<List>(&text).unwrap().items
}

#[test]
fn an_older_completed_backup_is_chosen_when_the_newest_partially_failed() {
    let choice = choose("daily", &backups("newest-partially-failed"));
    let chosen = choice.chosen.unwrap();
    assert_eq!(chosen.name, "daily-20261202020000");
    assert_eq!(chosen.phase, "Completed");
    assert_eq!(chosen.warnings, 1);
    let skipped: Vec<(&str, &str)> = choice
        .skipped
        .iter()
        .map(|b| (b.name.as_str(), b.phase.as_str()))
        .collect();
    assert_eq!(skipped, [("daily-20261203020000", "PartiallyFailed")]);
    assert_eq!(choice.skipped[0].errors, 3);
}

#[test]
fn backups_of_other_schedules_are_never_chosen() {
    // weekly-20261203030000 is the newest Completed backup of the list, but of another schedule.
    let choice = choose("daily", &backups("newest-partially-failed"));
    assert!(
        choice
            .chosen
            .iter()
            .chain(&choice.skipped)
            .all(|b| b.name.starts_with("daily-")),
        "{choice:?}"
    );
    assert_eq!(
        choose("weekly", &backups("newest-partially-failed"))
            .chosen
            .map(|b| b.name),
        Some("weekly-20261203030000".to_owned())
    );
}

#[test]
fn no_completed_backup_chooses_none_and_lists_every_failed_one() {
    let choice = choose("daily", &backups("no-completed-backup"));
    assert_eq!(choice.chosen, None);
    let skipped: Vec<&str> = choice.skipped.iter().map(|b| b.phase.as_str()).collect();
    assert_eq!(skipped, ["PartiallyFailed", "Failed"]);
}

#[test]
fn an_unknown_schedule_has_nothing_to_choose_or_skip() {
    let choice = choose("hourly", &backups("newest-partially-failed"));
    assert_eq!(choice.chosen, None);
    assert!(choice.skipped.is_empty());
}

#[test]
fn the_start_time_decides_not_the_list_order() {
    let mut list = backups("newest-partially-failed");
    list.reverse();
    assert_eq!(
        choose("daily", &list).chosen.map(|b| b.name),
        Some("daily-20261202020000".to_owned())
    );
}

#[test]
fn a_backup_without_a_start_time_counts_as_the_oldest() {
    // Velero sorts a nil startTimestamp as the zero time: a Completed backup that (oddly) has
    // none loses to any backup that has one.
    let mut list = backups("newest-partially-failed");
    for b in &mut list {
        if b.metadata.name.as_deref() == Some("daily-20261202020000") {
            b.status.as_mut().unwrap().start_timestamp = None;
        }
    }
    assert_eq!(
        choose("daily", &list).chosen.map(|b| b.name),
        Some("daily-20261201020000".to_owned())
    );
}
