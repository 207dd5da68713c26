//! A fake outside world for the run engine: it records every call in order, answers
//! `GET /last` with a writer that acknowledges one record per poll until its namespace is
//! deleted, restores the ledger as it was at the backup, and can be told to fail, hang or
//! press Ctrl-C at a named call.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use backstop_chaos::error::Error;
use backstop_chaos::ledger::verify::{self, Verification};
use backstop_chaos::ledger::{Record, encode_all};
use backstop_chaos::outcome::{PodsOutcome, RestoreOutcome, RestorePhase};
use backstop_chaos::run::world::{BackupTaken, LastAck, World, WorldVersions};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

/// What the fake does at a named call instead of succeeding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// Fails with an infrastructure error.
    Fail,
    /// Never returns (the engine's own bound must end it).
    Hang,
    /// Resolves the interrupt (Ctrl-C), then never returns.
    Interrupt,
}

#[derive(Debug)]
pub struct FakeWorld {
    calls: Mutex<Vec<String>>,
    seq: AtomicU64,
    /// The writer's timestamp of each record (seq 1 first): the wall clock when written.
    stamps: Mutex<Vec<u64>>,
    namespace_present: AtomicBool,
    writer_running: AtomicBool,
    backed_up: AtomicU64,
    taken: Mutex<Option<BackupTaken>>,
    /// A newer usable backup than the first, offered at the fault.
    pub newer_backup: Mutex<Option<BackupTaken>>,
    trouble: Mutex<Vec<(&'static str, Trouble)>>,
    pub interrupt: Notify,
    pub restore_phase: Mutex<RestorePhase>,
    /// Whether the corruption Job's verifier finds the chain broken.
    pub corruption_breaks_chain: AtomicBool,
    /// `GET /last` never answers with a record.
    pub writer_silent: AtomicBool,
    /// Lines of the ground-truth file when `wait_backup` was called.
    pub ground_truth_lines_at_backup: AtomicU64,
    pub ground_truth_path: Mutex<Option<std::path::PathBuf>>,
}

impl Default for FakeWorld {
    fn default() -> Self {
        Self {
            calls: Mutex::new(Vec::new()),
            seq: AtomicU64::new(0),
            stamps: Mutex::new(Vec::new()),
            namespace_present: AtomicBool::new(false),
            writer_running: AtomicBool::new(false),
            backed_up: AtomicU64::new(0),
            taken: Mutex::new(None),
            newer_backup: Mutex::new(None),
            trouble: Mutex::new(Vec::new()),
            interrupt: Notify::new(),
            restore_phase: Mutex::new(RestorePhase::Completed),
            corruption_breaks_chain: AtomicBool::new(true),
            writer_silent: AtomicBool::new(false),
            ground_truth_lines_at_backup: AtomicU64::new(0),
            ground_truth_path: Mutex::new(None),
        }
    }
}

impl FakeWorld {
    pub fn with_trouble(self, call: &'static str, trouble: Trouble) -> Self {
        self.trouble.lock().unwrap().push((call, trouble));
        self
    }

    /// Every call, in order (the poller's `ledger_last` left out).
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    pub fn called(&self, name: &str) -> bool {
        self.calls()
            .iter()
            .any(|c| c.split('(').next() == Some(name))
    }

    /// The ledger file of the first `count` records the writer wrote.
    fn ledger(&self, count: u64) -> Vec<u8> {
        let stamps = self.stamps.lock().unwrap();
        let mut records: Vec<Record> = Vec::new();
        for &nanos in stamps.iter().take(usize::try_from(count).unwrap()) {
            let record = Record::next(records.last(), nanos);
            records.push(record);
        }
        encode_all(&records)
    }

    /// The seq of the newest record in the backup.
    pub fn backed_up(&self) -> u64 {
        self.backed_up.load(Ordering::SeqCst)
    }

    async fn enter(&self, call: String) -> Result<(), Error> {
        let name = call.split('(').next().unwrap_or_default().to_owned();
        self.calls.lock().unwrap().push(call);
        let trouble = self
            .trouble
            .lock()
            .unwrap()
            .iter()
            .find(|(c, _)| *c == name)
            .map(|(_, t)| *t);
        match trouble {
            None => Ok(()),
            Some(Trouble::Fail) => Err(Error::Command {
                command: format!("fake {name}"),
                outcome: "exited 1".into(),
                stderr: format!("{name} went wrong"),
            }),
            Some(Trouble::Hang) => std::future::pending().await,
            Some(Trouble::Interrupt) => {
                self.interrupt.notify_one();
                std::future::pending().await
            }
        }
    }
}

impl World for FakeWorld {
    async fn provision(&self, _timeout: Duration) -> Result<WorldVersions, Error> {
        self.enter("provision".into()).await?;
        Ok(WorldVersions {
            kubernetes: "v1.33.1".into(),
            kind: "kind v0.29.0".into(),
        })
    }

    async fn install_velero(&self, _timeout: Duration) -> Result<String, Error> {
        self.enter("install_velero".into()).await?;
        Ok("v1.16.2".into())
    }

    async fn deploy_workload(&self, _timeout: Duration) -> Result<(), Error> {
        self.enter("deploy_workload".into()).await?;
        self.namespace_present.store(true, Ordering::SeqCst);
        self.writer_running.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn ledger_last(&self) -> Result<LastAck, Error> {
        let up = self.namespace_present.load(Ordering::SeqCst)
            && self.writer_running.load(Ordering::SeqCst)
            && !self.writer_silent.load(Ordering::SeqCst);
        if !up {
            return Err(Error::Command {
                command: "GET /last".into(),
                outcome: "answered 503".into(),
                stderr: "no endpoints available for service \"ledger\"".into(),
            });
        }
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let mut stamps = self.stamps.lock().unwrap();
        let index = usize::try_from(seq - 1).unwrap();
        let now = u64::try_from(Utc::now().timestamp_nanos_opt().unwrap()).unwrap();
        stamps.truncate(index);
        stamps.push(now);
        Ok(LastAck {
            seq,
            unix_nanos: now,
        })
    }

    async fn create_schedule(&self) -> Result<(), Error> {
        self.enter("create_schedule".into()).await
    }

    async fn wait_backup(
        &self,
        after: DateTime<Utc>,
        _timeout: Duration,
    ) -> Result<BackupTaken, Error> {
        if let Some(path) = self.ground_truth_path.lock().unwrap().clone() {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            self.ground_truth_lines_at_backup
                .store(text.lines().count() as u64, Ordering::SeqCst);
        }
        self.enter("wait_backup".into()).await?;
        // A backup that starts a minute after steady writes and takes 30 s.
        tokio::time::sleep(Duration::from_secs(60)).await;
        let started = Utc::now();
        self.backed_up
            .store(self.seq.load(Ordering::SeqCst), Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(30)).await;
        let taken = BackupTaken {
            name: "backstop-namespace-loss-20250101000500".into(),
            started: started.max(after),
            completed: Utc::now(),
        };
        *self.taken.lock().unwrap() = Some(taken.clone());
        Ok(taken)
    }

    async fn choose_backup(&self, after: DateTime<Utc>) -> Result<BackupTaken, Error> {
        self.enter("choose_backup".into()).await?;
        // The Schedule's newest usable backup at the fault: the one taken in wait_backup.
        let first = self.taken.lock().unwrap().clone().unwrap();
        let chosen = self.newer_backup.lock().unwrap().clone().unwrap_or(first);
        assert!(chosen.started >= after);
        Ok(chosen)
    }

    async fn delete_namespace(&self) -> Result<(), Error> {
        self.enter("delete_namespace".into()).await?;
        self.namespace_present.store(false, Ordering::SeqCst);
        Ok(())
    }

    async fn wait_namespace_gone(&self, _timeout: Duration) -> Result<(), Error> {
        self.enter("wait_namespace_gone".into()).await
    }

    async fn stop_writer(&self, _timeout: Duration) -> Result<(), Error> {
        self.enter("stop_writer".into()).await?;
        self.writer_running.store(false, Ordering::SeqCst);
        Ok(())
    }

    async fn corrupt_ledger(
        &self,
        offset: u64,
        bytes: u64,
        _timeout: Duration,
    ) -> Result<Verification, Error> {
        self.enter(format!("corrupt_ledger({offset}, {bytes})"))
            .await?;
        let mut file = self.ledger(self.seq.load(Ordering::SeqCst));
        if self.corruption_breaks_chain.load(Ordering::SeqCst) {
            let (at, n) = (offset as usize, bytes as usize);
            file[at..at + n].fill(0);
        }
        Ok(verify::verify(&file))
    }

    async fn create_restore(&self, backup: &str) -> Result<String, Error> {
        self.enter(format!("create_restore({backup})")).await?;
        Ok("backstop-namespace-loss-restore".into())
    }

    async fn wait_restore(
        &self,
        name: &str,
        backup: &str,
        _timeout: Duration,
    ) -> Result<RestoreOutcome, Error> {
        self.enter(format!("wait_restore({name})")).await?;
        tokio::time::sleep(Duration::from_secs(45)).await;
        let phase = *self.restore_phase.lock().unwrap();
        let partly = phase == RestorePhase::PartiallyFailed;
        self.namespace_present.store(true, Ordering::SeqCst);
        self.writer_running.store(true, Ordering::SeqCst);
        self.seq.store(self.backed_up(), Ordering::SeqCst);
        Ok(RestoreOutcome {
            name: name.to_owned(),
            backup: backup.to_owned(),
            phase,
            warnings: Vec::new(),
            errors: if partly {
                vec!["error 1 of 1: see `velero restore describe --details`".into()]
            } else {
                Vec::new()
            },
        })
    }

    async fn wait_pods_ready(&self, _timeout: Duration) -> Result<PodsOutcome, Error> {
        self.enter("wait_pods_ready".into()).await?;
        Ok(PodsOutcome {
            ready: true,
            detail: "1/1 pods Ready in backstop-chaos".into(),
        })
    }

    async fn read_restored_ledger(&self, _timeout: Duration) -> Result<Vec<u8>, Error> {
        self.enter("read_restored_ledger".into()).await?;
        Ok(self.ledger(self.backed_up()))
    }

    async fn collect_diagnostics(&self, dir: &Path, _timeout: Duration) -> Result<(), Error> {
        self.enter("collect_diagnostics".into()).await?;
        std::fs::write(dir.join("pods.txt"), "fake pods\n").unwrap();
        Ok(())
    }

    async fn teardown(&self, _timeout: Duration) -> Result<(), Error> {
        self.enter("teardown".into()).await
    }
}
