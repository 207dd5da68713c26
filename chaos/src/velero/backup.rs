//! The run's backups: which of its Schedule's Backups may be restored from, and the wait for
//! the first of them. A backup counts only if it started after steady writes, reached
//! `Completed`, and holds the ledger's data: a `Completed` PodVolumeBackup of the ledger
//! pod's volume. A Backup can end `Completed` without it: Velero's file-system backup skips a
//! hostPath volume with only a warning (`pkg/podvolume/backupper.go`, `isHostPathVolume`).
//!
//! Velero labels each PodVolumeBackup with its Backup's UID (`velero.io/backup-uid`, in
//! `newPodVolumeBackup` of the same file); the name label is hashed past 63 characters.

use std::time::Duration;

use ::kube::api::ListParams;
use ::kube::runtime::watcher;
use ::kube::{Api, Client, ResourceExt};
use chrono::{DateTime, SubsecRound, Utc};
use policy::velero::keys::SCHEDULE_NAME;
use policy::velero::{Backup, PodVolumeBackup};
use serde::Serialize;

use super::restore::VELERO_NAMESPACE;
use crate::error::Error;
use crate::kube::wait;

/// Velero's label on a PodVolumeBackup naming its Backup's UID.
pub const BACKUP_UID_LABEL: &str = "velero.io/backup-uid";

/// A backup the restore may use: its name, start and completion (Velero's timestamps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupTaken {
    pub name: String,
    pub started: DateTime<Utc>,
    pub completed: DateTime<Utc>,
}

/// The pod volume whose data a backup must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodVolume<'a> {
    pub namespace: &'a str,
    pub pod: &'a str,
    pub volume: &'a str,
}

impl std::fmt::Display for PodVolume<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} volume {}", self.namespace, self.pod, self.volume)
    }
}

/// A Kubernetes time (a jiff timestamp in k8s-openapi) as chrono, which `result.json` speaks.
fn time(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<DateTime<Utc>> {
    let t = t?.0;
    DateTime::from_timestamp(t.as_second(), u32::try_from(t.subsec_nanosecond()).ok()?)
}

/// The Completed backups that started at or after `after`, oldest first. Velero stamps whole
/// seconds, so `after` counts to the second it falls in.
pub fn completed_since(backups: &[Backup], after: DateTime<Utc>) -> Vec<(BackupTaken, String)> {
    let after = after.trunc_subsecs(0);
    let mut taken: Vec<(BackupTaken, String)> = backups
        .iter()
        .filter_map(|b| {
            let status = b.status.as_ref()?;
            if status.phase.as_deref() != Some("Completed") {
                return None;
            }
            let started = time(status.start_timestamp.as_ref())?;
            let completed = time(status.completion_timestamp.as_ref())?;
            (started >= after).then(|| {
                (
                    BackupTaken {
                        name: b.name_any(),
                        started,
                        completed,
                    },
                    b.metadata.uid.clone().unwrap_or_default(),
                )
            })
        })
        .collect();
    taken.sort_by(|a, b| (a.0.started, &a.0.name).cmp(&(b.0.started, &b.0.name)));
    taken
}

/// Whether `pvbs` (one backup's) hold `volume` Completed; else what they hold of it, in words.
pub fn holds(pvbs: &[PodVolumeBackup], volume: &PodVolume<'_>) -> Result<(), String> {
    let of_volume: Vec<&PodVolumeBackup> = pvbs
        .iter()
        .filter(|p| {
            p.spec.pod.namespace == volume.namespace
                && p.spec.pod.name == volume.pod
                && p.spec.volume == volume.volume
        })
        .collect();
    if of_volume
        .iter()
        .any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Completed"))
    {
        return Ok(());
    }
    match of_volume.first() {
        None => Err(format!(
            "no PodVolumeBackup of {volume} (Velero skipped the volume: a hostPath volume, or \
             one not opted in to file-system backup)"
        )),
        Some(p) => {
            let status = p.status.as_ref();
            Err(format!(
                "the PodVolumeBackup {} of {volume} is {}{}",
                p.name_any(),
                status
                    .and_then(|s| s.phase.as_deref())
                    .unwrap_or("(no phase)"),
                status
                    .and_then(|s| s.message.as_deref())
                    .map_or(String::new(), |m| format!(": {m}"))
            ))
        }
    }
}

/// The backups seen, in words, for a timeout's "last seen" (newest last).
pub fn describe(backups: &[Backup], rejected: &[(String, String)]) -> String {
    if backups.is_empty() {
        return "no Backup of the Schedule yet".to_owned();
    }
    let mut sorted: Vec<&Backup> = backups.iter().collect();
    sorted.sort_by_key(|b| {
        b.status
            .as_ref()
            .and_then(|s| time(s.start_timestamp.as_ref()))
    });
    sorted
        .iter()
        .map(|b| {
            let name = b.name_any();
            let phase = b
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .unwrap_or("(no phase yet)");
            match rejected.iter().find(|(n, _)| *n == name) {
                Some((_, why)) => format!("{name}: {phase}, but {why}"),
                None => format!("{name}: {phase}"),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn list_error(action: String) -> impl FnOnce(::kube::Error) -> Error {
    move |source| Error::Kube {
        action,
        source: Box::new(source),
    }
}

/// The PodVolumeBackups of the backup with `uid`.
async fn pod_volume_backups(client: &Client, uid: &str) -> Result<Vec<PodVolumeBackup>, Error> {
    let api: Api<PodVolumeBackup> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    let selector = format!("{BACKUP_UID_LABEL}={uid}");
    Ok(api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(list_error(format!(
            "list PodVolumeBackups in {VELERO_NAMESPACE} labelled {selector}"
        )))?
        .items)
}

/// The first of `candidates` (in order) that holds `volume`; the others' reasons are added
/// to `rejected` (a backup's pod volume backups are final once it is Completed, so each is
/// asked once).
async fn first_holding(
    client: &Client,
    candidates: &[(BackupTaken, String)],
    volume: &PodVolume<'_>,
    rejected: &mut Vec<(String, String)>,
) -> Result<Option<BackupTaken>, Error> {
    for (backup, uid) in candidates {
        if rejected.iter().any(|(n, _)| *n == backup.name) {
            continue;
        }
        match holds(&pod_volume_backups(client, uid).await?, volume) {
            Ok(()) => return Ok(Some(backup.clone())),
            Err(why) => rejected.push((backup.name.clone(), why)),
        }
    }
    Ok(None)
}

/// Watches the Backups labelled with `schedule` until one started at or after `after`,
/// reached `Completed` and holds `volume`; fails with [`Error::Timeout`] naming every
/// backup seen and why each did not count.
pub async fn wait_first(
    client: &Client,
    schedule: &str,
    after: DateTime<Utc>,
    volume: &PodVolume<'_>,
    timeout: Duration,
) -> Result<BackupTaken, Error> {
    let api: Api<Backup> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    let config = watcher::Config::default().labels(&format!("{SCHEDULE_NAME}={schedule}"));
    let rejected = std::sync::Mutex::new(Vec::<(String, String)>::new());
    wait::until_settled(
        &api,
        config,
        format!(
            "a Backup of Schedule {VELERO_NAMESPACE}/{schedule} that started after steady \
             writes ({after}), reached Completed and holds {volume}"
        ),
        timeout,
        |backups: Vec<Backup>| {
            let rejected = &rejected;
            async move {
                let candidates = completed_since(&backups, after);
                let mut seen = rejected
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                let outcome = first_holding(client, &candidates, volume, &mut seen).await;
                let described = describe(&backups, &seen);
                *rejected
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = seen;
                match outcome {
                    Ok(found) => (found, described),
                    // Asked again at the next change; the timeout names the failure.
                    Err(e) => (
                        None,
                        format!("{described} (listing PodVolumeBackups failed: {e})"),
                    ),
                }
            }
        },
    )
    .await
}

/// The newest backup of `schedule` that started at or after `after`, reached `Completed` and
/// holds `volume` (listed once: at the fault, the restore takes the newest usable backup).
pub async fn newest(
    client: &Client,
    schedule: &str,
    after: DateTime<Utc>,
    volume: &PodVolume<'_>,
) -> Result<Option<BackupTaken>, Error> {
    let api: Api<Backup> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    let selector = format!("{SCHEDULE_NAME}={schedule}");
    let backups = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(list_error(format!(
            "list Backups in {VELERO_NAMESPACE} labelled {selector}"
        )))?
        .items;
    let mut candidates = completed_since(&backups, after);
    candidates.reverse();
    first_holding(client, &candidates, volume, &mut Vec::new()).await
}

/// The DeleteBackupRequest that has Velero delete `backup`: its objects and its data in the
/// store (`pkg/controller/backup_deletion_controller.go`), labelled for the run.
pub fn delete_request(backup: &str, run_id: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "velero.io/v1",
        "kind": "DeleteBackupRequest",
        "metadata": {
            "name": format!("{backup}-delete"),
            "namespace": VELERO_NAMESPACE,
            "labels": { crate::kube::namespace::RUN_LABEL: run_id },
        },
        "spec": { "backupName": backup },
    })
}

#[cfg(test)]
mod tests;
