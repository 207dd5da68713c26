//! The live run's real world (`run::real`) against stand-ins that behave as the real things
//! do: the Kubernetes calls against the mocked API server answering with captured real
//! answers (`fixtures/apiserver-captures/`, each test names the capture and exchange). The
//! whole run against a fake world is `run_live_fakes.rs`.
#![allow(clippy::unwrap_used)]

#[path = "support/apiserver.rs"]
mod apiserver;

use std::path::{Path, PathBuf};
use std::time::Duration;

use apiserver::{Answer, MockApiServer, captured};
use backstop_chaos::error::EXIT_INFRASTRUCTURE;
use backstop_chaos::kube::ledger_proxy;
use backstop_chaos::ledger::{chain, encode_all};
use backstop_chaos::run::real::{Cluster, LedgerImage, RealWorld, Setup};
use backstop_chaos::run::rundir::RunDir;
use backstop_chaos::run::world::World;

const NS: &str = "backstop-chaos";

fn scenario_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios/namespace-loss.yaml")
}

fn world(dir: &Path) -> RealWorld {
    let scenario = backstop_chaos::scenario::load(&scenario_path()).unwrap();
    RealWorld::new(Setup {
        scenario,
        seed: 42,
        dir: RunDir::create(dir).unwrap(),
        cluster: Cluster::Kind {
            name: "backstop-namespace-loss-0000002a".into(),
        },
        image: LedgerImage::Given("backstop-chaos:dev".into()),
        workloads: Vec::new(),
        path: None,
    })
    .unwrap()
}

/// A client for the mock that does not retry (as the run's ledger client).
fn no_retry(addr: std::net::SocketAddr) -> kube::Client {
    let mut config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    config.default_retry = false;
    kube::Client::try_from(config).unwrap()
}

fn ok_json(body: String) -> Answer {
    Answer {
        status: 200,
        content_type: Some("application/json".into()),
        body,
        events: None,
    }
}

#[tokio::test]
async fn get_last_goes_through_the_service_proxy_and_reads_the_writer_s_answer() {
    // Through the proxy, the API server passes the writer's own answer through: the body
    // is what the writer's /last handler serializes (ledger::server::Last).
    let writer_answer = serde_json::to_string(&backstop_chaos::ledger::server::Last {
        seq: 812,
        unix_nanos: 1_750_000_812_000_000_000,
    })
    .unwrap();
    let mock = MockApiServer::new().on(
        "GET",
        &ledger_proxy::proxy_path(NS, "last"),
        ok_json(writer_answer),
    );
    let (client, addr) = mock.start().await;
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).with_clients(client, no_retry(addr));
    let last = world.ledger_last().await.unwrap();
    assert_eq!(
        (last.seq, last.unix_nanos),
        (812, 1_750_000_812_000_000_000)
    );
    assert_eq!(
        mock.requests(),
        ["GET /api/v1/namespaces/backstop-chaos/services/ledger:http/proxy/last?"]
    );
}

#[tokio::test]
async fn a_proxy_with_no_endpoints_is_an_error_carrying_the_api_server_s_words() {
    // Capture 18, exchange 7: the proxy's 503 ServiceUnavailable when the Service has no
    // ready endpoints (the writer's pod is gone), as a JSON Status.
    let mock = MockApiServer::new().on(
        "GET",
        &ledger_proxy::proxy_path(NS, "last"),
        captured("18-service-proxy-no-endpoints", 7),
    );
    let (client, addr) = mock.start().await;
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).with_clients(client, no_retry(addr));
    let err = world.ledger_last().await.unwrap_err();
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    let text = err.to_string();
    assert!(text.contains("HTTP 503"), "{text}");
    assert!(
        text.contains("no endpoints available for service"),
        "{text}"
    );
}

#[tokio::test]
async fn the_restored_ledger_is_read_by_the_restored_pod_s_uid() {
    // Capture 20, exchange 4: a Pod as the API server stores it (the 201 of its create is
    // the object a GET answers), with its server-assigned uid.
    let pod = captured("20-pod-create-without-default-serviceaccount", 4);
    let uid = serde_json::from_str::<serde_json::Value>(&pod.body).unwrap()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let ledger = encode_all(&chain(5, 1_000, 1_000));
    // /found-at-start/<id> serves the evidence file's bytes (application/octet-stream).
    let evidence = Answer {
        status: 200,
        content_type: Some("application/octet-stream".into()),
        body: String::from_utf8_lossy(&ledger).into_owned(),
        events: None,
    };
    let mock = MockApiServer::new()
        .on(
            "GET",
            &format!("/api/v1/namespaces/{NS}/pods/ledger-0"),
            pod,
        )
        .on(
            "GET",
            &ledger_proxy::proxy_path(NS, &format!("found-at-start/{uid}")),
            evidence.clone(),
        );
    let (client, addr) = mock.start().await;
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).with_clients(client, no_retry(addr));
    let bytes = world
        .read_restored_ledger(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(bytes, evidence.body.as_bytes());
    assert!(
        mock.requests()
            .iter()
            .any(|r| r.contains(&format!("/proxy/found-at-start/{uid}"))),
        "{:?}",
        mock.requests()
    );
}

#[tokio::test]
async fn a_missing_restored_pod_is_said_plainly() {
    // Capture 20, exchange 6: GET of a pod that does not exist is a 404 JSON Status.
    let mock = MockApiServer::new().on(
        "GET",
        &format!("/api/v1/namespaces/{NS}/pods/ledger-0"),
        captured("20-pod-create-without-default-serviceaccount", 6),
    );
    let (client, addr) = mock.start().await;
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).with_clients(client, no_retry(addr));
    let err = world
        .read_restored_ledger(Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    assert!(
        err.to_string().contains("no pod backstop-chaos/ledger-0"),
        "{err}"
    );
}

#[tokio::test]
async fn the_bytes_as_restored_are_read_by_the_restored_pod_s_uid_even_after_it_was_replaced() {
    // Capture 10: the Restore `restore-watch` listed (exchange 0), then watched to Completed
    // (exchange 1). Capture 20, exchange 4: the pod Velero restored, with its uid; afterwards
    // the pod is a new one (re-created: another uid), whose own start found the ledger with
    // its predecessor's appends in it.
    let restored = captured("20-pod-create-without-default-serviceaccount", 4);
    let first_uid = serde_json::from_str::<serde_json::Value>(&restored.body).unwrap()["metadata"]
        ["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut replaced = restored.clone();
    replaced.body = restored
        .body
        .replace(&first_uid, "5d0c0a11-1111-4222-8333-944455556666");
    let as_restored = encode_all(&chain(5, 1_000, 1_000));
    let evidence = Answer {
        status: 200,
        content_type: Some("application/octet-stream".into()),
        body: String::from_utf8_lossy(&as_restored).into_owned(),
        events: None,
    };
    let restores = "/apis/velero.io/v1/namespaces/velero/restores";
    let mock = MockApiServer::new()
        .on(
            "GET",
            restores,
            captured("10-restore-watch-lifecycle-status-patch-bookmark", 0),
        )
        .on_watch(
            restores,
            captured("10-restore-watch-lifecycle-status-patch-bookmark", 1),
        )
        .once(
            "GET",
            &format!("/api/v1/namespaces/{NS}/pods/ledger-0"),
            restored,
        )
        .on(
            "GET",
            &format!("/api/v1/namespaces/{NS}/pods/ledger-0"),
            replaced,
        )
        .on(
            "GET",
            &ledger_proxy::proxy_path(NS, &format!("found-at-start/{first_uid}")),
            evidence.clone(),
        );
    let (client, addr) = mock.start().await;
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).with_clients(client, no_retry(addr));
    let outcome = world
        .wait_restore(
            "restore-watch",
            "daily-20261203020000",
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.warnings.len(),
        3,
        "capture 10's Completed carries 3 warnings"
    );
    let bytes = world
        .read_restored_ledger(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(bytes, evidence.body.as_bytes());
}
