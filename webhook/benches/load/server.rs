//! What the load and soak benchmarks share to run a server process: free loopback ports, the
//! review mix read from the fixtures, starting `backstop-webhook serve` and waiting for
//! `/readyz`, and reading the process's memory and CPU from `/proc`. A server is killed when
//! dropped, after a panic too.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::drive::Review;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The reviews of `mix` (endpoint, fixture name under `fixtures/admission/`), sent with the
/// apiserver's default `?timeout=10s`.
pub fn reviews(mix: &[(&str, &str)]) -> Arc<Vec<Review>> {
    Arc::new(
        mix.iter()
            .map(|(endpoint, name)| Review {
                path: format!("/{endpoint}?timeout=10s"),
                body: std::fs::read(repo().join(format!("fixtures/admission/{name}.json")))
                    .unwrap(),
            })
            .collect(),
    )
}

/// `(VmRSS, VmHWM)` of process `pid` in KiB (0 once it is gone).
pub fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// The CA certificate (PEM) that signed the serving certificate.
    pub ca: PathBuf,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn rss_kib(&self) -> (u64, u64) {
        rss_kib(self.pid())
    }

    /// CPU time the server process has used so far (user + system), in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
        let after = stat.rsplit_once(')').unwrap().1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        ticks / 100.0 // USER_HZ
    }

    pub fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// SIGTERM, as the kubelet stops a pod; SIGKILL if it is not gone within 10 s.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    /// After a panic too: never leave a server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < limit,
            "{what}: not ready after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

/// How the webhook gets its serving certificate.
pub enum Tls<'a> {
    /// `--dev`: a self-signed CA generated at start, written to `<dir>/<name>-ca.pem`.
    Dev,
    /// `--tls-cert`/`--tls-key` files (a Secret volume), signed by the CA at `ca`.
    Files {
        cert: &'a Path,
        key: &'a Path,
        ca: &'a Path,
    },
}

/// A webhook started by [`start_webhook`], with its log file and how long it took to be ready.
pub struct Started {
    pub server: Server,
    pub log: PathBuf,
    pub startup: Duration,
}

/// Starts `binary serve` over the policy and schedules in `data` (offline), logging JSON lines
/// (as deployed: `deploy/webhook/base/deployment.yaml`) into `<dir>/<name>.log`, and waits for
/// `/readyz` (at most `limit`).
pub fn start_webhook(
    binary: &Path,
    dir: &Path,
    data: &Path,
    name: &str,
    tls: Tls<'_>,
    log_format: &str,
    limit: Duration,
) -> Started {
    let addr = free_addr();
    let probes = free_addr();
    let log = dir.join(format!("{name}.log"));
    let mut command = Command::new(binary);
    command.current_dir(repo()).arg("serve");
    let ca = match tls {
        Tls::Dev => {
            let ca = dir.join(format!("{name}-ca.pem"));
            command.args(["--dev", "--dev-ca-out"]).arg(&ca);
            ca
        }
        Tls::Files { cert, key, ca } => {
            command
                .arg("--tls-cert")
                .arg(cert)
                .arg("--tls-key")
                .arg(key);
            ca.to_path_buf()
        }
    };
    let child = command
        .arg("--schedules-from")
        .arg(data)
        .args(["--policy", "fixtures/policy/platform.yaml"])
        .args(["--listen", &addr.to_string()])
        .args(["--probe-listen", &probes.to_string()])
        .args(["--log-format", log_format])
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let mut server = Server { child, addr, ca };
    let startup = wait_until(&format!("{name} /readyz"), limit, || {
        if server.exited() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("the webhook exited:\n{log}");
        }
        readyz(probes)
    });
    Started {
        server,
        log,
        startup,
    }
}

fn readyz(probes: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(probes) else {
        return false;
    };
    let _ = stream.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}
