//! A fake outside world for the run engine: it records every call in order, answers
//! `GET /last` with a writer that acknowledges one record per poll until its namespace is
//! deleted (or its node or cluster is gone), restores the ledger as it was at the backup the
//! Restore names, and can be told to fail, hang or press Ctrl-C at a named call. For the
//! cluster-level faults it keeps the backups taken (name and newest record), which were
//! deleted from the store, and whether the repository was corrupted.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use backstop_chaos::drill::backup::BackupRef;
use backstop_chaos::error::Error;
use backstop_chaos::fault::backup_deletion::{DeletedBackup, StoreObject};
use backstop_chaos::fault::fallback::{Fallback, Unrestorable};
use backstop_chaos::fault::node::{ForceRemoved, StoppedNode};
use backstop_chaos::fault::repository::{AlteredObject, CorruptedRepository};
use backstop_chaos::ledger::verify::{self, Verification};
use backstop_chaos::ledger::{Record, encode_all};
use backstop_chaos::outcome::{PodsOutcome, RestoreOutcome, RestorePhase};
use backstop_chaos::run::world::{BackupTaken, LastAck, World, WorldVersions};
use backstop_chaos::scenario::FsBackup;
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
    /// Every backup taken: its name, when it started, and the newest record it holds.
    backups: Mutex<Vec<(BackupTaken, u64)>>,
    /// The Schedule takes one more backup just before the fault (the newest at the fault).
    pub backup_at_fault: AtomicBool,
    /// The backup the last Restore named.
    restoring: Mutex<Option<String>>,
    /// How Velero shows the deleted backup (a failed Restore unless told otherwise).
    pub unrestorable: Mutex<Option<Unrestorable>>,
    /// The repository was corrupted, and whether the damage comes back in the restored data.
    repository_corrupted: AtomicBool,
    pub corruption_comes_back: AtomicBool,
    /// The restored pods never get Ready.
    pub pods_never_ready: AtomicBool,
}

/// The node the fake's ledger runs on, and the one a restore puts it on.
pub const LEDGER_NODE: &str = "backstop-node-loss-0000002a-worker";
pub const SURVIVING_NODE: &str = "backstop-node-loss-0000002a-worker2";

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
            backups: Mutex::new(Vec::new()),
            backup_at_fault: AtomicBool::new(false),
            restoring: Mutex::new(None),
            unrestorable: Mutex::new(None),
            repository_corrupted: AtomicBool::new(false),
            corruption_comes_back: AtomicBool::new(false),
            pods_never_ready: AtomicBool::new(false),
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

    /// The backups taken, oldest first, with the newest record each holds.
    pub fn backups(&self) -> Vec<(BackupTaken, u64)> {
        self.backups.lock().unwrap().clone()
    }

    /// The newest record of the backup the last Restore named.
    fn restored_seq(&self) -> u64 {
        let restoring = self.restoring.lock().unwrap().clone();
        self.backups()
            .into_iter()
            .find(|(b, _)| Some(&b.name) == restoring.as_ref())
            .map_or_else(|| self.backed_up(), |(_, seq)| seq)
    }

    fn take_backup(&self, name: &str, started: DateTime<Utc>) -> BackupTaken {
        let seq = self.seq.load(Ordering::SeqCst);
        let taken = BackupTaken {
            name: name.to_owned(),
            started,
            completed: Utc::now(),
        };
        self.backups.lock().unwrap().push((taken.clone(), seq));
        taken
    }

    fn writer_lost(&self) {
        self.writer_running.store(false, Ordering::SeqCst);
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
        self.backups
            .lock()
            .unwrap()
            .push((taken.clone(), self.backed_up()));
        *self.taken.lock().unwrap() = Some(taken.clone());
        Ok(taken)
    }

    async fn choose_backup(&self, after: DateTime<Utc>) -> Result<BackupTaken, Error> {
        self.enter("choose_backup".into()).await?;
        // The Schedule's newest usable backup at the fault: the one taken in wait_backup.
        let first = self.taken.lock().unwrap().clone().unwrap();
        if self.backup_at_fault.load(Ordering::SeqCst) {
            let newest = self.take_backup(
                "backstop-namespace-loss-20250101001500",
                Utc::now() - chrono::Duration::seconds(30),
            );
            return Ok(newest);
        }
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
        *self.restoring.lock().unwrap() = Some(backup.to_owned());
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
        self.seq.store(self.restored_seq(), Ordering::SeqCst);
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

    async fn wait_pods_ready(&self, timeout: Duration) -> Result<PodsOutcome, Error> {
        self.enter("wait_pods_ready".into()).await?;
        if self.pods_never_ready.load(Ordering::SeqCst) {
            tokio::time::sleep(timeout).await;
            return Err(Error::Timeout {
                what: "the restored pods of backstop-chaos to be Ready".into(),
                after: timeout,
                last_seen: "0/1 pods Ready in backstop-chaos: ledger-0 Init:0/1 (restore-wait)"
                    .into(),
            });
        }
        Ok(PodsOutcome {
            ready: true,
            detail: "1/1 pods Ready in backstop-chaos".into(),
        })
    }

    async fn read_restored_ledger(&self, _timeout: Duration) -> Result<Vec<u8>, Error> {
        self.enter("read_restored_ledger".into()).await?;
        let mut bytes = self.ledger(self.restored_seq());
        if self.repository_corrupted.load(Ordering::SeqCst)
            && self.corruption_comes_back.load(Ordering::SeqCst)
        {
            // A damaged block of the file: the second record's bytes.
            bytes[84..168].fill(0x5a);
        }
        Ok(bytes)
    }

    async fn stop_ledger_node(&self) -> Result<StoppedNode, Error> {
        self.enter("stop_ledger_node".into()).await?;
        self.writer_lost();
        Ok(StoppedNode {
            node: LEDGER_NODE.into(),
            container: LEDGER_NODE.into(),
        })
    }

    async fn wait_node_dead(&self, node: &str, _timeout: Duration) -> Result<String, Error> {
        self.enter(format!("wait_node_dead({node})")).await?;
        // The node lifecycle controller's grace period.
        tokio::time::sleep(Duration::from_secs(40)).await;
        Ok("Ready=Unknown (NodeStatusUnknown: Kubelet stopped posting node status.)".into())
    }

    async fn force_remove_ledger(&self, _timeout: Duration) -> Result<ForceRemoved, Error> {
        self.enter("force_remove_ledger".into()).await?;
        Ok(ForceRemoved {
            pod: "backstop-chaos/ledger-0".into(),
            claim: "backstop-chaos/data-ledger-0".into(),
            volume: Some("pvc-7d3f0c2e".into()),
            finalizers_removed: Vec::new(),
        })
    }

    async fn ledger_node(&self) -> Result<String, Error> {
        self.enter("ledger_node".into()).await?;
        Ok(SURVIVING_NODE.into())
    }

    async fn delete_cluster(&self, _timeout: Duration) -> Result<(), Error> {
        self.enter("delete_cluster".into()).await?;
        self.namespace_present.store(false, Ordering::SeqCst);
        self.writer_lost();
        Ok(())
    }

    async fn recreate_cluster(&self, _timeout: Duration) -> Result<String, Error> {
        self.enter("recreate_cluster".into()).await?;
        // kind takes a while to make a cluster.
        tokio::time::sleep(Duration::from_secs(90)).await;
        Ok("backstop-cluster-loss-0000002a".into())
    }

    async fn wait_backup_synced(&self, backup: &str, _timeout: Duration) -> Result<(), Error> {
        self.enter(format!("wait_backup_synced({backup})")).await?;
        // Velero's backup sync runs every minute.
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(())
    }

    async fn create_restore_of_everything(&self, backup: &str) -> Result<String, Error> {
        self.enter(format!("create_restore_of_everything({backup})"))
            .await?;
        *self.restoring.lock().unwrap() = Some(backup.to_owned());
        Ok("backstop-cluster-loss-restore".into())
    }

    async fn delete_backup_objects(&self, backup: &str) -> Result<DeletedBackup, Error> {
        self.enter(format!("delete_backup_objects({backup})"))
            .await?;
        Ok(DeletedBackup {
            backup: backup.to_owned(),
            objects: ["velero-backup.json", "contents.tar.gz"]
                .iter()
                .map(|f| StoreObject {
                    key: format!("backups/{backup}/{f}"),
                    size: 100,
                })
                .collect(),
        })
    }

    async fn how_unrestorable(
        &self,
        backup: &str,
        _timeout: Duration,
    ) -> Result<Unrestorable, Error> {
        self.enter(format!("how_unrestorable({backup})")).await?;
        Ok(self
            .unrestorable
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| Unrestorable::RestoreFailed {
                restore: "backstop-namespace-loss-restore-newest".into(),
                phase: RestorePhase::Failed,
                reason: "error downloading backup: NoSuchKey".into(),
            }))
    }

    async fn fall_back(
        &self,
        lost: &BackupTaken,
        unrestorable: Unrestorable,
        after: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<Fallback, Error> {
        self.enter(format!("fall_back({})", lost.name)).await?;
        let reference = |b: &BackupTaken| BackupRef {
            name: b.name.clone(),
            phase: "Completed".into(),
            started: Some(b.started),
            completed: Some(b.completed),
            warnings: 0,
            errors: 0,
        };
        let older = self
            .backups()
            .into_iter()
            .map(|(b, _)| b)
            .filter(|b| b.name != lost.name && b.started > after && b.started < before)
            .max_by_key(|b| b.started);
        Ok(Fallback {
            lost: reference(lost),
            unrestorable,
            restored_from: older.as_ref().map(reference),
            passed_over: Vec::new(),
        })
    }

    async fn corrupt_repository(&self) -> Result<CorruptedRepository, Error> {
        self.enter("corrupt_repository".into()).await?;
        self.repository_corrupted.store(true, Ordering::SeqCst);
        Ok(CorruptedRepository {
            engine: FsBackup::Kopia,
            prefix: "kopia/backstop-chaos/".into(),
            altered: vec![AlteredObject {
                key: "kopia/backstop-chaos/p0d41b3c7e2a9f8e6-s8c1f0a2b3c4d5e6f-c1".into(),
                size: 5200,
                sha256_before: "3b7a".into(),
                sha256_after: "9c1e".into(),
            }],
            untouched: vec!["kopia/backstop-chaos/kopia.repository".into()],
        })
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
