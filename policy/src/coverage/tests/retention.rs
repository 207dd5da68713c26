//! Retention: `ttl`, the 720h server default, and a ttl that must outlive the interval. A backup
//! without a `ttl` (or `0`) takes the server's `--default-backup-ttl`
//! (`pkg/controller/backup_controller.go`, `prepareBackupRequest`).

use super::*;

#[test]
fn zero_ttl_means_the_720h_server_default() {
    let index = index(&(namespace("registry", "") + &schedule("s", "0 2 * * *", "{ttl: 0s}")));
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(verdict.retention, Some(Duration::from_secs(720 * H)));
    assert!(verdict.gaps.is_empty(), "{:?}", verdict.gaps);
}

#[test]
fn ttl_below_the_tier_minimum_is_a_retention_gap() {
    let index =
        index(&(namespace("registry", "") + &schedule("s", "0 2 * * *", "{ttl: 168h0m0s}")));
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(error_codes(&verdict), [GapCode::RetentionBelowMinimum]);
    assert!(
        verdict.gaps[0].message.contains("\"720h0m0s\""),
        "{}",
        verdict.gaps[0].message
    );
}

#[test]
fn ttl_not_longer_than_the_interval_is_a_retention_gap() {
    let policy_tier_is_short = "
veleroNamespace: velero
tiers: {archive: {rpo: 800h, rto: 24h, minRetention: 1h}}
protected: [{namespace: registry, tier: archive}]
";
    let policy = Arc::new(Policy::from_yaml(policy_tier_is_short, "p.yaml").unwrap());
    let mut inventory = Inventory::default();
    inventory
        .add_yaml(
            &(namespace("registry", "") + &schedule("weekly", "0 3 * * 0", "{ttl: 24h}")),
            "t.yaml",
        )
        .unwrap();
    let index = CoverageIndex::build(policy, inventory);
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(error_codes(&verdict), [GapCode::RetentionBelowMinimum]);
    assert!(
        verdict.gaps[0]
            .message
            .contains("expire before the next one lands")
    );
}
