//! The MinIO container of a kind run: the `docker` argv against fake executables that record
//! them, and the bucket created through S3 against a real S3 server (moto, started on
//! 127.0.0.1 as in store_moto.rs; `.ci/run` names it in `BACKSTOP_MOTO_SERVER`) standing in
//! for MinIO at the port Docker published.
#![allow(clippy::unwrap_used)] // test helpers, outside #[test] functions, may unwrap

#[path = "support/fake_tools.rs"]
mod fake_tools;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use backstop_chaos::error::{EXIT_BAD_INPUT, EXIT_INFRASTRUCTURE};
use backstop_chaos::minio::{self, Spec};
use fake_tools::FakeTools;

struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let program = std::env::var_os("BACKSTOP_MOTO_SERVER").unwrap_or_else(|| "moto_server".into());
    let child = Command::new(&program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("moto_server could not be started ({e}): pip install 'moto[server]'")
        });
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Moto { child, port }
}

fn spec() -> Spec {
    Spec {
        container: minio::container_name("backstop-namespace-loss-0000002a"),
        image: "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z".into(),
        network: minio::KIND_NETWORK.into(),
        run_id: "run-1".into(),
    }
}

/// A fake docker answering as Docker does: `run` prints the container id, `inspect` the
/// address on the network, `port` the published host address.
fn docker_publishing(port: u16) -> FakeTools {
    FakeTools::new().tool(
        "docker",
        &format!(
            "case \"$1\" in\n  run) echo 4f1c0ffee ;;\n  inspect) echo 172.18.0.5 ;;\n  \
             port) echo 127.0.0.1:{port} ;;\nesac"
        ),
    )
}

#[tokio::test]
async fn minio_starts_on_the_kind_network_with_secrets_kept_out_of_argv() {
    let moto = moto();
    let tools = docker_publishing(moto.port);
    let run = tempfile::tempdir().unwrap();
    let runner = tools.runner(&run.path().join("commands.log"));
    let credentials = minio::generate_credentials().unwrap();
    let env_file = minio::write_env_file(run.path(), &credentials).unwrap();
    let started = minio::start(&runner, &spec(), &env_file, &credentials).unwrap();

    assert_eq!(started.cluster_endpoint, "http://172.18.0.5:9000");
    assert_eq!(
        started.harness_endpoint,
        format!("http://127.0.0.1:{}", moto.port)
    );
    let calls = tools.invocations();
    assert_eq!(
        calls[0],
        [
            "docker",
            "run",
            "--detach",
            "--name",
            "backstop-namespace-loss-0000002a-minio",
            "--network",
            "kind",
            "--publish",
            "127.0.0.1::9000",
            "--env-file",
            &env_file.display().to_string(),
            "--label",
            "backstop.io/chaos-run=run-1",
            "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z",
            "server",
            "/data",
        ]
    );
    assert_eq!(
        calls[2],
        [
            "docker",
            "port",
            "backstop-namespace-loss-0000002a-minio",
            "9000/tcp"
        ]
    );
    let log = std::fs::read_to_string(run.path().join("commands.log")).unwrap();
    assert!(
        !log.contains(&credentials.secret_key),
        "the secret never reaches commands.log"
    );
    let env = std::fs::read_to_string(&env_file).unwrap();
    assert!(env.contains(&format!("MINIO_ROOT_PASSWORD={}", credentials.secret_key)));

    // The bucket goes through the S3 API at the published port (moto standing in for MinIO,
    // which takes any access keys as moto does).
    let store = minio::create_bucket(&started, "backstop").await.unwrap();
    store.put("probe", b"x".to_vec()).await.unwrap();
    assert_eq!(store.list("").await.unwrap().len(), 1);
}

#[test]
fn generated_credentials_differ_per_run() {
    let a = minio::generate_credentials().unwrap();
    let b = minio::generate_credentials().unwrap();
    assert_ne!(a.secret_key, b.secret_key);
    assert_eq!(a.secret_key.len(), 48);
    assert!(
        !format!("{a:?}").contains(&a.secret_key),
        "Debug redacts the secret"
    );
}

#[test]
fn a_container_name_in_use_is_refused_before_anything_starts() {
    let tools = FakeTools::new().tool("docker", "echo backstop-namespace-loss-0000002a-minio");
    let run = tempfile::tempdir().unwrap();
    let runner = tools.runner(&run.path().join("commands.log"));
    let err = minio::ensure_unused(&runner, &spec().container).unwrap_err();
    assert_eq!(err.exit_code(), EXIT_BAD_INPUT);
    assert!(err.to_string().contains("exists already"), "{err}");
    assert_eq!(tools.invocations().len(), 1, "only the listing ran");
    assert_eq!(
        tools.invocations()[0][4],
        "name=^backstop-namespace-loss-0000002a-minio$"
    );
}

#[test]
fn a_container_off_the_network_is_an_infrastructure_failure() {
    let tools = FakeTools::new().tool(
        "docker",
        "case \"$1\" in run) echo id ;; inspect) echo ;; esac",
    );
    let run = tempfile::tempdir().unwrap();
    let runner = tools.runner(&run.path().join("commands.log"));
    let credentials = minio::generate_credentials().unwrap();
    let env_file = minio::write_env_file(run.path(), &credentials).unwrap();
    let err = minio::start(&runner, &spec(), &env_file, &credentials).unwrap_err();
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    assert!(err.to_string().contains("gave no address"), "{err}");
}

#[test]
fn removing_a_container_that_is_gone_is_not_an_error_but_a_daemon_failure_is() {
    let gone = FakeTools::new().tool(
        "docker",
        "echo 'Error response from daemon: No such container: x' >&2; exit 1",
    );
    let run = tempfile::tempdir().unwrap();
    minio::remove(&gone.runner(&run.path().join("a.log")), "x").unwrap();
    assert_eq!(
        gone.invocations()[0],
        ["docker", "rm", "--force", "--volumes", "x"]
    );
    let down = FakeTools::new().tool(
        "docker",
        "echo 'Cannot connect to the Docker daemon' >&2; exit 1",
    );
    let err = minio::remove(&down.runner(&run.path().join("b.log")), "x").unwrap_err();
    assert!(err.to_string().contains("Cannot connect"), "{err}");
}

#[tokio::test]
async fn a_minio_that_never_gets_ready_times_out_naming_the_last_answer() {
    // The readiness endpoint answering 503, as MinIO's /minio/health/ready does while starting.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/minio/health/ready",
        axum::routing::get(|| async { http::StatusCode::SERVICE_UNAVAILABLE }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let started = minio::Minio {
        container: "m".into(),
        credentials: minio::generate_credentials().unwrap(),
        cluster_endpoint: String::new(),
        harness_endpoint: format!("http://{addr}"),
    };
    let err = minio::wait_ready(&started, Duration::from_millis(700))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    let text = err.to_string();
    assert!(text.contains("MinIO m to be ready"), "{text}");
    assert!(text.contains("last seen: HTTP 503"), "{text}");
}

#[tokio::test]
async fn a_ready_minio_ends_the_wait_at_once() {
    // The readiness endpoint answering 200, as MinIO's /minio/health/ready does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/minio/health/ready", axum::routing::get(|| async { "" }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let started = minio::Minio {
        container: "m".into(),
        credentials: minio::generate_credentials().unwrap(),
        cluster_endpoint: String::new(),
        harness_endpoint: format!("http://{addr}"),
    };
    minio::wait_ready(&started, Duration::from_secs(5))
        .await
        .unwrap();
}
