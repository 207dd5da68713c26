use chrono::TimeZone;
use policy::velero::{BackupStatus, PodReference, PodVolumeBackupSpec, PodVolumeBackupStatus};

use super::*;

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, h, m, s).unwrap()
}

fn kube_time(t: DateTime<Utc>) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(t.timestamp()).unwrap(),
    )
}

fn backup(name: &str, phase: &str, started: DateTime<Utc>) -> Backup {
    let mut b = Backup::new(name, Default::default());
    b.metadata.uid = Some(format!("uid-{name}"));
    b.status = Some(BackupStatus {
        phase: Some(phase.into()),
        start_timestamp: Some(kube_time(started)),
        completion_timestamp: Some(kube_time(started + chrono::Duration::seconds(30))),
        ..BackupStatus::default()
    });
    b
}

fn pvb(pod: &str, volume: &str, phase: &str) -> PodVolumeBackup {
    let mut p = PodVolumeBackup::new(
        "b-x",
        PodVolumeBackupSpec {
            pod: PodReference {
                namespace: "backstop-chaos".into(),
                name: pod.into(),
            },
            volume: volume.into(),
        },
    );
    p.status = Some(PodVolumeBackupStatus {
        phase: Some(phase.into()),
        message: None,
        ..PodVolumeBackupStatus::default()
    });
    p
}

const LEDGER: PodVolume<'static> = PodVolume {
    namespace: "backstop-chaos",
    pod: "ledger-0",
    volume: "data",
};

#[test]
fn only_completed_backups_started_after_steady_writes_count_oldest_first() {
    let backups = [
        backup("before", "Completed", at(10, 0, 0)),
        backup("later", "Completed", at(10, 10, 0)),
        backup("first", "Completed", at(10, 5, 0)),
        backup("partly", "PartiallyFailed", at(10, 6, 0)),
        backup("running", "InProgress", at(10, 7, 0)),
    ];
    let names: Vec<String> = completed_since(&backups, at(10, 1, 0))
        .into_iter()
        .map(|(b, _)| b.name)
        .collect();
    assert_eq!(names, ["first", "later"]);
}

#[test]
fn a_backup_stamped_in_the_second_steady_writes_began_counts() {
    // Velero stamps whole seconds: a backup started 0.4 s after steady shows the same second.
    let steady = at(10, 5, 0) + chrono::Duration::milliseconds(400);
    let backups = [backup("same-second", "Completed", at(10, 5, 0))];
    assert_eq!(completed_since(&backups, steady).len(), 1);
}

#[test]
fn a_completed_pod_volume_backup_of_the_ledger_volume_holds_the_data() {
    assert_eq!(
        holds(&[pvb("ledger-0", "data", "Completed")], &LEDGER),
        Ok(())
    );
}

#[test]
fn a_backup_without_a_pod_volume_backup_of_the_volume_does_not_hold_it() {
    // pkg/podvolume/backupper.go, BackupPodVolumes: a hostPath volume gets no
    // PodVolumeBackup, only a warning, and the Backup still ends Completed.
    let why = holds(&[pvb("other-0", "data", "Completed")], &LEDGER).unwrap_err();
    assert!(
        why.contains("no PodVolumeBackup of backstop-chaos/ledger-0 volume data"),
        "{why}"
    );
    assert!(why.contains("hostPath"), "{why}");
}

#[test]
fn a_failed_pod_volume_backup_does_not_hold_the_data_and_says_so() {
    let why = holds(&[pvb("ledger-0", "data", "Failed")], &LEDGER).unwrap_err();
    assert!(why.contains("is Failed"), "{why}");
}

#[test]
fn the_backups_seen_are_described_with_why_each_did_not_count() {
    let backups = [
        backup("b1", "Completed", at(10, 5, 0)),
        backup("b2", "InProgress", at(10, 10, 0)),
    ];
    let text = describe(&backups, &[("b1".into(), "no PodVolumeBackup".into())]);
    assert_eq!(
        text,
        "b1: Completed, but no PodVolumeBackup; b2: InProgress"
    );
    assert_eq!(describe(&[], &[]), "no Backup of the Schedule yet");
}
