//! `Detail::CodesOnly` verdicts are full ones with blank messages.

use super::*;

#[test]
fn codes_only_verdicts_differ_from_full_ones_only_by_their_blank_messages() {
    // An RPO miss and a retention gap (registry), a paused schedule and a data gap (team-shop).
    let index = index(
        &(namespace("registry", "")
            + &namespace("team-shop", "")
            + &pvc("team-shop", "data", "", "fast")
            + CSI_STORAGE
            + &schedule(
                "weekly",
                "0 3 * * 0",
                "{includedNamespaces: [registry], ttl: 24h}",
            )
            + &schedule(
                "paused",
                "0 2 * * *",
                "{includedNamespaces: [team-shop], ttl: 720h}",
            )
            .replace("spec:", "spec:\n  paused: true")
            + &schedule(
                "no-snapshots",
                "0 2 * * *",
                "{includedNamespaces: [team-shop], ttl: 720h, snapshotVolumes: false}",
            )),
    );
    let full = index.evaluate_all();
    let codes_only = index.evaluate_all_with(Detail::CodesOnly);
    let codes: Vec<GapCode> = full
        .iter()
        .flat_map(|verdict| verdict.gaps.iter().map(|gap| gap.code))
        .collect();
    for expected in [
        GapCode::RpoExceedsTarget,
        GapCode::SchedulePaused,
        GapCode::VolumeNotBackedUp,
    ] {
        assert!(codes.contains(&expected), "{expected:?} not in {codes:?}");
    }
    let blanked: Vec<Verdict> = full
        .into_iter()
        .map(|mut verdict| {
            for gap in &mut verdict.gaps {
                gap.message.clear();
            }
            verdict
        })
        .collect();
    assert_eq!(codes_only, blanked);
}
