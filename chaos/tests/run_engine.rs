//! The live run's sequencing against a fake outside world (`support/fake_world.rs`): the
//! phases in order, what each fault does, the run directory, and that teardown and the
//! result happen whatever the run's fate. Time is paused (tokio test-util): the scenario's
//! 12 minutes and every timeout pass in no real time.
#![allow(clippy::unwrap_used)]

#[path = "support/engine_run.rs"]
mod engine_run;
#[path = "support/fake_world.rs"]
mod fake_world;

use backstop_chaos::error::{EXIT_INFRASTRUCTURE, Error};
use backstop_chaos::fault::corruption;
use backstop_chaos::outcome::RestorePhase;
use backstop_chaos::run::progress::Progress;
use backstop_chaos::run::run;
use backstop_chaos::run::rundir::RunDir;
use backstop_chaos::timeline::Phase;
use backstop_chaos::verdict::Verdict;
use engine_run::{Lines, config, exists, go, phases, phases_without_reprovision};
use fake_world::{FakeWorld, Trouble};

#[tokio::test(start_paused = true)]
async fn a_namespace_loss_run_goes_through_every_phase_in_order_and_passes() {
    let world = FakeWorld::default();
    let ran = go(&world, &config("namespace-loss", false)).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(result.verdict, Verdict::Pass, "{:#?}", result.checks);
    assert_eq!(phases(result), phases_without_reprovision());
    assert_eq!(
        world.calls(),
        [
            "provision",
            "install_velero",
            "deploy_workload",
            "create_schedule",
            "wait_backup",
            "choose_backup",
            "delete_namespace",
            "wait_namespace_gone",
            "create_restore(backstop-namespace-loss-20250101000500)",
            "wait_restore(backstop-namespace-loss-restore)",
            "wait_pods_ready",
            "read_restored_ledger",
            "teardown",
        ]
    );
    // The writes after the backup were acknowledged and lost: the RPO counts them.
    let ledger = &result.ledger;
    assert_eq!(ledger.newest_valid_seq, Some(world.backed_up()));
    assert!(ledger.acknowledged_before_fault.unwrap() > world.backed_up());
    assert_eq!(
        ledger.lost_acknowledged_writes,
        ledger.acknowledged_before_fault.unwrap() - world.backed_up()
    );
    assert_eq!(result.rpo.newest_surviving_seq, Some(world.backed_up()));
    assert!(!world.called("collect_diagnostics"));
}

#[tokio::test(start_paused = true)]
async fn the_run_directory_holds_the_result_its_reports_the_ground_truth_and_the_backup() {
    let world = FakeWorld::default();
    let ran = go(&world, &config("namespace-loss", false)).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(&ran.stored(), result);
    for name in ["report.md", "junit.xml", "report.html", "backup.json"] {
        assert!(exists(&ran.file(name)), "{name} missing");
    }
    let acks = backstop_chaos::ground_truth::load(&ran.file("ground-truth.jsonl")).unwrap();
    let before_fault = result.ledger.acknowledged_before_fault.unwrap();
    assert!(acks.iter().any(|a| a.seq == before_fault));
    assert!(
        acks.len() > 600,
        "one ack per poll for 12 minutes: {}",
        acks.len()
    );
    let backup: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ran.file("backup.json")).unwrap()).unwrap();
    assert_eq!(
        backup["firstQualified"]["name"],
        "backstop-namespace-loss-20250101000500"
    );
    assert_eq!(
        backup["restored"]["name"],
        "backstop-namespace-loss-20250101000500"
    );
    assert_eq!(
        result.versions.velero, "v1.16.2",
        "the server's, as installed"
    );
}

#[tokio::test(start_paused = true)]
async fn the_ground_truth_is_on_disk_while_the_run_is_still_going() {
    let world = FakeWorld::default();
    let _ran = go(&world, &config("namespace-loss", false)).await;
    let lines = world
        .ground_truth_lines_at_backup
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        lines >= 1,
        "no acknowledgement was on disk when the backup wait began"
    );
}

#[tokio::test(start_paused = true)]
async fn pvc_corruption_stops_the_writer_corrupts_at_the_seeded_offset_then_deletes_the_namespace()
{
    let world = FakeWorld::default();
    let config = config("pvc-corruption", false);
    let ran = go(&world, &config).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(result.verdict, Verdict::Pass, "{:#?}", result.checks);
    let calls = world.calls();
    let corrupt = calls
        .iter()
        .position(|c| c.starts_with("corrupt_ledger"))
        .unwrap();
    assert_eq!(calls[corrupt - 1], "stop_writer");
    assert_eq!(
        &calls[corrupt + 1..corrupt + 4],
        [
            "delete_namespace",
            "wait_namespace_gone",
            "create_restore(backstop-namespace-loss-20250101000500)"
        ]
    );
    let acked = result.ledger.acknowledged_before_fault.unwrap();
    let offset = corruption::offset(42, acked, 4096).unwrap();
    assert_eq!(calls[corrupt], format!("corrupt_ledger({offset}, 4096)"));
}

#[tokio::test(start_paused = true)]
async fn a_corruption_that_leaves_the_chain_intact_stops_the_run_with_exit_3() {
    let world = FakeWorld::default();
    world
        .corruption_breaks_chain
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let ran = go(&world, &config("pvc-corruption", false)).await;
    let err = ran.outcome.as_ref().unwrap_err();
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    assert!(
        err.to_string().contains("still finds the chain intact"),
        "{err}"
    );
    assert!(!world.called("create_restore"));
    assert!(world.called("collect_diagnostics") && world.called("teardown"));
    assert_eq!(ran.stored().verdict, Verdict::Fail);
}

#[tokio::test(start_paused = true)]
async fn a_partially_failed_restore_is_a_failed_verdict_with_diagnostics_and_teardown() {
    let world = FakeWorld::default();
    *world.restore_phase.lock().unwrap() = RestorePhase::PartiallyFailed;
    let ran = go(&world, &config("namespace-loss", false)).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    let restore_check = result
        .checks
        .iter()
        .find(|c| c.name.to_string() == "restore-completed")
        .unwrap();
    assert!(!restore_check.passed);
    assert!(world.called("collect_diagnostics"));
    assert!(exists(&ran.file("diagnostics/pods.txt")));
    assert_eq!(world.calls().last().unwrap(), "teardown");
}

#[tokio::test(start_paused = true)]
async fn a_failed_restore_waits_for_no_pods_and_fails_the_verdict() {
    let world = FakeWorld::default();
    *world.restore_phase.lock().unwrap() = RestorePhase::Failed;
    let ran = go(&world, &config("namespace-loss", false)).await;
    let result = ran.outcome.as_ref().unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(!world.called("wait_pods_ready"));
    assert!(!result.pods.ready);
    assert!(
        result.pods.detail.contains("not reached"),
        "{}",
        result.pods.detail
    );
}

#[tokio::test(start_paused = true)]
async fn a_wait_that_hangs_times_out_with_exit_3_naming_what_it_waited_for_and_tears_down() {
    let world = FakeWorld::default().with_trouble("wait_backup", Trouble::Hang);
    let ran = go(&world, &config("namespace-loss", false)).await;
    let err = ran.outcome.as_ref().unwrap_err();
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    let Error::Timeout {
        what, last_seen, ..
    } = err
    else {
        panic!("not a timeout: {err}");
    };
    assert_eq!(what, "a Completed backup that started after steady writes");
    assert!(last_seen.contains("had not returned"), "{last_seen}");
    assert!(world.called("collect_diagnostics") && world.called("teardown"));
    let partial = ran.stored();
    assert_eq!(
        phases(&partial),
        [
            Phase::Provision,
            Phase::Install,
            Phase::Steady,
            Phase::Teardown
        ]
    );
    assert_eq!(partial.verdict, Verdict::Fail);
}

#[tokio::test(start_paused = true)]
async fn no_first_acknowledgement_times_out_naming_the_last_answer_of_get_last() {
    let world = FakeWorld::default();
    world
        .writer_silent
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let ran = go(&world, &config("namespace-loss", false)).await;
    let err = ran.outcome.as_ref().unwrap_err();
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    let text = err.to_string();
    assert!(text.contains("first acknowledgement"), "{text}");
    assert!(text.contains("no endpoints available"), "{text}");
    assert!(!world.called("create_schedule"));
    assert!(world.called("teardown"));
}

#[tokio::test(start_paused = true)]
async fn a_failing_step_stops_the_run_and_still_tears_down() {
    let world = FakeWorld::default().with_trouble("install_velero", Trouble::Fail);
    let ran = go(&world, &config("namespace-loss", false)).await;
    let err = ran.outcome.as_ref().unwrap_err();
    assert!(
        err.to_string().contains("install_velero went wrong"),
        "{err}"
    );
    assert_eq!(
        world.calls(),
        [
            "provision",
            "install_velero",
            "collect_diagnostics",
            "teardown"
        ]
    );
    assert_eq!(phases(&ran.stored()), [Phase::Provision, Phase::Teardown]);
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_tears_down_writes_the_partial_result_and_exits_non_zero() {
    let world = FakeWorld::default().with_trouble("wait_backup", Trouble::Interrupt);
    let ran = go(&world, &config("namespace-loss", false)).await;
    let err = ran.outcome.as_ref().unwrap_err();
    assert!(matches!(err, Error::Interrupted(_)), "{err}");
    assert_ne!(err.exit_code(), 0);
    assert!(
        err.to_string().contains("during the backups phase"),
        "{err}"
    );
    assert_eq!(world.calls().last().unwrap(), "teardown");
    let partial = ran.stored();
    assert_eq!(
        phases(&partial),
        [
            Phase::Provision,
            Phase::Install,
            Phase::Steady,
            Phase::Teardown
        ]
    );
    assert!(exists(&ran.file("ground-truth.jsonl")));
}

#[tokio::test(start_paused = true)]
async fn keep_leaves_the_world_standing_even_after_an_error() {
    let world = FakeWorld::default().with_trouble("wait_restore", Trouble::Fail);
    let ran = go(&world, &config("namespace-loss", true)).await;
    assert!(ran.outcome.is_err());
    assert!(!world.called("teardown"));
    assert!(world.called("collect_diagnostics"));
    assert!(ran.progress.text().contains("--keep"));
    assert!(!phases(&ran.stored()).contains(&Phase::Teardown));
}

#[tokio::test(start_paused = true)]
async fn a_failing_teardown_is_the_run_s_error_after_a_passing_sequence() {
    let world = FakeWorld::default().with_trouble("teardown", Trouble::Fail);
    let ran = go(&world, &config("namespace-loss", false)).await;
    let err = ran.outcome.as_ref().unwrap_err();
    assert!(err.to_string().contains("teardown went wrong"), "{err}");
    assert_eq!(ran.stored().verdict, Verdict::Pass);
}

#[tokio::test(start_paused = true)]
async fn progress_off_a_terminal_is_plain_timestamped_lines_naming_each_phase() {
    let world = FakeWorld::default();
    let ran = go(&world, &config("namespace-loss", false)).await;
    let text = ran.progress.text();
    assert!(!text.contains('\r') && !text.contains('\x1b'), "{text}");
    for line in text.lines() {
        let (stamp, rest) = line.split_once(' ').unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "not timestamped: {line}"
        );
        assert!(rest.starts_with('['), "{line}");
    }
    for phase in phases_without_reprovision() {
        assert!(
            text.contains(&format!("[{} ", phase.name())),
            "no line for {phase}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_restore_uses_the_newest_usable_backup_at_the_fault_and_both_are_recorded() {
    let world = FakeWorld::default();
    *world.newer_backup.lock().unwrap() = Some(backstop_chaos::run::world::BackupTaken {
        name: "backstop-namespace-loss-20250101001000".into(),
        started: chrono::Utc::now() + chrono::Duration::minutes(5),
        completed: chrono::Utc::now() + chrono::Duration::minutes(6),
    });
    let ran = go(&world, &config("namespace-loss", false)).await;
    assert!(ran.outcome.is_ok());
    assert!(
        world
            .calls()
            .contains(&"create_restore(backstop-namespace-loss-20250101001000)".to_owned()),
        "{:?}",
        world.calls()
    );
    let backup: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ran.file("backup.json")).unwrap()).unwrap();
    assert_eq!(
        backup["firstQualified"]["name"],
        "backstop-namespace-loss-20250101000500"
    );
    assert_eq!(
        backup["restored"]["name"],
        "backstop-namespace-loss-20250101001000"
    );
}

#[tokio::test(start_paused = true)]
async fn progress_on_a_terminal_keeps_each_event_as_a_line_and_redraws_one_status_line() {
    let world = FakeWorld::default();
    let dir = tempfile::tempdir().unwrap();
    let run_dir = RunDir::create(dir.path()).unwrap();
    let lines = Lines::default();
    let progress = Progress::new(Box::new(lines.clone()), true);
    let config = config("namespace-loss", false);
    run(
        &world,
        &config,
        &run_dir,
        &progress,
        world.interrupt.notified(),
    )
    .await
    .unwrap();
    let text = lines.text();
    // Events end in a newline; the status line is redrawn in place (\r, clear line) and
    // ticks while a wait lasts (the 12 minutes before the fault).
    assert!(
        text.contains("\r\x1b[2K[fault "),
        "no status line redrawn for the fault"
    );
    let redraws = text.matches("\r\x1b[2K[fault ").count();
    assert!(
        redraws > 600,
        "the status line ticks every second: {redraws}"
    );
    assert!(
        text.contains("] verdict pass"),
        "{}",
        &text[text.len().saturating_sub(300)..]
    );
    assert!(
        text.ends_with("\r\x1b[2K"),
        "the status line is cleared at the end"
    );
}
