//! The ground truth, gathered: the writer's `GET /last` polled for the whole run, each new
//! acknowledgement stamped with the harness's clock and appended (and flushed) to the run
//! directory's ground-truth file at once, so a run that crashes still leaves its evidence.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::Error;
use crate::ground_truth::{Ack, Recorder};

use super::world::World;

/// What the poller has seen so far.
#[derive(Debug, Default)]
struct Seen {
    acks: Vec<Ack>,
    polls: u64,
    last: Option<String>,
}

/// The poller's shared state: the recorder, the acknowledgements and the last answer.
#[derive(Debug)]
pub struct Truth {
    recorder: Mutex<Recorder>,
    seen: Mutex<Seen>,
    active: AtomicBool,
    changed: Notify,
}

impl Truth {
    pub fn new(recorder: Recorder) -> Self {
        Self {
            recorder: Mutex::new(recorder),
            seen: Mutex::new(Seen::default()),
            active: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    /// Starts polling (once the workload exists).
    pub fn activate(&self) {
        self.active.store(true, Ordering::SeqCst);
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every acknowledgement recorded so far, in the order seen.
    pub fn acks(&self) -> Vec<Ack> {
        self.seen().acks.clone()
    }

    /// The newest sequence number seen acknowledged so far.
    pub fn newest_seq(&self) -> Option<u64> {
        self.seen().acks.iter().map(|a| a.seq).max()
    }

    /// The last answer (or failure) of `GET /last`, in words.
    pub fn last_seen(&self) -> String {
        let seen = self.seen();
        match &seen.last {
            Some(last) => format!("{last} (after {} polls)", seen.polls),
            None => "no poll has answered yet".to_owned(),
        }
    }

    /// Records one poll's answer: a sequence number not seen just before is appended.
    pub fn record(&self, answer: Result<super::world::LastAck, &Error>) -> Result<(), Error> {
        let mut seen = self.seen();
        seen.polls += 1;
        match answer {
            Ok(last) => {
                seen.last = Some(format!("GET /last answered seq {}", last.seq));
                if seen.acks.last().map(|a| a.seq) != Some(last.seq) {
                    let ack = self
                        .recorder
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .observe(last.seq, last.unix_nanos)?;
                    seen.acks.push(ack);
                }
            }
            Err(e) => seen.last = Some(format!("GET /last failed: {e}")),
        }
        drop(seen);
        self.changed.notify_waiters();
        Ok(())
    }

    /// Waits until some acknowledgement has been recorded.
    pub async fn wait_first(&self, timeout: Duration) -> Result<(), Error> {
        let first = async {
            loop {
                let changed = self.changed.notified();
                if self.newest_seq().is_some() {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(timeout, first)
            .await
            .map_err(|_| Error::Timeout {
                what:
                    "the ledger writer's first acknowledgement (GET /last through the API server)"
                        .into(),
                after: timeout,
                last_seen: self.last_seen(),
            })
    }
}

/// Polls `GET /last` every `interval` while the truth is active; never returns unless
/// recording fails (the run directory is gone or the disk is full).
pub async fn poll<W: World>(world: &W, truth: &Truth, interval: Duration) -> Error {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if !truth.active.load(Ordering::SeqCst) {
            continue;
        }
        let limit = interval.max(Duration::from_secs(1)) * 5;
        let answer = tokio::time::timeout(limit, world.ledger_last())
            .await
            .unwrap_or_else(|_| {
                Err(Error::Timeout {
                    what: "GET /last to answer".into(),
                    after: limit,
                    last_seen: "no answer".into(),
                })
            });
        if let Err(e) = truth.record(answer.as_ref().map(|a| *a)) {
            return e;
        }
    }
}
