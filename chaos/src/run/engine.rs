//! The sequencer of a live run: the phases in order over a [`World`], every call bounded by
//! a timeout, the ground truth polled alongside, and whatever happens (a verdict, an error,
//! an interrupt) diagnostics on failure, teardown unless `--keep`, and `result.json` with
//! its reports written, partial when the run stopped early.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::{RunClock, Stamp};
use crate::error::Error;
use crate::fault::report::FaultReport;
use crate::ground_truth::Recorder;
use crate::ledger::verify::{self, Verification};
use crate::outcome::{PodsOutcome, RestoreOutcome, RestorePhase, TargetsMs};
use crate::result::{Observed, RunResult, ScenarioInfo, Versions};
use crate::scenario::{FaultKind, Scenario};
use crate::timeline::{Mark, Phase, Timeline};
use crate::verdict::Verdict;

use self::faults::Recovery;
use super::progress::Progress;
use super::rundir::RunDir;
use super::truth::{self, Truth};
use super::world::{BackupTaken, World, WorldVersions};

/// How long past its own timeout a world call may take before the engine gives up on it
/// (a call that hangs instead of timing out).
const GRACE: Duration = Duration::from_secs(30);

/// The longest each phase's waits may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub provision: Duration,
    pub install: Duration,
    pub workload: Duration,
    pub first_ack: Duration,
    pub backup: Duration,
    pub fault: Duration,
    pub restore: Duration,
    pub pods: Duration,
    pub data: Duration,
    pub diagnostics: Duration,
    pub teardown: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(m * 60);
        Self {
            // A kind cluster, and the ledger image built from chaos/Dockerfile (a release
            // build of the harness, on a cold cache).
            provision: min(30),
            install: min(10),
            workload: min(5),
            first_ack: min(2),
            backup: min(30),
            fault: min(5),
            restore: min(30),
            pods: min(10),
            data: min(2),
            diagnostics: min(2),
            teardown: min(10),
        }
    }
}

/// What the engine needs besides the world.
#[derive(Debug, Clone)]
pub struct Config {
    pub scenario: Scenario,
    pub scenario_file: PathBuf,
    pub seed: u64,
    pub keep: bool,
    pub timeouts: Timeouts,
    /// Time between two `GET /last` polls.
    pub poll_interval: Duration,
}

/// What the run has established so far (kept outside the sequence, so an interrupted run
/// still reports it).
#[derive(Debug)]
struct State {
    timeline: Timeline,
    versions: WorldVersions,
    velero: Option<String>,
    first_backup: Option<BackupTaken>,
    restored_backup: Option<BackupTaken>,
    restore: Option<RestoreOutcome>,
    pods: Option<PodsOutcome>,
    restored: Option<Verification>,
    phase: Option<Phase>,
    /// What a cluster-level fault did and found.
    fault: FaultReport,
}

impl State {
    /// `backup.json`: the first backup that qualified, and the one the restore used.
    fn backups(&self) -> serde_json::Value {
        serde_json::json!({
            "firstQualified": self.first_backup,
            "restored": self.restored_backup,
        })
    }
}

struct Run<'a, W> {
    world: &'a W,
    config: &'a Config,
    dir: &'a RunDir,
    progress: &'a Progress,
    clock: RunClock,
    truth: Truth,
    state: Mutex<State>,
}

/// Runs the scenario against `world`, leaving its files in `dir`. `interrupt` resolving
/// (Ctrl-C) stops the run. `Ok` carries a run that reached its verdict (pass or fail);
/// an error (exit 3) still leaves diagnostics, a torn-down world and a partial result.
pub async fn run<W: World>(
    world: &W,
    config: &Config,
    dir: &RunDir,
    progress: &Progress,
    interrupt: impl Future<Output = ()>,
) -> Result<RunResult, Error> {
    let clock = RunClock::start();
    let started = clock.now();
    let run = Run {
        world,
        config,
        dir,
        progress,
        clock,
        truth: Truth::new(Recorder::create(&dir.ground_truth(), clock)?),
        state: Mutex::new(State {
            timeline: Timeline {
                started,
                marks: Vec::new(),
            },
            versions: WorldVersions::default(),
            velero: None,
            first_backup: None,
            restored_backup: None,
            restore: None,
            pods: None,
            restored: None,
            phase: None,
            fault: FaultReport::default(),
        }),
    };
    let outcome = tokio::select! {
        outcome = run.sequence() => outcome,
        error = truth::poll(world, &run.truth, config.poll_interval) => Err(error),
        never = progress.tick_every_second() => match never {},
        () = interrupt => Err(Error::Interrupted(format!(
            "Ctrl-C during the {} phase; tearing down{}",
            run.current_phase(),
            if config.keep { " skipped (--keep)" } else { "" }
        ))),
    };
    if let Err(e) = &outcome {
        world.stop_commands();
        progress.event(&format!("stopped: {e}"));
    }
    if outcome.is_err() || run.result().verdict == Verdict::Fail {
        run.collect_diagnostics().await;
    }
    let teardown = if config.keep {
        progress.event(&format!(
            "--keep: the cluster and the store stay (files in {})",
            dir.root().display()
        ));
        Ok(())
    } else {
        run.teardown().await
    };
    let result = run.result();
    dir.write_result(&result)?;
    progress.finish(&format!(
        "verdict {} · {}",
        result.verdict,
        dir.result().display()
    ));
    outcome.and(teardown).map(|()| result)
}

impl<W: World> Run<'_, W> {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn current_phase(&self) -> &'static str {
        self.state().phase.map_or("start", Phase::name)
    }

    fn enter(&self, phase: Phase, event: &str) {
        self.state().phase = Some(phase);
        self.progress.phase(phase, event);
    }

    /// Marks `phase` complete now.
    fn mark(&self, phase: Phase) -> Stamp {
        let at = self.clock.now();
        self.state().timeline.marks.push(Mark { phase, at });
        at
    }

    /// `call`, given its own `timeout` plus [`GRACE`]; a call that does not return in that
    /// time fails the run naming `what`.
    async fn bounded<T>(
        &self,
        what: &str,
        timeout: Duration,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let limit = timeout + GRACE;
        tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
            Err(Error::Timeout {
                what: what.to_owned(),
                after: limit,
                last_seen: format!(
                    "the call had not returned {GRACE:?} after its own {timeout:?} timeout"
                ),
            })
        })
    }

    async fn sequence(&self) -> Result<(), Error> {
        let (world, t) = (self.world, &self.config.timeouts);
        let scenario = &self.config.scenario;

        self.enter(
            Phase::Provision,
            "creating the cluster and the backup store",
        );
        let versions = self
            .bounded(
                "the cluster and the backup store",
                t.provision,
                world.provision(t.provision),
            )
            .await?;
        self.state().versions = versions;
        self.mark(Phase::Provision);

        self.enter(
            Phase::Install,
            "installing Velero; waiting for its BackupStorageLocation to be Available",
        );
        let velero = self
            .bounded(
                "Velero and an Available BackupStorageLocation",
                t.install,
                world.install_velero(t.install),
            )
            .await?;
        self.progress.event(&format!(
            "Velero {velero}: the BackupStorageLocation is Available"
        ));
        self.state().velero = Some(velero);
        self.mark(Phase::Install);

        self.enter(Phase::Steady, "deploying the workload");
        self.bounded(
            "the workload to be deployed and Ready",
            t.workload,
            world.deploy_workload(t.workload),
        )
        .await?;
        self.truth.activate();
        self.progress
            .event("waiting for the writer's first acknowledgement");
        self.truth.wait_first(t.first_ack).await?;
        let steady = self.mark(Phase::Steady);

        self.enter(
            Phase::Backups,
            "creating the Schedule; waiting for a Completed backup that started after steady writes",
        );
        self.bounded("the Velero Schedule", t.install, world.create_schedule())
            .await?;
        let backup = self
            .bounded(
                "a Completed backup that started after steady writes",
                t.backup,
                world.wait_backup(steady.wall, t.backup),
            )
            .await?;
        self.progress.event(&format!(
            "backup {} started {} and completed {}",
            backup.name, backup.started, backup.completed
        ));
        {
            let mut state = self.state();
            state.first_backup = Some(backup);
            self.dir.write_json(&self.dir.backup(), &state.backups())?;
        }
        self.mark(Phase::Backups);

        let fault = &scenario.fault;
        self.enter(
            Phase::Fault,
            &format!(
                "{} strikes {} after steady writes",
                fault.kind,
                policy::duration::format_elapsed(fault.after.0)
            ),
        );
        let since_steady = Duration::from_nanos(
            self.clock
                .now()
                .mono_nanos
                .saturating_sub(steady.mono_nanos),
        );
        tokio::time::sleep(fault.after.0.saturating_sub(since_steady)).await;
        let chosen = self
            .bounded(
                "the newest usable backup",
                t.install,
                world.choose_backup(steady.wall),
            )
            .await?;
        self.progress.event(&format!(
            "restoring from the newest usable backup: {} (started {})",
            chosen.name, chosen.started
        ));
        {
            let mut state = self.state();
            state.restored_backup = Some(chosen.clone());
            self.dir.write_json(&self.dir.backup(), &state.backups())?;
        }
        let recovery = self.strike(fault.kind, &chosen, steady).await?;
        let Some(backup_name) = recovery.backup.clone() else {
            self.progress
                .event("no backup is left to restore from: the run ends without a restore");
            return Ok(());
        };

        self.enter(
            Phase::RestoreStart,
            &format!("restoring from backup {backup_name}"),
        );
        let create = async {
            if recovery.every_namespace {
                world.create_restore_of_everything(&backup_name).await
            } else {
                world.create_restore(&backup_name).await
            }
        };
        let restore = self
            .bounded("the Restore to be created", t.restore, create)
            .await?;
        self.mark(Phase::RestoreStart);

        self.enter(
            Phase::RestoreComplete,
            &format!("waiting for Restore {restore} to finish"),
        );
        let outcome = self
            .bounded(
                &format!("Restore {restore} to finish"),
                t.restore,
                world.wait_restore(&restore, &backup_name, t.restore),
            )
            .await?;
        let phase = outcome.phase;
        self.progress.event(&format!(
            "Restore {restore}: {} ({} warnings, {} errors)",
            phase.name(),
            outcome.warnings.len(),
            outcome.errors.len()
        ));
        self.state().restore = Some(outcome.clone());
        self.mark(Phase::RestoreComplete);
        let goes_on = self.restore_judged(&recovery, &outcome);
        if !goes_on || matches!(phase, RestorePhase::Failed | RestorePhase::FailedValidation) {
            // Nothing was restored to wait for: the verdict is fail on the restore alone.
            return Ok(());
        }

        self.enter(
            Phase::PodsReady,
            "waiting for the restored pods to be Ready",
        );
        let pods = match self
            .bounded(
                "the restored pods to be Ready",
                t.pods,
                world.wait_pods_ready(t.pods),
            )
            .await
        {
            Ok(pods) => pods,
            Err(e) => return self.pods_judged(&recovery, e),
        };
        self.state().pods = Some(pods);
        self.mark(Phase::PodsReady);

        self.enter(
            Phase::DataVerified,
            "reading the restored ledger as found at start",
        );
        let bytes = self
            .bounded(
                "the restored ledger (GET /found-at-start)",
                t.data,
                world.read_restored_ledger(t.data),
            )
            .await?;
        let verification = verify::verify(&bytes);
        self.progress.event(&format!(
            "restored ledger: {} records, newest chain-valid seq {}",
            verification.records,
            verification
                .newest_valid_seq
                .map_or_else(|| "none".to_owned(), |s| s.to_string())
        ));
        self.state().restored = Some(verification.clone());
        self.data_judged(&recovery, &outcome, &verification).await?;
        self.mark(Phase::DataVerified);
        Ok(())
    }

    /// Restores `backup` instead of the one chosen at the fault (`backup.json` says so).
    fn restore_instead(&self, backup: BackupTaken) -> Result<(), Error> {
        let mut state = self.state();
        state.restored_backup = Some(backup);
        self.dir.write_json(&self.dir.backup(), &state.backups())
    }

    async fn collect_diagnostics(&self) {
        let t = self.config.timeouts.diagnostics;
        let dir = self.dir.diagnostics();
        self.progress
            .event(&format!("collecting diagnostics into {}", dir.display()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            self.progress
                .event(&format!("cannot create {}: {e}", dir.display()));
            return;
        }
        let collected = self
            .bounded("diagnostics", t, self.world.collect_diagnostics(&dir, t))
            .await;
        if let Err(e) = collected {
            self.progress.event(&format!("diagnostics incomplete: {e}"));
        }
    }

    async fn teardown(&self) -> Result<(), Error> {
        let t = self.config.timeouts.teardown;
        self.enter(
            Phase::Teardown,
            "removing the cluster, the store and the run's namespaces",
        );
        self.bounded("teardown", t, self.world.teardown(t)).await?;
        self.mark(Phase::Teardown);
        Ok(())
    }

    /// The result as far as the run got.
    fn result(&self) -> RunResult {
        let state = self.state();
        let acks = self.truth.acks();
        let scenario = &self.config.scenario;
        let reached = |phase: Phase| {
            format!(
                "not reached: the run stopped before the {phase} phase{}",
                state
                    .phase
                    .map_or(String::new(), |p| format!(" (during {p})"))
            )
        };
        let pods = state.pods.clone().unwrap_or_else(|| PodsOutcome {
            ready: false,
            detail: reached(Phase::PodsReady),
        });
        let mut result = RunResult::assemble(Observed {
            scenario: ScenarioInfo::of(scenario, &self.config.scenario_file),
            versions: Versions {
                kubernetes: if state.versions.kubernetes.is_empty() {
                    scenario.cluster.kubernetes.clone()
                } else {
                    state.versions.kubernetes.clone()
                },
                kind: state.versions.kind.clone(),
                velero: state
                    .velero
                    .clone()
                    .unwrap_or_else(|| scenario.velero.version.clone()),
                backstop: env!("CARGO_PKG_VERSION").to_owned(),
            },
            seed: self.config.seed,
            timeline: &state.timeline,
            acks: &acks,
            restored: state.restored.as_ref(),
            restore: state.restore.clone(),
            pods,
            targets: TargetsMs::of(scenario),
        });
        let cluster_level = matches!(
            scenario.fault.kind,
            FaultKind::NodeLoss | FaultKind::ClusterLoss | FaultKind::StorageLoss
        );
        if cluster_level {
            result.fault = Some(state.fault.clone());
        }
        result
    }
}

mod cluster_faults;
pub mod faults;
