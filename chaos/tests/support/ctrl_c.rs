//! Ctrl-C for a running `backstop-chaos run`: a real SIGINT (sent with `kill -INT`), once the
//! run's progress on stderr shows it waiting for its fault.

#![allow(dead_code, clippy::unwrap_used)]

use std::process::ExitStatus;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

/// Reads `child`'s stderr (piped) until the fault phase begins, sends SIGINT, and returns how
/// the run ended with everything it wrote to stderr.
pub async fn during_the_fault_wait(mut child: tokio::process::Child) -> (ExitStatus, String) {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut stderr = String::new();
    let waiting = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            stderr.push_str(&line);
            stderr.push('\n');
            if line.contains("[fault ") {
                return;
            }
        }
        panic!("the run ended before the fault phase:\n{stderr}");
    };
    tokio::time::timeout(Duration::from_secs(60), waiting)
        .await
        .expect("the fault phase began");
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let rest = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            stderr.push_str(&line);
            stderr.push('\n');
        }
        child.wait().await.unwrap()
    };
    let status = tokio::time::timeout(Duration::from_secs(60), rest)
        .await
        .expect("the run ended after Ctrl-C");
    (status, stderr)
}
