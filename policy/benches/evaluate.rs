//! Evaluating a large cluster: 10,000 namespaces, 100,000 PVCs (each mounted by a running pod)
//! and 1,000 schedules. Target: index build + evaluation of everything under 200 ms on a 2-core
//! machine. `clone inventory` is the floor measured in the same run: copying the input once.
//!
//! The same cluster as a repository holds it: 20,000 StatefulSets (two per namespace, 5
//! replicas, one claim template each), which `Inventory::finish` turns into the same 100,000
//! claims and pods before the build. Target: within 2× of the pods-and-claims figure above,
//! measured in the same run.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use policy::objects::{
    ClaimRef, ContainerFacts, Meta, NamespaceFacts, PodFacts, PodSpecFacts, PodStatusFacts,
    PodVolumeFacts, PvcFacts,
};
use policy::velero::{BackupSpec, Schedule, ScheduleSpec};
use policy::workloads::{ControllerSpec, PodTemplateFacts, SelectorFacts, Workload, WorkloadKind};
use policy::{CoverageIndex, Inventory, Policy};

const NAMESPACES: usize = 10_000;
const PVCS_PER_NAMESPACE: usize = 10;
const SCHEDULES: usize = 1_000;
const STATEFULSETS_PER_NAMESPACE: usize = 2;
const REPLICAS: usize = 5;
const CRONS: [&str; 8] = [
    "0 * * * *",
    "*/10 * * * *",
    "0 2 * * *",
    "CRON_TZ=Europe/Berlin 30 2 * * *",
    "0 9 * * 1-5",
    "@every 15m",
    "0 3 * * 0",
    "0 2 1,15 * *",
];

fn policy() -> Arc<Policy> {
    let text = "
tiers:
  critical: { rpo: 15m, rto: 1h, minRetention: 168h }
  standard: { rpo: 24h, rto: 4h, minRetention: 720h }
protected:
  - { namespace: 'crit-*', tier: critical }
  - { namespace: 'team-*', tier: standard }
";
    Arc::new(Policy::from_yaml(text, "bench").expect("bench policy parses"))
}

fn inventory() -> Inventory {
    let mut inventory = Inventory::default();
    for n in 0..NAMESPACES {
        let name = if n.is_multiple_of(10) {
            format!("crit-{n}")
        } else {
            format!("team-{n}")
        };
        inventory.namespaces.push(NamespaceFacts {
            metadata: Meta::named(&name).with_labels([("app.kubernetes.io/part-of", "platform")]),
        });
        for p in 0..PVCS_PER_NAMESPACE {
            let claim = format!("data-{p}");
            inventory.pvcs.push(PvcFacts {
                metadata: Meta::namespaced(&name, &claim),
                spec: Default::default(),
                status: Default::default(),
            });
            inventory.pods.push(PodFacts {
                metadata: Meta::namespaced(&name, &format!("app-{p}")),
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
    inventory.schedules = schedules();
    inventory
}

/// The same namespaces and schedules, with StatefulSets instead of pods and claims.
fn controllers_inventory() -> Inventory {
    let mut inventory = Inventory::default();
    for n in 0..NAMESPACES {
        let name = namespace_name(n);
        inventory.namespaces.push(NamespaceFacts {
            metadata: Meta::named(&name).with_labels([("app.kubernetes.io/part-of", "platform")]),
        });
        for s in 0..STATEFULSETS_PER_NAMESPACE {
            let app = format!("db-{s}");
            inventory.workloads.push(Workload {
                kind: WorkloadKind::StatefulSet,
                metadata: Meta::namespaced(&name, &app),
                spec: ControllerSpec {
                    replicas: Some(REPLICAS as i64),
                    selector: SelectorFacts {
                        match_labels: [("app".to_string(), app.clone())].into(),
                    },
                    template: Some(PodTemplateFacts {
                        metadata: Meta::named("").with_labels([("app", app.as_str())]),
                        spec: PodSpecFacts {
                            volumes: Vec::new(),
                            containers: vec![ContainerFacts::mounting(["data"])],
                        },
                    }),
                    volume_claim_templates: vec![PvcFacts {
                        metadata: Meta::named("data"),
                        spec: Default::default(),
                        status: Default::default(),
                    }],
                    ..ControllerSpec::default()
                },
                finished: false,
                owner: None,
            });
        }
    }
    inventory.schedules = schedules();
    inventory
}

fn schedules() -> Vec<Schedule> {
    let mut schedules = Vec::new();
    for s in 0..SCHEDULES {
        // Most schedules name ten namespaces each; every 100th selects a glob.
        let included: Vec<String> = if s.is_multiple_of(100) {
            vec![format!("team-{}*", s / 100)]
        } else {
            (0..10)
                .map(|i| namespace_name((s * 10 + i) % NAMESPACES))
                .collect()
        };
        let mut schedule = Schedule::new(
            &format!("schedule-{s}"),
            ScheduleSpec {
                schedule: CRONS[s % CRONS.len()].to_string(),
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
        schedules.push(schedule);
    }
    schedules
}

fn namespace_name(n: usize) -> String {
    if n.is_multiple_of(10) {
        format!("crit-{n}")
    } else {
        format!("team-{n}")
    }
}

fn evaluate(c: &mut Criterion) {
    let policy = policy();
    let inventory = inventory();
    let mut group = c.benchmark_group("10k namespaces, 100k pvcs, 1k schedules");
    group.sample_size(10);
    group.bench_function("clone inventory (floor)", |b| {
        b.iter(|| black_box(inventory.clone()))
    });
    // Cron analyses are memoised process-wide: after the first iteration, as after a
    // webhook's first build, compiling a schedule no longer analyses its cron.
    group.bench_function("build index", |b| {
        b.iter(|| CoverageIndex::build(Arc::clone(&policy), inventory.clone()))
    });
    let index = CoverageIndex::build(Arc::clone(&policy), inventory.clone());
    group.bench_function("evaluate all", |b| {
        b.iter(|| black_box(index.evaluate_all()))
    });
    group.bench_function("build + evaluate all", |b| {
        b.iter(|| CoverageIndex::build(Arc::clone(&policy), inventory.clone()).evaluate_all())
    });
    group.finish();
    let verdicts = index.evaluate_all();
    assert_eq!(
        verdicts.len(),
        NAMESPACES * (PVCS_PER_NAMESPACE + 1),
        "every object is protected"
    );
}

fn evaluate_controllers(c: &mut Criterion) {
    let policy = policy();
    let inventory = controllers_inventory();
    let mut group =
        c.benchmark_group("10k namespaces, 20k statefulsets (100k claims), 1k schedules");
    group.sample_size(10);
    group.bench_function("finish (predict pods and claims)", |b| {
        b.iter(|| {
            let mut inventory = inventory.clone();
            inventory.finish();
            black_box(inventory)
        })
    });
    group.bench_function("finish + build + evaluate all", |b| {
        b.iter(|| {
            let mut inventory = inventory.clone();
            inventory.finish();
            CoverageIndex::build(Arc::clone(&policy), inventory).evaluate_all()
        })
    });
    group.finish();
    let mut finished = inventory.clone();
    finished.finish();
    assert_eq!(
        finished.pvcs.len(),
        NAMESPACES * STATEFULSETS_PER_NAMESPACE * REPLICAS
    );
    assert_eq!(
        finished.pods.len(),
        NAMESPACES * STATEFULSETS_PER_NAMESPACE * REPLICAS
    );
    let verdicts = CoverageIndex::build(Arc::clone(&policy), finished).evaluate_all();
    assert_eq!(
        verdicts.len(),
        NAMESPACES * (STATEFULSETS_PER_NAMESPACE * REPLICAS + 1),
        "every object is protected"
    );
}

criterion_group!(benches, evaluate, evaluate_controllers);
criterion_main!(benches);
