//! The cluster-level faults' sequencing against the fake outside world
//! (`support/fake_world.rs`): node-loss, cluster-loss and storage-loss in both modes, each in
//! its order of calls and phases, what `result.json` says of it, and that none of them crashes
//! or hangs the harness when the world does not cooperate. Time is paused (tokio test-util).
#![allow(clippy::unwrap_used)]

#[path = "support/engine_run.rs"]
mod engine_run;
#[path = "support/fake_world.rs"]
mod fake_world;

use std::sync::atomic::Ordering;

use backstop_chaos::error::{EXIT_INFRASTRUCTURE, Error};
use backstop_chaos::fault::fallback::Unrestorable;
use backstop_chaos::fault::report::CorruptionFinding;
use backstop_chaos::outcome::RestorePhase;
use backstop_chaos::report::{Format, render};
use backstop_chaos::timeline::Phase;
use backstop_chaos::verdict::{CheckName, Verdict};
use engine_run::{config, go, phases, phases_without_reprovision};
use fake_world::{FakeWorld, LEDGER_NODE, SURVIVING_NODE, Trouble};

const FIRST: &str = "backstop-namespace-loss-20250101000500";
const NEWEST: &str = "backstop-namespace-loss-20250101001500";

/// The calls from the fault on (the set-up before it is the namespace-loss run's).
fn from_fault(world: &FakeWorld) -> Vec<String> {
    let calls = world.calls();
    let at = calls.iter().position(|c| c == "choose_backup").unwrap();
    calls[at + 1..].to_vec()
}

fn check(result: &backstop_chaos::result::RunResult, name: CheckName) -> bool {
    result
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap()
        .passed
}

#[tokio::test(start_paused = true)]
async fn node_loss_stops_the_node_sees_it_dead_clears_it_and_restores_onto_a_surviving_worker() {
    let world = FakeWorld::default();
    let ran = go(&world, &config("node-loss", false)).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(result.verdict, Verdict::Pass, "{:#?}", result.checks);
    assert_eq!(phases(result), phases_without_reprovision());
    assert_eq!(
        from_fault(&world),
        [
            "stop_ledger_node".to_owned(),
            format!("wait_node_dead({LEDGER_NODE})"),
            "force_remove_ledger".into(),
            "delete_namespace".into(),
            "wait_namespace_gone".into(),
            format!("create_restore({FIRST})"),
            "wait_restore(backstop-namespace-loss-restore)".into(),
            "wait_pods_ready".into(),
            "read_restored_ledger".into(),
            "ledger_node".into(),
            "teardown".into(),
        ]
    );
    assert!(
        ran.progress
            .text()
            .contains(&format!("node {LEDGER_NODE}: Ready=Unknown")),
        "detection is its own step, reported as the API server showed it: {}",
        ran.progress.text()
    );
    let node = ran.stored().fault.unwrap().node.unwrap();
    assert_eq!(node.node, LEDGER_NODE);
    assert_eq!(
        node.seen_dead,
        "Ready=Unknown (NodeStatusUnknown: Kubelet stopped posting node status.)"
    );
    assert_eq!(node.force_removed.pod, "backstop-chaos/ledger-0");
    assert_eq!(node.restored_on.as_deref(), Some(SURVIVING_NODE));
}

#[tokio::test(start_paused = true)]
async fn a_node_the_api_server_never_shows_dead_ends_the_run_with_exit_3_and_tears_down() {
    let world = FakeWorld::default().with_trouble("wait_node_dead", Trouble::Hang);
    let ran = go(&world, &config("node-loss", false)).await;
    let err = ran.outcome.as_ref().unwrap_err();
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("node {LEDGER_NODE} to turn NotReady")),
        "{err}"
    );
    assert!(world.called("teardown"));
    assert!(!world.called("create_restore"));
    let stored = ran.stored();
    assert_eq!(stored.verdict, Verdict::Fail);
    assert!(
        stored.fault.is_some(),
        "a partial result still has its fault section"
    );
}

#[tokio::test(start_paused = true)]
async fn cluster_loss_provisions_a_new_cluster_as_its_own_phase_inside_the_rto() {
    let world = FakeWorld::default();
    let ran = go(&world, &config("cluster-loss", false)).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(result.verdict, Verdict::Pass, "{:#?}", result.checks);
    assert_eq!(phases(result), Phase::ALL.to_vec());
    assert_eq!(
        from_fault(&world),
        [
            "delete_cluster".to_owned(),
            "recreate_cluster".into(),
            "install_velero".into(),
            format!("wait_backup_synced({FIRST})"),
            format!("create_restore_of_everything({FIRST})"),
            "wait_restore(backstop-cluster-loss-restore)".into(),
            "wait_pods_ready".into(),
            "read_restored_ledger".into(),
            "teardown".into(),
        ]
    );
    // The new cluster's provisioning lies between the fault and the verified data: inside
    // the RTO. (The run's clock is the real monotonic one; the fake's waits pass in paused
    // tokio time, so the spans are short but still ordered.)
    let reprovision = result
        .phases
        .iter()
        .find(|p| p.phase == Phase::Reprovision)
        .unwrap();
    let fault = result
        .phases
        .iter()
        .find(|p| p.phase == Phase::Fault)
        .unwrap();
    let verified = result
        .phases
        .iter()
        .find(|p| p.phase == Phase::DataVerified)
        .unwrap();
    assert!(reprovision.started.mono_nanos >= fault.ended.mono_nanos);
    assert!(reprovision.ended.mono_nanos <= verified.ended.mono_nanos);
    assert!(result.rto.unwrap().ms >= reprovision.duration_ms);
    let new_cluster = ran.stored().fault.unwrap().new_cluster.unwrap();
    assert_eq!(new_cluster.synced_backup, FIRST);
    assert_eq!(new_cluster.cluster, "backstop-cluster-loss-0000002a");
}

#[tokio::test(start_paused = true)]
async fn storage_loss_deletes_the_newest_backup_falls_back_to_the_previous_and_says_why() {
    let world = FakeWorld::default();
    world.backup_at_fault.store(true, Ordering::SeqCst);
    let ran = go(&world, &config("storage-loss", false)).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(phases(result), phases_without_reprovision());
    assert_eq!(
        from_fault(&world),
        [
            format!("delete_backup_objects({NEWEST})"),
            "delete_namespace".into(),
            "wait_namespace_gone".into(),
            format!("how_unrestorable({NEWEST})"),
            format!("fall_back({NEWEST})"),
            format!("create_restore({FIRST})"),
            "wait_restore(backstop-namespace-loss-restore)".into(),
            "wait_pods_ready".into(),
            "read_restored_ledger".into(),
            "teardown".into(),
        ]
    );
    // The RPO comes from the data: the newest surviving record is the older backup's.
    let backups = world.backups();
    let (first_seq, newest_seq) = (backups[0].1, backups[1].1);
    assert!(first_seq < newest_seq, "{backups:?}");
    assert_eq!(result.rpo.newest_surviving_seq, Some(first_seq));
    assert!(
        result.ledger.lost_acknowledged_writes >= newest_seq - first_seq,
        "the writes only the lost backup held are lost: {:?}",
        result.ledger
    );
    let stored = ran.stored();
    let fallback = stored.fault.as_ref().unwrap().fallback.clone().unwrap();
    assert_eq!(fallback.lost.name, NEWEST);
    assert_eq!(fallback.restored_from.unwrap().name, FIRST);
    let backup_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ran.file("backup.json")).unwrap()).unwrap();
    assert_eq!(backup_json["restored"]["name"], FIRST, "{backup_json}");
    let report = render(&stored, Format::Markdown);
    assert!(report.contains("### Fault"), "{report}");
    assert!(
        report.contains(&format!("the run fell back to {FIRST}")),
        "{report}"
    );
    assert!(
        report.contains("error downloading backup: NoSuchKey"),
        "{report}"
    );
}

#[tokio::test(start_paused = true)]
async fn storage_loss_with_no_older_backup_ends_without_a_restore_and_a_failed_verdict() {
    let world = FakeWorld::default();
    *world.unrestorable.lock().unwrap() = Some(Unrestorable::RemovedBySync);
    let ran = go(&world, &config("storage-loss", false)).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(result.restore.is_none());
    assert!(!check(result, CheckName::RestoreCompleted));
    assert!(!world.called("create_restore"));
    assert!(world.called("teardown"));
    let fallback = ran.stored().fault.unwrap().fallback.unwrap();
    assert_eq!(fallback.restored_from, None);
    assert!(
        fallback.explain().contains("there is nothing to restore"),
        "{}",
        fallback.explain()
    );
    assert!(
        fallback
            .explain()
            .contains("Velero's backup sync removed the Backup"),
        "{}",
        fallback.explain()
    );
}

#[tokio::test(start_paused = true)]
async fn a_corrupted_repository_whose_restore_partially_fails_is_a_failed_verdict_with_the_reason()
{
    let world = FakeWorld::default();
    *world.restore_phase.lock().unwrap() = RestorePhase::PartiallyFailed;
    let ran = go(&world, &config("repository-corruption", false)).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(!check(result, CheckName::RestoreCompleted));
    assert_eq!(
        from_fault(&world)[..3],
        [
            "corrupt_repository",
            "delete_namespace",
            "wait_namespace_gone"
        ]
    );
    assert!(
        !world.called("wait_pods_ready"),
        "the pods would wait for volume data that never comes"
    );
    let fault = ran.stored().fault.unwrap();
    assert_eq!(fault.corrupted_repository.unwrap().altered.len(), 1);
    let finding = fault.corruption_finding.unwrap();
    assert!(
        matches!(
            finding,
            CorruptionFinding::RestoreFailed {
                phase: RestorePhase::PartiallyFailed,
                ..
            }
        ),
        "{finding:?}"
    );
    assert!(
        finding
            .reason()
            .starts_with("the restore from the corrupted repository ended PartiallyFailed"),
        "{}",
        finding.reason()
    );
}

#[tokio::test(start_paused = true)]
async fn a_corrupted_repository_whose_restore_fails_outright_records_the_finding_too() {
    let world = FakeWorld::default();
    *world.restore_phase.lock().unwrap() = RestorePhase::Failed;
    let ran = go(&world, &config("repository-corruption", false)).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(!world.called("wait_pods_ready"));
    let finding = ran.stored().fault.unwrap().corruption_finding.unwrap();
    assert!(
        matches!(
            finding,
            CorruptionFinding::RestoreFailed {
                phase: RestorePhase::Failed,
                ..
            }
        ),
        "{finding:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_corrupted_repository_whose_data_comes_back_broken_is_a_failed_verdict_with_the_reason() {
    let world = FakeWorld::default();
    world.corruption_comes_back.store(true, Ordering::SeqCst);
    let ran = go(&world, &config("repository-corruption", false)).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(check(result, CheckName::RestoreCompleted));
    assert!(!check(result, CheckName::ChainVerifies));
    let finding = ran.stored().fault.unwrap().corruption_finding.unwrap();
    assert_eq!(
        finding,
        CorruptionFinding::DataBroken {
            first_broken_seq: Some(2),
            problems: result.ledger.problems.len(),
        }
    );
}

#[tokio::test(start_paused = true)]
async fn restored_pods_that_never_get_ready_after_a_corrupted_restore_are_the_finding_not_a_hang() {
    let world = FakeWorld::default();
    world.pods_never_ready.store(true, Ordering::SeqCst);
    let ran = go(&world, &config("repository-corruption", false)).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(!check(result, CheckName::PodsReady));
    assert!(!world.called("read_restored_ledger"));
    let finding = ran.stored().fault.unwrap().corruption_finding.unwrap();
    assert!(
        finding
            .reason()
            .contains("ledger-0 Init:0/1 (restore-wait)"),
        "{}",
        finding.reason()
    );
}

#[tokio::test(start_paused = true)]
async fn a_corrupted_repository_that_restores_intact_means_the_fault_did_not_take() {
    let world = FakeWorld::default();
    let ran = go(&world, &config("repository-corruption", false)).await;
    let err = ran.outcome.as_ref().unwrap_err();
    assert!(matches!(err, Error::FaultDidNotTake(_)), "{err}");
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    assert!(
        err.to_string().contains("did not read the altered objects"),
        "{err}"
    );
    assert!(world.called("teardown"));
    assert!(ran.stored().fault.unwrap().corrupted_repository.is_some());
}
