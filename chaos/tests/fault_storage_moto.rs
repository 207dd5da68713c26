//! The storage-loss faults against a real S3 server (moto on 127.0.0.1, `support/moto.rs`) in a
//! bucket laid out as Velero lays it out (`support/velero_store.rs`): exactly the objects of
//! the newest backup are deleted, exactly the data objects of the namespace's repository are
//! altered, and everything else in the bucket keeps its bytes.
#![allow(clippy::unwrap_used)]

#[path = "support/moto.rs"]
mod moto;
#[path = "support/velero_store.rs"]
mod velero_store;

use std::collections::BTreeSet;

use backstop_chaos::error::{EXIT_INFRASTRUCTURE, Error};
use backstop_chaos::fault::fallback::{self, Unrestorable};
use backstop_chaos::fault::{backup_deletion, repository, stored_backups};
use backstop_chaos::scenario::FsBackup;
use backstop_chaos::store::Store;
use chrono::{DateTime, Utc};
use velero_store::{SCHEDULE, backup_files, put_all, put_backup, snapshot};

const NEWEST: &str = "backstop-storage-loss-20261203121500";
const PREVIOUS: &str = "backstop-storage-loss-20261203121000";
const OLDEST: &str = "backstop-storage-loss-20261203120500";

fn fault_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-03T12:17:00Z")
        .unwrap()
        .to_utc()
}

/// Three Completed backups of the run's Schedule; a newer one that ended PartiallyFailed; one
/// started after the fault; a newer one of another Schedule; a manual backup whose name
/// extends the newest's; a restore folder; the kopia repositories of two namespaces.
async fn velero_bucket(store: &Store) {
    put_backup(store, OLDEST, "Completed", "2026-12-03T12:05:00Z", SCHEDULE).await;
    put_backup(
        store,
        PREVIOUS,
        "Completed",
        "2026-12-03T12:10:00Z",
        SCHEDULE,
    )
    .await;
    put_backup(store, NEWEST, "Completed", "2026-12-03T12:15:00Z", SCHEDULE).await;
    put_backup(
        store,
        "backstop-storage-loss-20261203121600",
        "PartiallyFailed",
        "2026-12-03T12:16:00Z",
        SCHEDULE,
    )
    .await;
    put_backup(
        store,
        "backstop-storage-loss-20261203122000",
        "Completed",
        "2026-12-03T12:20:00Z",
        SCHEDULE,
    )
    .await;
    put_backup(
        store,
        "nightly-20261203121600",
        "Completed",
        "2026-12-03T12:16:30Z",
        "nightly",
    )
    .await;
    put_backup(
        store,
        &format!("{NEWEST}-manual"),
        "Completed",
        "2026-12-03T12:15:30Z",
        "",
    )
    .await;
    store
        .put("restores/r1/restore-r1-logs.gz", b"restore log".to_vec())
        .await
        .unwrap();
    put_all(store, &velero_store::kopia_repository("backstop-chaos")).await;
    put_all(store, &velero_store::kopia_repository("other-team")).await;
}

#[tokio::test]
async fn the_newest_completed_backup_before_the_fault_is_found_from_the_store_s_metadata() {
    let moto = moto::start();
    let store = moto.bucket("backstop").await;
    velero_bucket(&store).await;
    let stored = stored_backups::read(&store).await.unwrap();
    assert_eq!(stored.len(), 7);
    let newest = stored_backups::newest_completed(&stored, SCHEDULE, fault_time()).unwrap();
    assert_eq!(newest.name, NEWEST);
    assert!(newest.is_whole());
    assert_eq!(
        newest.objects.len(),
        9,
        "velero-backup.json and the 8 files PutBackup writes"
    );
}

#[tokio::test]
async fn deleting_the_newest_backup_removes_exactly_its_objects_and_leaves_every_other_byte() {
    let moto = moto::start();
    let store = moto.bucket("backstop").await;
    velero_bucket(&store).await;
    let before = snapshot(&store).await;

    let deleted = backup_deletion::delete(&store, NEWEST).await.unwrap();

    let mut expected: Vec<String> = backup_files(NEWEST);
    expected.push(format!("backups/{NEWEST}/velero-backup.json"));
    expected.sort();
    let removed: Vec<String> = deleted.objects.iter().map(|o| o.key.clone()).collect();
    assert_eq!(removed, expected);
    for object in &deleted.objects {
        assert_eq!(
            object.size,
            before[&object.key].len() as u64,
            "{}",
            object.key
        );
    }
    let after = snapshot(&store).await;
    let mut left = before.clone();
    for key in &expected {
        left.remove(key);
    }
    assert_eq!(after, left, "every other object keeps its bytes");
    assert!(
        after
            .keys()
            .any(|k| k.starts_with(&format!("backups/{NEWEST}-manual/"))),
        "a backup whose name extends the deleted one's is another folder"
    );
    let names: BTreeSet<String> = stored_backups::read(&store)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(
        !names.contains(NEWEST),
        "Velero's ListBackups would no longer see it"
    );
}

#[tokio::test]
async fn deleting_a_backup_the_store_does_not_hold_is_a_fault_that_did_not_take() {
    let moto = moto::start();
    let store = moto.bucket("backstop").await;
    velero_bucket(&store).await;
    let before = snapshot(&store).await;
    let err = backup_deletion::delete(&store, "backstop-storage-loss-20261203000000")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::FaultDidNotTake(_)), "{err}");
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    assert!(
        err.to_string()
            .contains("no object under backups/backstop-storage-loss-20261203000000/"),
        "{err}"
    );
    assert_eq!(snapshot(&store).await, before, "nothing was touched");
}

#[tokio::test]
async fn after_the_deletion_the_run_falls_back_to_the_previous_backup_still_whole_in_the_store() {
    let moto = moto::start();
    let store = moto.bucket("backstop").await;
    velero_bucket(&store).await;
    let stored = stored_backups::read(&store).await.unwrap();
    let lost = stored_backups::newest_completed(&stored, SCHEDULE, fault_time())
        .unwrap()
        .reference()
        .unwrap();
    // What the cluster still lists: the Backup objects of every folder (the lost one too,
    // until Velero's sync removes it).
    let in_cluster: Vec<_> = stored.iter().filter_map(|s| s.metadata.clone()).collect();
    backup_deletion::delete(&store, &lost.name).await.unwrap();
    let stored_after = stored_backups::read(&store).await.unwrap();
    let window = fallback::Window {
        schedule: SCHEDULE,
        after: DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
            .unwrap()
            .to_utc(),
        before: fault_time(),
    };
    let choice = fallback::choose(
        lost,
        Unrestorable::RemovedBySync,
        window,
        &in_cluster,
        &stored_after,
    );
    assert_eq!(
        choice.restored_from.as_ref().map(|b| b.name.as_str()),
        Some(PREVIOUS)
    );
    let passed: Vec<(&str, &str)> = choice
        .passed_over
        .iter()
        .map(|p| (p.backup.as_str(), p.why.as_str()))
        .collect();
    assert_eq!(
        passed,
        [(
            "backstop-storage-loss-20261203121600",
            "phase PartiallyFailed, not Completed"
        )],
        "the newer PartiallyFailed backup is named as passed over; the one after the fault is not a candidate"
    );
}

#[tokio::test]
async fn corrupting_a_kopia_repository_alters_exactly_its_pack_blobs() {
    let moto = moto::start();
    let store = moto.bucket("backstop").await;
    velero_bucket(&store).await;
    let before = snapshot(&store).await;

    let corrupted = repository::corrupt(&store, FsBackup::Kopia, "backstop-chaos")
        .await
        .unwrap();

    let altered: Vec<&str> = corrupted.altered.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(
        altered,
        [
            "kopia/backstop-chaos/p0d41b3c7e2a9f8e6-s8c1f0a2b3c4d5e6f-c1",
            "kopia/backstop-chaos/p9a7e51c0b2d4f6a8-s8c1f0a2b3c4d5e6f-c1",
        ]
    );
    let after = snapshot(&store).await;
    for a in &corrupted.altered {
        let (old, new) = (&before[&a.key], &after[&a.key]);
        assert_eq!(new.len(), old.len(), "{} keeps its size", a.key);
        assert_eq!(a.size, old.len() as u64);
        assert!(
            old.iter().zip(new).all(|(o, n)| *o != *n),
            "{}: every byte differs",
            a.key
        );
        assert_ne!(a.sha256_before, a.sha256_after);
    }
    let changed: Vec<&str> = before
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(String::as_str)
        .collect();
    assert_eq!(changed, altered, "nothing else in the bucket changed");
    assert_eq!(corrupted.untouched.len(), 6, "{:?}", corrupted.untouched);
    assert_eq!(corrupted.prefix, "kopia/backstop-chaos/");
}

#[tokio::test]
async fn corrupting_a_restic_repository_alters_exactly_its_data_files() {
    let moto = moto::start();
    let store = moto.bucket("backstop").await;
    put_all(&store, &velero_store::restic_repository("backstop-chaos")).await;
    put_all(&store, &velero_store::restic_repository("other-team")).await;
    let before = snapshot(&store).await;

    let corrupted = repository::corrupt(&store, FsBackup::Restic, "backstop-chaos")
        .await
        .unwrap();

    let after = snapshot(&store).await;
    let changed: Vec<String> = before
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .cloned()
        .collect();
    assert_eq!(
        changed,
        [
            "restic/backstop-chaos/data/3f/3f1c2a9d8e7b6a5c4d3e2f1a0b9c8d7e",
            "restic/backstop-chaos/data/a0/a07b6c5d4e3f2a1b0c9d8e7f6a5b4c3d",
        ]
    );
    let reported: Vec<String> = corrupted.altered.iter().map(|a| a.key.clone()).collect();
    assert_eq!(reported, changed);
}

#[tokio::test]
async fn a_repository_without_data_is_a_fault_that_did_not_take_and_nothing_changes() {
    let moto = moto::start();
    let store = moto.bucket("backstop").await;
    velero_bucket(&store).await;
    let before = snapshot(&store).await;
    let err = repository::corrupt(&store, FsBackup::Restic, "backstop-chaos")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::FaultDidNotTake(_)), "{err}");
    assert!(err.to_string().contains("restic/backstop-chaos/"), "{err}");
    assert_eq!(snapshot(&store).await, before);
}
