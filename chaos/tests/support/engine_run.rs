//! Running the engine over the fake world (`fake_world.rs`) for the engine's tests: the
//! shipped scenarios with default timeouts, progress captured as a pipe gets it, the run
//! directory in a temporary directory.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backstop_chaos::error::Error;
use backstop_chaos::result::RunResult;
use backstop_chaos::run::progress::Progress;
use backstop_chaos::run::rundir::RunDir;
use backstop_chaos::run::{Config, Timeouts, run};
use backstop_chaos::timeline::Phase;

use crate::fake_world::FakeWorld;

pub fn scenario_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/scenarios")
        .join(format!("{name}.yaml"))
}

pub fn config(name: &str, keep: bool) -> Config {
    let path = scenario_path(name);
    Config {
        scenario: backstop_chaos::scenario::load(&path).unwrap(),
        scenario_file: path,
        seed: 42,
        keep,
        timeouts: Timeouts::default(),
        poll_interval: Duration::from_secs(1),
    }
}

/// Progress lines written as a pipe would get them (not a terminal).
#[derive(Clone, Default)]
pub struct Lines(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

pub struct Ran {
    pub outcome: Result<RunResult, Error>,
    pub dir: tempfile::TempDir,
    pub progress: Lines,
}

impl Ran {
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn stored(&self) -> RunResult {
        backstop_chaos::result::load(&self.file("result.json")).unwrap()
    }
}

pub async fn go(world: &FakeWorld, config: &Config) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = RunDir::create(dir.path()).unwrap();
    *world.ground_truth_path.lock().unwrap() = Some(run_dir.ground_truth());
    let lines = Lines::default();
    let progress = Progress::new(Box::new(lines.clone()), false);
    let outcome = run(
        world,
        config,
        &run_dir,
        &progress,
        world.interrupt.notified(),
    )
    .await;
    Ran {
        outcome,
        dir,
        progress: lines,
    }
}

pub fn phases(result: &RunResult) -> Vec<Phase> {
    result.phases.iter().map(|p| p.phase).collect()
}

pub fn exists(path: &Path) -> bool {
    path.metadata().is_ok_and(|m| m.len() > 0)
}

/// Every phase of a run whose fault leaves the cluster standing (all but `reprovision`, which
/// only a cluster-loss run has).
pub fn phases_without_reprovision() -> Vec<Phase> {
    Phase::ALL
        .into_iter()
        .filter(|p| *p != Phase::Reprovision)
        .collect()
}
