//! A live run of the real code in process against the fake outside world
//! (`fake_cluster.rs`, `fake_tools.rs`, moto standing in for MinIO), for the end-to-end tests:
//! the scenario `fixtures/chaos/run/scenarios/<name>-after-2s.yaml` on kind, seed 42, with
//! 20 s timeouts.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use backstop_chaos::run::progress::Progress;
use backstop_chaos::run::real::{Cluster, LedgerImage, RealWorld, Setup};
use backstop_chaos::run::rundir::RunDir;
use backstop_chaos::run::{Config, Timeouts, run};

use super::fake_cluster::{self, FakeCluster, State};
use super::fake_tools::FakeTools;
use super::moto::{self, Moto};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn scenario_file(name: &str) -> PathBuf {
    repo().join(format!("fixtures/chaos/run/scenarios/{name}-after-2s.yaml"))
}

pub struct Ran {
    pub result: backstop_chaos::result::RunResult,
    pub out: tempfile::TempDir,
    pub cluster: FakeCluster,
    pub tools: FakeTools,
    pub moto: Moto,
}

/// Runs the scenario `name` through the engine over the real world; panics with the commands
/// and requests seen when the run ends in an error.
pub async fn run_in_process(name: &str) -> Ran {
    run_in_process_with(name, |_| {}).await
}

/// [`run_in_process`], with the fake cluster's state set by `arrange` first.
pub async fn run_in_process_with(name: &str, arrange: impl FnOnce(&mut State)) -> Ran {
    let moto = moto::start_as_minio().await;
    let cluster = FakeCluster::start().await;
    let tools = cluster.tools(moto.port, "v1.16.2");
    arrange(&mut cluster.state.lock().unwrap());
    let out = tempfile::tempdir().unwrap();
    let dir = RunDir::create(out.path()).unwrap();
    let file = scenario_file(name);
    let scenario = backstop_chaos::scenario::load(&file).unwrap();
    let run_id = backstop_chaos::plan::run_id(&scenario, 42);
    let manifest = std::fs::read_to_string(repo().join("fixtures/workloads/ledger.yaml")).unwrap();
    let workloads = backstop_chaos::workload::prepare(
        &[backstop_chaos::plan::Workload {
            name: "ledger".into(),
            path: repo().join("fixtures/workloads/ledger.yaml"),
            manifest,
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
            backup: short,
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
    let result = run(&world, &config, &dir, &progress, std::future::pending())
        .await
        .unwrap_or_else(|e| {
            let log = std::fs::read_to_string(out.path().join("commands.log")).unwrap_or_default();
            panic!(
                "{e}\ncommands.log:\n{log}\nrequests: {:#?}",
                cluster.server.requests()
            )
        });
    Ran {
        result,
        out,
        cluster,
        tools,
        moto,
    }
}

/// The first recorded invocation that starts with `first`.
pub fn invocation<'a>(calls: &'a [Vec<String>], first: &[&str]) -> &'a Vec<String> {
    calls
        .iter()
        .find(|c| c.len() >= first.len() && c[..first.len()] == *first)
        .unwrap_or_else(|| panic!("no `{}` in {calls:?}", first.join(" ")))
}
