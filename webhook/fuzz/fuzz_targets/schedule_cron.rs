//! Any text as Velero Schedules: each line as a `spec.schedule` cron expression (parsed in
//! Velero's robfig dialect, its worst-case interval, next firing and firings over two days, and
//! the merged worst case of all lines), and the whole text as YAML manifests of Schedules
//! (compiled, then the platform's coverage evaluated with them). Errors are values.

#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use policy::cron::{merged_worst_case_interval, parse_schedule};
use policy::{CoverageIndex, Detail, Inventory};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let start = Utc
        .with_ymd_and_hms(2026, 3, 28, 22, 0, 0)
        .single()
        .expect("a valid instant");
    let end = start + chrono::Duration::days(2);
    let parsed: Vec<_> = text
        .lines()
        .take(8)
        .filter_map(|line| parse_schedule(line).ok())
        .collect();
    for schedule in &parsed {
        let worst = schedule.worst_case_interval();
        let firings = schedule.firings_between(start, end);
        assert!(
            firings.windows(2).all(|pair| pair[0] <= pair[1]),
            "{schedule:?}"
        );
        let _ = schedule.time_zone();
        if schedule.expression().contains("@every") {
            let _ = schedule.next_after(start);
            continue;
        }
        // The first firing at or after `start` is the next one after the second before it.
        let just_before = start - chrono::Duration::seconds(1);
        if let Some(first) = firings.first() {
            assert_eq!(
                schedule.next_after(just_before),
                Some(*first),
                "{schedule:?}"
            );
        }
        // No gap seen in two days is longer than the worst case over the whole cycle.
        if let Some(worst) = worst {
            for pair in firings.windows(2) {
                let gap = (pair[1] - pair[0]).to_std().expect("increasing");
                assert!(gap <= worst, "{schedule:?}: gap {gap:?} > worst {worst:?}");
            }
        } else {
            assert!(
                firings.is_empty(),
                "{schedule:?} fires but has no worst case"
            );
        }
    }
    let _ = merged_worst_case_interval(&parsed);

    let mut inventory = Inventory::default();
    if inventory.add_yaml(text, "fuzz.yaml").is_ok() {
        let index = CoverageIndex::build(backstop_webhook_fuzz::platform_policy(), inventory);
        let _ = index.evaluate_all_with(Detail::CodesOnly);
    }
});
