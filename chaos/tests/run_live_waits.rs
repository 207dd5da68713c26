//! A live run's waits against the fake outside world of `support/fake_cluster.rs` (a mocked
//! API server answering in captured shapes, fake kind/docker/velero/kubectl recording their
//! argv, moto standing in for MinIO), in process with timeouts of seconds: a wait that runs
//! out fails the run with exit 3, naming what it waited for and the last state it saw, and
//! the run still leaves diagnostics, a partial `result.json` and nothing standing.
#![allow(clippy::unwrap_used)]

#[path = "support/apiserver.rs"]
mod apiserver;
#[path = "support/fake_cluster.rs"]
mod fake_cluster;
#[path = "support/fake_tools.rs"]
mod fake_tools;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/velero_store.rs"]
mod velero_store;

use std::path::PathBuf;
use std::time::Duration;

use backstop_chaos::error::{EXIT_INFRASTRUCTURE, Error};
use backstop_chaos::run::progress::Progress;
use backstop_chaos::run::real::{Cluster, LedgerImage, RealWorld, Setup};
use backstop_chaos::run::rundir::RunDir;
use backstop_chaos::run::{Config, Timeouts, run};
use backstop_chaos::timeline::Phase;
use backstop_chaos::verdict::Verdict;
use fake_cluster::FakeCluster;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs namespace-loss (striking 2 s after steady writes) on the fake cluster `tools` lead
/// to (`kind create cluster` writes its kubeconfig), with every wait
/// bounded by 20 s and the wait for a backup by `backup`.
async fn run_namespace_loss(
    tools: &fake_tools::FakeTools,
    out: &std::path::Path,
    backup: Duration,
) -> Result<backstop_chaos::result::RunResult, Error> {
    let dir = RunDir::create(out).unwrap();
    let file = repo().join("fixtures/chaos/run/scenarios/namespace-loss-after-2s.yaml");
    let scenario = backstop_chaos::scenario::load(&file).unwrap();
    let run_id = backstop_chaos::plan::run_id(&scenario, 42);
    let path = repo().join("fixtures/workloads/ledger.yaml");
    let workloads = backstop_chaos::workload::prepare(
        &[backstop_chaos::plan::Workload {
            name: "ledger".into(),
            manifest: std::fs::read_to_string(&path).unwrap(),
            path,
        }],
        fake_cluster::NS,
        "backstop-chaos:dev",
        &run_id,
    )
    .unwrap();
    let world = RealWorld::new(Setup {
        scenario: scenario.clone(),
        seed: 42,
        dir: dir.clone(),
        cluster: Cluster::Kind { name: run_id },
        image: LedgerImage::Given("backstop-chaos:dev".into()),
        workloads,
        path: Some(tools.path()),
    })
    .unwrap();
    let short = Duration::from_secs(20);
    let config = Config {
        scenario,
        scenario_file: file,
        seed: 42,
        keep: false,
        timeouts: Timeouts {
            provision: short,
            install: short,
            workload: short,
            first_ack: short,
            backup,
            fault: short,
            restore: short,
            pods: short,
            data: short,
            diagnostics: short,
            teardown: short,
        },
        poll_interval: Duration::from_millis(200),
    };
    let progress = Progress::new(Box::new(std::io::sink()), false);
    run(&world, &config, &dir, &progress, std::future::pending()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_backup_without_the_ledger_s_volume_never_counts_and_the_wait_fails_with_exit_3()
 {
    let moto = moto::start_as_minio().await;
    let cluster = FakeCluster::start().await;
    cluster.state.lock().unwrap().volume_skipped = true;
    let tools = cluster.tools(moto.port, "v1.16.2");
    let out = tempfile::tempdir().unwrap();
    let error = run_namespace_loss(&tools, out.path(), Duration::from_secs(3))
        .await
        .unwrap_err();
    assert_eq!(error.exit_code(), EXIT_INFRASTRUCTURE);
    let Error::Timeout {
        what, last_seen, ..
    } = &error
    else {
        panic!("not a timeout: {error}");
    };
    assert!(
        what.starts_with(
            "a Backup of Schedule velero/backstop-namespace-loss-0000002a that started after \
             steady writes ("
        ) && what.ends_with("reached Completed and holds backstop-chaos/ledger-0 volume data"),
        "{what}"
    );
    assert!(
        last_seen.contains(
            "backstop-namespace-loss-0000002a-20261203121600: Completed, but no PodVolumeBackup \
             of backstop-chaos/ledger-0 volume data (Velero skipped the volume: a hostPath volume"
        ),
        "{last_seen}"
    );

    let result = backstop_chaos::result::load(&out.path().join("result.json")).unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    let phases: Vec<Phase> = result.phases.iter().map(|p| p.phase).collect();
    assert_eq!(
        phases,
        [
            Phase::Provision,
            Phase::Install,
            Phase::Steady,
            Phase::Teardown
        ]
    );
    assert!(
        !cluster
            .server
            .requests()
            .iter()
            .any(|r| r.contains("/restores")),
        "nothing restored from a backup without the data"
    );
    let index = std::fs::read_to_string(out.path().join("diagnostics/index.txt")).unwrap();
    assert!(index.contains("backups.yaml\tok\t"), "{index}");
    let calls = tools.invocations();
    for removal in [
        &["kind", "delete", "cluster"][..],
        &["docker", "rm", "--force", "--volumes"],
    ] {
        assert!(
            calls
                .iter()
                .any(|c| c.len() >= removal.len() && c[..removal.len()] == *removal),
            "{calls:?}"
        );
    }
}
