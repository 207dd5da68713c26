//! The real `backstop-chaos ledger write` binary on local disk: SIGKILL while it
//! writes must lose no acknowledged record, and a restart continues the chain.
//! A killed process leaves the page cache behind, so this proves a record is acknowledged only
//! after it was written, not that it was fsynced (that would take a power cut).

#![allow(clippy::unwrap_used)] // test helpers, outside #[test] functions, may unwrap

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use backstop_chaos::ledger::verify::verify;

/// A writer process, killed if the test fails before it does.
struct Writer {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_writer(file: &Path, interval: &str) -> Writer {
    start_writer_as(file, interval, None)
}

/// A writer whose start files its evidence under `start_id` (the workload's pod UID).
fn start_writer_as(file: &Path, interval: &str, start_id: Option<&str>) -> Writer {
    let mut command = Command::new(env!("CARGO_BIN_EXE_backstop-chaos"));
    if let Some(id) = start_id {
        command.env("LEDGER_START_ID", id);
    }
    let mut child = command
        .args([
            "ledger",
            "write",
            "--listen",
            "127.0.0.1:0",
            "--interval",
            interval,
        ])
        .arg("--file")
        .arg(file)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    Writer { child, addr }
}

/// A minimal HTTP/1.1 GET; returns (status, body).
fn get(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
}

fn last_seq(addr: SocketAddr) -> u64 {
    let (status, body) = get(addr, "/last");
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(json["unixNanos"].as_u64().unwrap() > 1_600_000_000_000_000_000);
    json["seq"].as_u64().unwrap()
}

/// Polls /last until `at_least` records are acknowledged, then SIGKILLs the writer
/// right after one more acknowledgement; returns the newest seq seen acknowledged.
fn kill_while_writing(writer: &mut Writer, at_least: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut acked = 0;
    while acked < at_least {
        assert!(
            Instant::now() < deadline,
            "only {acked} records acknowledged"
        );
        acked = acked.max(last_seq(writer.addr));
    }
    acked = acked.max(last_seq(writer.addr));
    writer.child.kill().unwrap(); // SIGKILL, mid-write or not: no chance to clean up
    writer.child.wait().unwrap();
    acked
}

#[test]
fn sigkill_while_writing_loses_no_acknowledged_record() {
    let dir = on_disk();
    let file = dir.path().join("ledger.log");
    for round in 1..=3u64 {
        let mut writer = start_writer(&file, "1ms");
        let acked = kill_while_writing(&mut writer, 150 * round);
        let v = verify(&std::fs::read(&file).unwrap());
        assert!(v.is_intact(), "round {round}: {:?}", v.problems);
        let newest = v.newest_valid_seq.unwrap();
        assert!(
            newest >= acked,
            "round {round}: seq {acked} was acknowledged but only {newest} survived"
        );
        assert_eq!(v.chain_valid_records, newest, "round {round}");
    }
}

#[test]
fn a_restarted_writer_serves_what_it_found_and_continues_the_chain() {
    let dir = on_disk();
    let file = dir.path().join("ledger.log");
    let mut writer = start_writer(&file, "2ms");
    kill_while_writing(&mut writer, 50);
    let before = std::fs::read(&file).unwrap();
    let found = verify(&before).newest_valid_seq.unwrap();

    let writer = start_writer(&file, "2ms");
    let (status, body) = get(writer.addr, "/found-at-start");
    assert_eq!(status, 200);
    assert_eq!(body, before, "found-at-start must be the bytes as found");
    let (status, body) = get(writer.addr, "/startup");
    assert_eq!(status, 200);
    let startup: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(startup["found"]["newestValidSeq"].as_u64(), Some(found));
    assert_eq!(get(writer.addr, "/healthz").0, 200);

    let deadline = Instant::now() + Duration::from_secs(20);
    while last_seq(writer.addr) < found + 5 {
        assert!(
            Instant::now() < deadline,
            "the restarted writer did not advance"
        );
    }
    drop(writer);
    let v = verify(&std::fs::read(&file).unwrap());
    assert!(v.is_intact(), "{:?}", v.problems);
    assert!(v.newest_valid_seq.unwrap() >= found + 5);
}

#[test]
fn a_writer_that_cannot_open_its_file_exits_with_infrastructure_failure() {
    let dir = on_disk();
    let file = dir.path().join("missing-dir/ledger.log");
    let status = Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
        .args(["ledger", "write", "--listen", "127.0.0.1:0", "--file"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(3));
}

/// A scratch folder under the target directory: real local disk, where /tmp may be tmpfs.
fn on_disk() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// `backstop-chaos ledger verify --output json` on a file; returns (exit code, report).
fn verify_cli(file: &Path) -> (i32, serde_json::Value) {
    let o = Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
        .args(["ledger", "verify", "--output", "json"])
        .arg(file)
        .output()
        .unwrap();
    (
        o.status.code().unwrap(),
        serde_json::from_slice(&o.stdout).unwrap(),
    )
}

#[test]
fn damage_done_on_disk_to_a_real_ledger_is_found_at_the_right_sequence() {
    const RECORD: usize = backstop_chaos::ledger::RECORD_LEN;
    let dir = on_disk();
    let file = dir.path().join("ledger.log");
    let mut writer = start_writer(&file, "1ms");
    kill_while_writing(&mut writer, 120);
    // Keep exactly 100 whole records: the intact original to damage copies of.
    let mut original = std::fs::read(&file).unwrap();
    original.truncate(100 * RECORD);
    let at = |seq: usize| (seq - 1) * RECORD;
    let damaged = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        verify_cli(&path)
    };

    let (code, v) = damaged("intact", original.clone());
    assert_eq!((code, v["newestValidSeq"].as_u64()), (0, Some(100)));

    let mut flipped = original.clone();
    flipped[at(40) + 17] ^= 0x08;
    let (code, v) = damaged("flipped", flipped);
    assert_eq!(code, 1);
    assert_eq!(v["firstBrokenSeq"].as_u64(), Some(40));
    assert_eq!(v["newestValidSeq"].as_u64(), Some(39));

    let (code, v) = damaged("truncated", original[..at(71) + 30].to_vec());
    assert_eq!(code, 0, "a cut inside the last record is a torn write");
    assert_eq!(v["newestValidSeq"].as_u64(), Some(70));
    assert_eq!(v["tornTail"]["seq"].as_u64(), Some(71));
    assert_eq!(v["records"].as_u64(), Some(70));

    let mut cut = original[..at(30)].to_vec();
    cut.extend_from_slice(&original[at(45)..]);
    let (code, v) = damaged("middle-deleted", cut);
    assert_eq!(code, 1);
    assert_eq!(v["firstBrokenSeq"].as_u64(), Some(30));
    assert_eq!(v["problems"][0]["kind"], "missing");
    assert_eq!(v["problems"][0]["to"].as_u64(), Some(44));

    let mut doubled = original.clone();
    doubled.extend_from_slice(&original[at(100)..]);
    let (code, v) = damaged("duplicated", doubled);
    assert_eq!(code, 0);
    assert_eq!(v["duplicates"], serde_json::json!([100]));
}

#[test]
fn the_bytes_as_restored_survive_a_restart_of_the_restored_pod() {
    let dir = on_disk();
    let file = dir.path().join("ledger.log");
    let mut original = start_writer_as(&file, "2ms", Some("uid-before-the-fault"));
    kill_while_writing(&mut original, 30);
    let restored = std::fs::read(&file).unwrap();

    // The restored pod starts, appends, and its container is killed and restarted.
    let mut restored_pod = start_writer_as(&file, "2ms", Some("uid-restored"));
    kill_while_writing(&mut restored_pod, 60);
    assert_ne!(
        std::fs::read(&file).unwrap(),
        restored,
        "the restored pod appended"
    );
    let restarted = start_writer_as(&file, "2ms", Some("uid-restored"));

    let (status, body) = get(restarted.addr, "/found-at-start/uid-restored");
    assert_eq!(status, 200);
    assert_eq!(
        body, restored,
        "the evidence of the restored pod's first start"
    );
    let (status, _) = get(restarted.addr, "/found-at-start/uid-nobody");
    assert_eq!(status, 404);
}
