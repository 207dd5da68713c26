//! The live run's real world (`run::real`) against stand-ins that behave as the real things
//! do: the Kubernetes calls against the mocked API server answering with captured real
//! answers (`fixtures/apiserver-captures/`, each test names the capture and exchange), and
//! kind against a fake executable on PATH that records its argv.
#![allow(clippy::unwrap_used)]

#[path = "support/apiserver.rs"]
mod apiserver;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use apiserver::{Answer, MockApiServer, captured};
use backstop_chaos::error::{EXIT_INFRASTRUCTURE, Error};
use backstop_chaos::ledger::{chain, encode_all};
use backstop_chaos::run::progress::Progress;
use backstop_chaos::run::real::{Cluster, RealWorld};
use backstop_chaos::run::rundir::RunDir;
use backstop_chaos::run::world::World;
use backstop_chaos::run::{Config, Timeouts, ledger_proxy, run};
use backstop_chaos::timeline::Phase;

const NS: &str = "backstop-chaos";

fn scenario_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios/namespace-loss.yaml")
}

fn world(dir: &Path, path: Option<OsString>) -> RealWorld {
    let scenario = backstop_chaos::scenario::load(&scenario_path()).unwrap();
    RealWorld::new(
        scenario,
        42,
        RunDir::create(dir).unwrap(),
        Cluster::Kind {
            name: "backstop-namespace-loss-0000002a".into(),
        },
        "backstop-chaos:dev".into(),
        path,
    )
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
    let world = world(dir.path(), None).with_clients(client, no_retry(addr));
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
    let world = world(dir.path(), None).with_clients(client, no_retry(addr));
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
    let world = world(dir.path(), None).with_clients(client, no_retry(addr));
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
async fn a_missing_restored_pod_is_the_api_server_s_not_found() {
    // Capture 20, exchange 6: GET of a pod that does not exist is a 404 JSON Status.
    let mock = MockApiServer::new().on(
        "GET",
        &format!("/api/v1/namespaces/{NS}/pods/ledger-0"),
        captured("20-pod-create-without-default-serviceaccount", 6),
    );
    let (client, addr) = mock.start().await;
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path(), None).with_clients(client, no_retry(addr));
    let err = world
        .read_restored_ledger(Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Kube { .. }), "{err}");
    assert!(
        err.to_string().contains("get pod backstop-chaos/ledger-0"),
        "{err}"
    );
}

/// A PATH with a fake `kind` that records its argv (one per line, then `--`) and, for
/// `create cluster`, writes the kubeconfig it is given pointing at `server`.
fn fake_kind(dir: &Path, server: &str) -> (OsString, PathBuf) {
    let record = dir.join("argv.log");
    let context = "kind-backstop-namespace-loss-0000002a";
    let script = format!(
        "#!/bin/sh
printf '%s\\n' kind \"$@\" -- >> '{record}'
case \"$1 $2\" in
  'get clusters') exit 0 ;;
  'create cluster')
    while [ $# -gt 0 ]; do
      if [ \"$1\" = --kubeconfig ]; then kc=$2; fi
      shift
    done
    cat > \"$kc\" <<'KUBECONFIG'
apiVersion: v1
kind: Config
clusters: [{{name: {context}, cluster: {{server: '{server}'}}}}]
users: [{{name: {context}, user: {{}}}}]
contexts: [{{name: {context}, context: {{cluster: {context}, user: {context}}}}}]
current-context: {context}
KUBECONFIG
    ;;
  'version '*) echo 'kind v0.29.0 go1.24.2 linux/amd64' ;;
esac
",
        record = record.display()
    );
    let path = dir.join("kind");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut search = dir.as_os_str().to_owned();
    search.push(":/usr/bin:/bin");
    (search, record)
}

fn invocations(record: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(record)
        .unwrap_or_default()
        .split("--\n")
        .filter(|s| !s.is_empty())
        .map(|s| s.lines().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn a_kind_run_creates_its_own_cluster_stops_at_the_unbuilt_store_and_deletes_the_cluster() {
    let mock = MockApiServer::new();
    let (_, addr) = mock.start().await;
    let bin = tempfile::tempdir().unwrap();
    let (path, record) = fake_kind(bin.path(), &format!("http://{addr}"));
    let out = tempfile::tempdir().unwrap();
    let dir = RunDir::create(out.path()).unwrap();
    let world = world(out.path(), Some(path));
    let config = Config {
        scenario: backstop_chaos::scenario::load(&scenario_path()).unwrap(),
        scenario_file: scenario_path(),
        seed: 42,
        keep: false,
        timeouts: Timeouts {
            provision: Duration::from_secs(20),
            teardown: Duration::from_secs(20),
            ..Timeouts::default()
        },
        poll_interval: Duration::from_secs(1),
    };
    let progress = Progress::new(Box::new(std::io::sink()), false);
    let err = run(&world, &config, &dir, &progress, std::future::pending())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotImplemented(_)), "{err}");
    assert!(err.to_string().contains("MinIO"), "{err}");

    let kubeconfig = out.path().join("kubeconfig").display().to_string();
    let config_file = out.path().join("kind.yaml").display().to_string();
    let argv = invocations(&record);
    let firsts: Vec<&str> = argv.iter().map(|a| a[1].as_str()).collect();
    assert_eq!(firsts, ["get", "version", "create", "delete"], "{argv:?}");
    assert_eq!(
        argv[2][1..],
        [
            "create",
            "cluster",
            "--name",
            "backstop-namespace-loss-0000002a",
            "--image",
            "kindest/node:v1.33.1",
            "--config",
            &config_file,
            "--kubeconfig",
            &kubeconfig,
            "--wait",
            "5m"
        ]
    );
    assert_eq!(
        argv[3][1..],
        [
            "delete",
            "cluster",
            "--name",
            "backstop-namespace-loss-0000002a",
            "--kubeconfig",
            &kubeconfig
        ]
    );
    let kind_config = std::fs::read_to_string(out.path().join("kind.yaml")).unwrap();
    assert_eq!(kind_config.matches("role: worker").count(), 2);
    // Every command is in commands.log; the partial result says how far the run got.
    let log = std::fs::read_to_string(out.path().join("commands.log")).unwrap();
    assert_eq!(log.lines().count(), 4);
    let result = backstop_chaos::result::load(&out.path().join("result.json")).unwrap();
    let phases: Vec<Phase> = result.phases.iter().map(|p| p.phase).collect();
    assert_eq!(phases, [Phase::Teardown]);
    assert_eq!(result.versions.kind, "");
}
