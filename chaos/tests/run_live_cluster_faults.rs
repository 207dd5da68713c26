//! The cluster-level faults' live code end to end against the fake outside world
//! (`support/fake_cluster.rs`: a stateful mocked API server answering in captured shapes, fake
//! kind/docker/velero/kubectl recording their argv, moto standing in for MinIO), in process
//! through the engine. Scenarios strike 2 s after steady writes
//! (`fixtures/chaos/run/scenarios/*-after-2s.yaml`).
//!
//! The Node, claim and volume bodies are `fixtures/chaos/faults/` (no capture holds one); the
//! Pod is capture 20 (exchange 4 as stored, exchange 5 as a DELETE answers it), a namespace
//! DELETE capture 15 exchange 1, lists framed as captures 10 and 13 frame them.
#![allow(clippy::unwrap_used)]

#[path = "support/apiserver.rs"]
mod apiserver;
#[path = "support/fake_cluster.rs"]
mod fake_cluster;
#[path = "support/fake_tools.rs"]
mod fake_tools;
#[path = "support/live_run.rs"]
mod live_run;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/velero_store.rs"]
mod velero_store;

use backstop_chaos::fault::fallback::Unrestorable;
use backstop_chaos::fault::report::CorruptionFinding;
use backstop_chaos::outcome::RestorePhase;
use backstop_chaos::store::Store;
use backstop_chaos::timeline::Phase;
use backstop_chaos::verdict::Verdict;
use fake_cluster::{BUCKET, NS, STORAGE_LOSS_SCHEDULE, SURVIVING_WORKER, VOLUME, WORKER};
use live_run::{invocation, run_in_process, run_in_process_with};

fn bucket(ran: &live_run::Ran) -> Store {
    Store::new(&ran.moto.endpoint, BUCKET, "us-east-1", "k", "s").unwrap()
}

/// Whether `argv` starts with `words`.
fn starts(argv: &[String], words: &[&str]) -> bool {
    argv.len() >= words.len() && argv.iter().zip(words).all(|(a, w)| a == w)
}

fn phases(result: &backstop_chaos::result::RunResult) -> Vec<Phase> {
    result.phases.iter().map(|p| p.phase).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_loss_stops_the_ledger_s_worker_clears_what_is_pinned_to_it_and_restores_elsewhere() {
    let ran = run_in_process("node-loss").await;
    let result = &ran.result;
    assert_eq!(result.verdict, Verdict::Pass, "{:#?}", result.checks);
    assert!(phases(result).contains(&Phase::Detect));
    assert!(!phases(result).contains(&Phase::Reprovision));

    // The container stopped is the one the Node's kind provider ID names.
    let calls = ran.tools.invocations();
    assert_eq!(
        invocation(&calls, &["docker", "stop"]),
        &["docker", "stop", WORKER]
    );
    let node = result.fault.as_ref().unwrap().node.clone().unwrap();
    assert_eq!(node.node, WORKER);
    assert_eq!(node.container, WORKER);
    assert_eq!(
        node.seen_dead,
        "Ready=Unknown (NodeStatusUnknown: Kubelet stopped posting node status.)"
    );
    assert_eq!(node.force_removed.volume.as_deref(), Some(VOLUME));
    assert_eq!(node.force_removed.claim, "backstop-chaos/data-ledger-0");
    assert_eq!(node.restored_on.as_deref(), Some(SURVIVING_WORKER));

    // Pod (grace 0), claim and pinned volume go before the namespace; the Restore after.
    let requests = ran.cluster.server.requests();
    let at = |needle: &str| {
        requests
            .iter()
            .position(|r| r.starts_with(needle))
            .unwrap_or_else(|| panic!("no {needle}: {requests:#?}"))
    };
    let pod = at("DELETE /api/v1/namespaces/backstop-chaos/pods/ledger-0");
    let claim = at("DELETE /api/v1/namespaces/backstop-chaos/persistentvolumeclaims/data-ledger-0");
    let volume = at(&format!("DELETE /api/v1/persistentvolumes/{VOLUME}"));
    let namespace = at("DELETE /api/v1/namespaces/backstop-chaos?");
    let restore = at("POST /apis/velero.io/v1/namespaces/velero/restores");
    assert!(pod < claim && claim < volume && volume < namespace && namespace < restore);
    let (_, body) = ran
        .cluster
        .server
        .bodies()
        .into_iter()
        .find(|(r, _)| r.starts_with("DELETE /api/v1/namespaces/backstop-chaos/pods/ledger-0"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["gracePeriodSeconds"], 0, "{body}");

    // The data came back whole.
    let backed_up = ran.cluster.state.lock().unwrap().backup.unwrap();
    assert_eq!(result.ledger.newest_valid_seq, Some(backed_up));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_loss_rebuilds_the_cluster_on_the_same_bucket_and_restores_every_namespace() {
    let ran = run_in_process("cluster-loss").await;
    let result = &ran.result;
    assert_eq!(result.verdict, Verdict::Pass, "{:#?}", result.checks);
    assert!(phases(result).contains(&Phase::Reprovision));

    let calls = ran.tools.invocations();
    let kind: Vec<&Vec<String>> = calls
        .iter()
        .filter(|c| c[0] == "kind" && c.get(2).is_some_and(|w| w == "cluster"))
        .collect();
    let words: Vec<String> = kind.iter().map(|c| c[1].clone()).collect();
    assert_eq!(
        words,
        ["create", "delete", "create", "delete"],
        "the lost cluster deleted, a new one made, and removed at teardown"
    );
    let loads = calls
        .iter()
        .filter(|c| starts(c, &["kind", "load", "docker-image"]))
        .count();
    assert_eq!(
        loads, 2,
        "the ledger image is loaded into the new cluster too"
    );
    let installs: Vec<&Vec<String>> = calls
        .iter()
        .filter(|c| starts(c, &["velero", "install"]))
        .collect();
    assert_eq!(installs.len(), 2);
    let flag = |argv: &Vec<String>, name: &str| {
        argv[argv.iter().position(|a| a == name).unwrap() + 1].clone()
    };
    for name in ["--bucket", "--backup-location-config"] {
        assert_eq!(
            flag(installs[0], name),
            flag(installs[1], name),
            "Velero in the new cluster uses the same bucket: {name}"
        );
    }
    // The MinIO container outside the cluster is removed only at teardown.
    let store_removed = calls
        .iter()
        .position(|c| starts(c, &["docker", "rm"]))
        .unwrap();
    let second_install = calls
        .iter()
        .rposition(|c| starts(c, &["velero", "install"]))
        .unwrap();
    assert!(store_removed > second_install);

    let restore = result.restore.as_ref().unwrap();
    let fault = result.fault.as_ref().unwrap();
    let new_cluster = fault.new_cluster.as_ref().unwrap();
    assert_eq!(new_cluster.synced_backup, restore.backup);
    assert_eq!(new_cluster.cluster, "backstop-cluster-loss-0000002a");
    let requests = ran.cluster.server.requests();
    assert!(
        requests.iter().any(
            |r| r.starts_with("GET /apis/velero.io/v1/namespaces/velero/backups?")
                && r.contains(&format!("fieldSelector=metadata.name%3D{}", restore.backup))
        ),
        "the sync is watched for the backup by name: {requests:#?}"
    );
    // The Restore of everything: no includedNamespaces.
    let (_, sent) = ran
        .cluster
        .posted()
        .into_iter()
        .rfind(|(r, _)| r.contains("/restores?"))
        .unwrap();
    assert_eq!(sent["spec"]["backupName"], restore.backup.as_str());
    assert!(sent["spec"].get("includedNamespaces").is_none(), "{sent}");
    let backed_up = ran.cluster.state.lock().unwrap().backup.unwrap();
    assert_eq!(result.ledger.newest_valid_seq, Some(backed_up));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_loss_deletes_exactly_the_newest_backup_and_falls_back_to_the_one_before() {
    let ran = run_in_process_with("storage-loss", |state| state.second_backup = true).await;
    let result = &ran.result;
    let (first, newest) = {
        let state = ran.cluster.state.lock().unwrap();
        (state.taken[0].clone(), state.taken[1].clone())
    };
    assert_eq!(
        first.name,
        format!("{STORAGE_LOSS_SCHEDULE}-20261203121600")
    );
    assert_eq!(
        newest.name,
        format!("{STORAGE_LOSS_SCHEDULE}-20261203122100")
    );
    assert!(first.records < newest.records, "{first:?} {newest:?}");

    // Exactly the newest backup's folder is gone from the store; the older backup and the
    // repository are untouched.
    let fault = result.fault.as_ref().unwrap();
    let deleted = fault.deleted_backup.as_ref().unwrap();
    let mut keys: Vec<String> = deleted.objects.iter().map(|o| o.key.clone()).collect();
    keys.sort();
    let mut written = velero_store::backup_files(&newest.name);
    written.push(format!("backups/{}/velero-backup.json", newest.name));
    written.sort();
    assert_eq!(keys, written);
    let left = velero_store::snapshot(&bucket(&ran)).await;
    assert!(
        !left
            .keys()
            .any(|k| k.starts_with(&format!("backups/{}/", newest.name)))
    );
    for key in velero_store::backup_files(&first.name) {
        assert!(left.contains_key(&key), "{key} kept");
    }
    for (key, bytes) in velero_store::kopia_repository(NS) {
        assert_eq!(left.get(&key), Some(&bytes), "{key} untouched");
    }

    // Velero showed the loss as a failed Restore of it; the run fell back and restored the
    // older backup, and the RPO is that backup's data.
    let fallback = fault.fallback.as_ref().unwrap();
    assert_eq!(fallback.lost.name, newest.name);
    match &fallback.unrestorable {
        Unrestorable::RestoreFailed {
            restore,
            phase,
            reason,
        } => {
            assert_eq!(restore, &format!("{STORAGE_LOSS_SCHEDULE}-newest"));
            assert_eq!(*phase, RestorePhase::Failed);
            assert!(reason.starts_with("error downloading backup: "), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fallback.restored_from.as_ref().map(|b| b.name.as_str()),
        Some(first.name.as_str()),
        "{}",
        fallback.explain()
    );
    let restore = result.restore.as_ref().unwrap();
    assert_eq!(restore.backup, first.name);
    assert_eq!(restore.phase, RestorePhase::Completed);
    assert_eq!(result.ledger.newest_valid_seq, Some(first.records));
    assert_eq!(result.rpo.newest_surviving_seq, Some(first.records));
    assert_eq!(result.verdict, Verdict::Pass, "{:#?}", result.checks);
    let backup_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ran.out.path().join("backup.json")).unwrap())
            .unwrap();
    assert_eq!(backup_json["restored"]["name"], first.name.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_repository_alters_exactly_its_data_packs_and_the_failed_restore_fails_the_run()
{
    let ran = run_in_process("repository-corruption").await;
    let result = &ran.result;
    assert_eq!(result.verdict, Verdict::Fail);

    // Every data pack (p*) inverted byte for byte, nothing else of the store touched.
    let left = velero_store::snapshot(&bucket(&ran)).await;
    let fault = result.fault.as_ref().unwrap();
    let corrupted = fault.corrupted_repository.as_ref().unwrap();
    let mut altered: Vec<String> = corrupted.altered.iter().map(|a| a.key.clone()).collect();
    altered.sort();
    let mut packs = Vec::new();
    for (key, bytes) in velero_store::kopia_repository(NS) {
        let blob = key.rsplit('/').next().unwrap();
        if blob.starts_with('p') {
            let inverted: Vec<u8> = bytes.iter().map(|b| !b).collect();
            assert_eq!(left.get(&key), Some(&inverted), "{key} inverted");
            packs.push(key);
        } else {
            assert_eq!(left.get(&key), Some(&bytes), "{key} untouched");
        }
    }
    packs.sort();
    assert_eq!(altered, packs);
    let first = ran.cluster.state.lock().unwrap().taken[0].clone();
    for key in velero_store::backup_files(&first.name) {
        assert!(left.contains_key(&key), "{key} kept");
    }

    // The restore read the damaged packs and did not complete: the finding, with Velero's words.
    let restore = result.restore.as_ref().unwrap();
    assert_eq!(restore.phase, RestorePhase::PartiallyFailed);
    match fault.corruption_finding.as_ref().unwrap() {
        CorruptionFinding::RestoreFailed { phase, errors } => {
            assert_eq!(*phase, RestorePhase::PartiallyFailed);
            assert!(
                errors
                    .iter()
                    .any(|e| e.contains("pod volume restore failed")),
                "{errors:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !result.phases.iter().any(|p| p.phase == Phase::PodsReady),
        "no wait for pods whose volume data never comes"
    );
    assert!(ran.out.path().join("diagnostics").is_dir());
}
