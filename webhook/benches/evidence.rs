//! Judging the backup evidence of a large platform, as the webhook's evidence loop does after
//! a change: 2,000 protected namespaces with 5 claims each (10,000 claims, each mounted by a
//! running pod and copied by file-system backup), 200 daily schedules of 10 namespaces each,
//! 30 retained backups per schedule (6,000 Backups) and one PodVolumeBackup per claim per
//! backup (300,000), trimmed as the caches keep them.
//!
//! Baseline, measured in the same run: evaluating every object's coverage with codes only,
//! which every coverage index rebuild already does for the coverage gauges. The resident memory
//! of the trimmed records is read from `/proc/self/statm` around building them (an
//! approximation: the allocator may keep or reuse pages), with the load average beside it.

use std::hint::black_box;
use std::sync::Arc;

use backstop_webhook::cache::evidence::trim;
use backstop_webhook::metrics::evidence::EvidenceSummary;
use criterion::{Criterion, criterion_group, criterion_main};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use policy::evidence::{VeleroRecords, gather};
use policy::objects::{
    ClaimRef, ContainerFacts, Meta, NamespaceFacts, PodFacts, PodSpecFacts, PodStatusFacts,
    PodVolumeFacts, PvcFacts,
};
use policy::velero::{
    Backup, BackupSpec, BackupStatus, PodReference, PodVolumeBackup, PodVolumeBackupSpec,
    PodVolumeBackupStatus, Schedule, ScheduleSpec,
};
use policy::{CoverageIndex, Detail, Inventory, Policy};

const NAMESPACES: usize = 2_000;
const CLAIMS_PER_NAMESPACE: usize = 5;
const SCHEDULES: usize = 200;
const NAMESPACES_PER_SCHEDULE: usize = 10;
const RETAINED: usize = 30;

fn now() -> Timestamp {
    "2026-12-03T02:30:00Z".parse().expect("a time")
}

fn policy() -> Arc<Policy> {
    let text = "
veleroNamespace: velero
tiers:
  standard: { rpo: 25h, rto: 4h, minRetention: 168h }
protected:
  - { namespace: 'team-*', tier: standard }
";
    Arc::new(Policy::from_yaml(text, "bench").expect("bench policy parses"))
}

fn meta(name: &str, labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> ObjectMeta {
    let map = |pairs: &[(&str, &str)]| {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    };
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some("velero".to_string()),
        uid: Some(format!("uid-of-{name}")),
        resource_version: Some("4417".to_string()),
        generation: Some(9),
        labels: map(labels),
        annotations: map(annotations),
        ..ObjectMeta::default()
    }
}

fn inventory() -> Inventory {
    let mut inventory = Inventory::default();
    for n in 0..NAMESPACES {
        let namespace = format!("team-{n}");
        inventory.namespaces.push(NamespaceFacts {
            metadata: Meta::named(&namespace),
        });
        for c in 0..CLAIMS_PER_NAMESPACE {
            let claim = format!("data-{c}");
            inventory.pvcs.push(PvcFacts {
                metadata: Meta::namespaced(&namespace, &claim),
                spec: Default::default(),
                status: Default::default(),
            });
            inventory.pods.push(PodFacts {
                metadata: Meta::namespaced(&namespace, &format!("app-{c}")),
                spec: PodSpecFacts {
                    volumes: vec![PodVolumeFacts {
                        name: "data".to_string(),
                        persistent_volume_claim: Some(ClaimRef { claim_name: claim }),
                    }],
                    containers: vec![ContainerFacts::mounting(["data"])],
                },
                status: PodStatusFacts {
                    phase: Some("Running".to_string()),
                },
            });
        }
    }
    for s in 0..SCHEDULES {
        let included = (0..NAMESPACES_PER_SCHEDULE)
            .map(|i| format!("team-{}", s * NAMESPACES_PER_SCHEDULE + i))
            .collect();
        let mut schedule = Schedule::new(
            &format!("daily-{s}"),
            ScheduleSpec {
                schedule: "0 2 * * *".to_string(),
                template: BackupSpec {
                    included_namespaces: Some(included),
                    default_volumes_to_fs_backup: Some(true),
                    ttl: Some("720h0m0s".to_string()),
                    ..BackupSpec::default()
                },
                ..ScheduleSpec::default()
            },
        );
        schedule.metadata.namespace = Some("velero".to_string());
        inventory.schedules.push(schedule);
    }
    inventory
}

/// Every schedule's retained backups, each Completed with a PodVolumeBackup per claim, as
/// the API server sends them, each trimmed as it arrives (as the caches do), so the resident
/// memory measured around this is about what the caches keep.
fn records() -> (Vec<Backup>, Vec<PodVolumeBackup>) {
    let mut backups = Vec::with_capacity(SCHEDULES * RETAINED);
    let mut volumes =
        Vec::with_capacity(SCHEDULES * RETAINED * NAMESPACES_PER_SCHEDULE * CLAIMS_PER_NAMESPACE);
    for s in 0..SCHEDULES {
        let schedule = format!("daily-{s}");
        let included: Vec<String> = (0..NAMESPACES_PER_SCHEDULE)
            .map(|i| format!("team-{}", s * NAMESPACES_PER_SCHEDULE + i))
            .collect();
        for day in 0..RETAINED {
            let started =
                now() - SignedDuration::from_hours(24 * day as i64) - SignedDuration::from_mins(30);
            let name = format!("{schedule}-{}", started.strftime("%Y%m%d%H%M%S"));
            let mut backup = Backup::new(
                &name,
                BackupSpec {
                    included_namespaces: Some(included.clone()),
                    default_volumes_to_fs_backup: Some(true),
                    ttl: Some("720h0m0s".to_string()),
                    storage_location: Some("default".to_string()),
                    ..BackupSpec::default()
                },
            );
            backup.metadata = meta(
                &name,
                &[
                    ("velero.io/schedule-name", &schedule),
                    ("velero.io/storage-location", "default"),
                ],
                &[("velero.io/source-cluster-k8s-gitversion", "v1.31.2")],
            );
            backup.status = Some(BackupStatus {
                phase: Some("Completed".to_string()),
                start_timestamp: Some(Time(started)),
                completion_timestamp: Some(Time(started + SignedDuration::from_mins(4))),
                expiration: Some(Time(started + SignedDuration::from_hours(720))),
                warnings: Some(0),
                ..BackupStatus::default()
            });
            for i in 0..NAMESPACES_PER_SCHEDULE {
                let namespace = format!("team-{}", s * NAMESPACES_PER_SCHEDULE + i);
                for c in 0..CLAIMS_PER_NAMESPACE {
                    let claim = format!("data-{c}");
                    let mut volume = PodVolumeBackup::new(
                        &format!("{name}-{i}{c}"),
                        PodVolumeBackupSpec {
                            pod: PodReference {
                                namespace: namespace.clone(),
                                name: format!("app-{c}"),
                            },
                            volume: "data".to_string(),
                        },
                    );
                    volume.metadata = meta(
                        &format!("{name}-{i}{c}"),
                        &[
                            ("velero.io/backup-name", &name),
                            (
                                "velero.io/backup-uid",
                                "bcaa312f-c8bc-3533-9d47-12badc3609fa",
                            ),
                            ("velero.io/pvc-uid", "1c168adb-00d2-08e4-2f93-314529f1fa9c"),
                        ],
                        &[("velero.io/pvc-name", &claim)],
                    );
                    volume.status = Some(PodVolumeBackupStatus {
                        phase: Some("Completed".to_string()),
                        message: None,
                        start_timestamp: Some(Time(started)),
                        completion_timestamp: Some(Time(started + SignedDuration::from_mins(3))),
                    });
                    trim::pod_volume_backup(&mut volume);
                    volumes.push(volume);
                }
            }
            trim::backup(&mut backup);
            backups.push(backup);
        }
    }
    (backups, volumes)
}

/// Resident memory of this process in bytes (`/proc/self/statm`, pages × 4 KiB).
fn resident() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|text| text.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn judge(c: &mut Criterion) {
    let index = CoverageIndex::build(policy(), inventory());
    let before = resident();
    let (backups, volumes) = records();
    let after = resident();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "trimmed records: {} Backups and {} PodVolumeBackups, resident memory +{:.1} MiB ({:.0} bytes per record); load average {}",
        backups.len(),
        volumes.len(),
        (after.saturating_sub(before)) as f64 / (1024.0 * 1024.0),
        after.saturating_sub(before) as f64 / (backups.len() + volumes.len()) as f64,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );
    let judge_once = || {
        let verdicts = index.evaluate_all_with(Detail::CodesOnly);
        let records = VeleroRecords {
            backups: backups.iter().collect(),
            pod_volume_backups: volumes.iter().collect(),
            data_uploads: Vec::new(),
        };
        let evidence = gather(&index, &verdicts, &records, now());
        EvidenceSummary::of(&evidence, now)
    };
    let summary = judge_once();
    assert_eq!(
        summary.namespaces.len(),
        NAMESPACES,
        "every namespace judged"
    );
    assert!(
        summary.namespaces.iter().all(|n| n.volumes_missing == 0),
        "every claim copied"
    );
    let mut group = c.benchmark_group("2k namespaces, 10k claims, 200 schedules, 306k records");
    group.sample_size(10);
    group.bench_function("evaluate all, codes only (baseline)", |b| {
        b.iter(|| black_box(index.evaluate_all_with(Detail::CodesOnly)))
    });
    group.bench_function("judge the evidence (evaluate + gather + summary)", |b| {
        b.iter(|| black_box(judge_once()))
    });
    group.finish();
}

criterion_group!(benches, judge);
criterion_main!(benches);
