//! When each schedule's backups start, complete and expire, as Velero's schedule controller
//! creates them (`pkg/controller/schedule_controller.go`, `Reconcile`):
//!
//! - a Schedule is due when the reconcile finds `now` after `cron.Next(lastBackup)` (`ifDue`,
//!   `getNextRunTime`); reconciles come every minute, so a backup starts at its firing plus a
//!   delay uniform on [0, 1 min);
//! - while a backup of the same Schedule is New or InProgress it submits nothing
//!   (`checkIfBackupInNewOrProgress`); it is still due, so the run starts at the first reconcile
//!   after that backup completes, and the firings missed meanwhile are not caught up (`lastBackup`
//!   becomes that start, and `Next` counts from it);
//! - `@every d` is due `d` after the previous start;
//! - a backup expires `ttl` after it starts (the backup controller sets `status.expiration` to
//!   its start plus `spec.ttl`) and is restorable from its completion until then.
//!
//! The whole start-to-completion span counts as in progress (Velero waits only on New and
//! InProgress, so a backup's WaitingForPluginOperations or Finalizing tail could overlap the next).

use policy::cron::CronSchedule;

use super::rng::SplitMix64;
use super::{Millis, TICK};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backup {
    pub start: Millis,
    pub completion: Millis,
    pub expiry: Millis,
}

/// One schedule's backups over `[from, to)`, in order. `duration` and `ttl` in milliseconds.
pub(crate) fn backups(
    cron: &CronSchedule,
    from: Millis,
    to: Millis,
    duration: Millis,
    ttl: Millis,
    rng: &mut SplitMix64,
) -> Vec<Backup> {
    let every = cron
        .every()
        .map(|delay| Millis::try_from(delay.as_millis()).unwrap_or(Millis::MAX));
    // `@every` has no firings of its own: it is due a delay after the previous start.
    let firings: Vec<Millis> = match (every, to_utc(from), to_utc(to)) {
        (None, Some(low), Some(high)) => cron
            .firings_between(low, high)
            .into_iter()
            .map(|at| at.timestamp_millis())
            .collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    let mut last_start = from;
    let mut busy_until = Millis::MIN;
    let mut next_firing = 0;
    loop {
        let due = match every {
            Some(delay) => last_start.saturating_add(delay),
            None => {
                // `Next(lastBackup)`: the first firing strictly after the last start.
                while firings.get(next_firing).is_some_and(|at| *at <= last_start) {
                    next_firing += 1;
                }
                match firings.get(next_firing) {
                    Some(at) => *at,
                    None => break,
                }
            }
        };
        if due >= to {
            break;
        }
        let first_tick = due + rng.below(TICK as u64) as Millis;
        let start = if first_tick >= busy_until {
            first_tick
        } else {
            // The first reconcile after the running backup completes.
            let wait = busy_until - first_tick;
            first_tick + (wait + TICK - 1) / TICK * TICK
        };
        let completion = start.saturating_add(duration);
        out.push(Backup {
            start,
            completion,
            expiry: start.saturating_add(ttl),
        });
        busy_until = completion;
        last_start = start;
    }
    out
}

fn to_utc(millis: Millis) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(millis)
}

/// The start of the newest restorable backup of one schedule, as a step function: from
/// `steps[i].0` on (until the next step) it is `steps[i].1` (`None`: nothing restorable).
pub(crate) type Steps = Vec<(Millis, Option<Millis>)>;

/// Within one schedule the newest completed backup also expires last (same ttl, later start),
/// so the newest restorable one is the newest completed one until it expires.
pub(crate) fn restorable_steps(backups: &[Backup]) -> Steps {
    let mut steps: Steps = vec![(Millis::MIN, None)];
    for (index, backup) in backups.iter().enumerate() {
        if backup.completion >= backup.expiry {
            continue;
        }
        push_step(&mut steps, backup.completion, Some(backup.start));
        let superseded = backups[index + 1..]
            .iter()
            .map(|next| next.completion)
            .find(|completion| *completion > backup.completion)
            .unwrap_or(Millis::MAX);
        if backup.expiry < superseded {
            push_step(&mut steps, backup.expiry, None);
        }
    }
    steps
}

fn push_step(steps: &mut Steps, at: Millis, value: Option<Millis>) {
    // Steps arrive in time order; a later step at the same instant replaces the earlier one.
    while steps.last().is_some_and(|(from, _)| *from >= at) && steps.len() > 1 {
        steps.pop();
    }
    if steps.last().map(|(_, v)| *v) != Some(value) {
        steps.push((at, value));
    }
}

/// The newest restorable backup of several schedules together: at each instant the latest
/// start among them.
pub(crate) fn merge_steps(all: &[&Steps]) -> Steps {
    let mut cursors = vec![0usize; all.len()];
    let mut current: Vec<Option<Millis>> = vec![None; all.len()];
    let mut merged: Steps = vec![(Millis::MIN, None)];
    loop {
        let next = all
            .iter()
            .zip(&cursors)
            .filter_map(|(steps, cursor)| steps.get(*cursor).map(|(at, _)| *at))
            .min();
        let Some(at) = next else {
            break;
        };
        for (index, steps) in all.iter().enumerate() {
            while let Some((step_at, value)) = steps.get(cursors[index])
                && *step_at == at
            {
                current[index] = *value;
                cursors[index] += 1;
            }
        }
        let newest = current.iter().flatten().max().copied();
        push_step(&mut merged, at, newest);
    }
    merged
}
