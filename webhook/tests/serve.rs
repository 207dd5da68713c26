//! `backstop-webhook serve` end to end: the real binary with `--dev` over the bundled platform
//! fixtures, answering reviews over HTTPS, exposing metrics, and stopping cleanly on SIGTERM.

// Test code: a failed unwrap is a failed test (clippy only exempts #[test] functions).
#![allow(clippy::unwrap_used)]

#[path = "support/client.rs"]
mod client;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain-HTTP GET (the probe listener): status and body.
fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

struct Server {
    child: Child,
    https: SocketAddr,
    probes: SocketAddr,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let https: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let probes: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_backstop-webhook"))
            .current_dir(repo())
            .args(["serve", "--dev", "--dev-ca-out"])
            .arg(&ca)
            .args([
                "--schedules-from",
                "fixtures/platform",
                "--policy",
                "fixtures/policy/platform.yaml",
                "--listen",
                &https.to_string(),
                "--probe-listen",
                &probes.to_string(),
            ])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Self {
            child,
            https,
            probes,
            ca,
            _dir: dir,
        }
    }

    fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            if let Some((200, _)) = get(self.probes, "/readyz") {
                return;
            }
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "the server exited before becoming ready"
            );
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "not ready after 15 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "still running 15 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fixture(name: &str) -> (Vec<u8>, String) {
    let body = std::fs::read(repo().join("fixtures/admission").join(name)).unwrap();
    let review: Value = serde_json::from_slice(&body).unwrap();
    let uid = review["request"]["uid"].as_str().unwrap().to_string();
    (body, uid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_server_answers_reviews_exposes_metrics_and_stops_on_sigterm() {
    let mut server = Server::start();
    server.wait_ready();
    assert_eq!(get(server.probes, "/healthz").unwrap().0, 200);

    let ca = std::fs::read_to_string(&server.ca).unwrap();
    let connector = client::connector(&ca, &[&rustls::version::TLS13, &rustls::version::TLS12]);
    let mut connection = client::connect(&connector, server.https).await.unwrap();

    // A protected namespace without its tier: mutate patches it, validate denies it (the
    // platform's hourly schedule cannot meet the critical tier's 15-minute RPO).
    let (body, uid) = fixture("namespace-create-protected-missing-tier.json");
    let (status, answer) = connection.post("/mutate?timeout=10s", &body).await.unwrap();
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(answer["response"]["uid"], uid.as_str());
    assert_eq!(answer["response"]["patchType"], "JSONPatch", "{answer}");
    let (status, answer) = connection
        .post("/validate?timeout=10s", &body)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["response"]["uid"], uid.as_str());
    assert_eq!(answer["response"]["allowed"], false, "{answer}");

    // An unprotected namespace is allowed, on the same keep-alive connection.
    let (body, uid) = fixture("namespace-create-unprotected.json");
    let (status, answer) = connection
        .post("/validate?timeout=10s", &body)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["response"]["uid"], uid.as_str());
    assert_eq!(answer["response"]["allowed"], true, "{answer}");

    let (status, metrics) = get(server.probes, "/metrics").unwrap();
    assert_eq!(status, 200);
    for expected in [
        "backstop_admission_duration_seconds_bucket{le=\"0.0005\",endpoint=\"validate\"",
        "backstop_admission_decisions_total{endpoint=\"validate\",kind=\"Namespace\",operation=\"CREATE\",verdict=\"denied\"} 1",
        "backstop_cache_synced{resource=\"schedules\"} 1",
        "backstop_cache_objects{resource=\"schedules\"} 3",
        "backstop_rpo_breach_objects{kind=\"Namespace\",tier=\"critical\"} 4",
        "backstop_tls_reloads_total{result=\"error\"} 0",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in\n{metrics}"
        );
    }

    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn a_missing_policy_file_is_a_configuration_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_backstop-webhook"))
        .current_dir(repo())
        .args([
            "serve",
            "--dev",
            "--policy",
            "fixtures/policy/does-not-exist.yaml",
            "--listen",
            "127.0.0.1:0",
            "--probe-listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("does-not-exist.yaml"));
}

#[test]
fn a_bad_certificate_pair_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\ngarbage\n").unwrap();
    std::fs::write(&key, "").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_backstop-webhook"))
        .current_dir(repo())
        .args(["serve", "--policy", "fixtures/policy/platform.yaml"])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .args(["--listen", "127.0.0.1:0", "--probe-listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}
