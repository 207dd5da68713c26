//! Backup durations measured from a cluster's Backups: per schedule (label
//! `velero.io/schedule-name`, which Velero's `Schedule` controller puts on each Backup it
//! creates, `pkg/builder` `FromSchedule`), the median and maximum of completion minus start over
//! its newest finished backups.

use std::collections::BTreeMap;
use std::time::Duration;

use policy::velero::Backup;

/// The label Velero sets on every Backup a Schedule creates.
pub const SCHEDULE_NAME_LABEL: &str = "velero.io/schedule-name";
/// How many of a schedule's newest finished backups are measured.
pub const RECENT: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// How many backups the figures come from.
    pub backups: usize,
    pub median: Duration,
    pub max: Duration,
}

/// Per schedule name, from the Backups that finished with data (`Completed` or
/// `PartiallyFailed`) and carry both timestamps.
pub fn measure(backups: &[Backup]) -> BTreeMap<String, Measured> {
    let mut by_schedule: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for backup in backups {
        let Some(schedule) = backup
            .metadata
            .labels
            .as_ref()
            .and_then(|labels| labels.get(SCHEDULE_NAME_LABEL))
        else {
            continue;
        };
        let Some(status) = &backup.status else {
            continue;
        };
        if !matches!(
            status.phase.as_deref(),
            Some("Completed" | "PartiallyFailed")
        ) {
            continue;
        }
        let (Some(start), Some(completion)) =
            (&status.start_timestamp, &status.completion_timestamp)
        else {
            continue;
        };
        let (start, completion) = (start.0.as_millisecond(), completion.0.as_millisecond());
        if completion >= start {
            by_schedule
                .entry(schedule.clone())
                .or_default()
                .push((start, completion - start));
        }
    }
    by_schedule
        .into_iter()
        .map(|(schedule, mut runs)| {
            runs.sort_unstable_by_key(|(start, _)| std::cmp::Reverse(*start));
            runs.truncate(RECENT);
            let mut lengths: Vec<i64> = runs.iter().map(|(_, length)| *length).collect();
            lengths.sort_unstable();
            let to_duration =
                |ms: i64| Duration::from_millis(u64::try_from(ms).unwrap_or_default());
            let median = lengths[(lengths.len() - 1) / 2];
            let max = lengths[lengths.len() - 1];
            (
                schedule,
                Measured {
                    backups: lengths.len(),
                    median: to_duration(median),
                    max: to_duration(max),
                },
            )
        })
        .collect()
}
