//! The S3 side against a real S3 server: moto (`moto_server`, from PyPI; `.ci/run` installs
//! it in a venv and names it in `BACKSTOP_MOTO_SERVER`, else it is found on PATH) started
//! on 127.0.0.1 by the test setup on a free port, stopped when the test ends.
#![allow(clippy::unwrap_used)] // test helpers, outside #[test] functions, may unwrap

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use backstop_chaos::store::{Store, backup_prefix};

struct Moto {
    child: Child,
    endpoint: String,
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
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}

async fn bucket_with_backups(moto: &Moto, names: &[&str]) -> Store {
    let store = Store::new(
        &moto.endpoint,
        "backstop",
        "us-east-1",
        "backstop",
        "secret",
    )
    .unwrap();
    store.create_bucket().await.unwrap();
    for name in names {
        let prefix = backup_prefix(name);
        store
            .put(
                &format!("{prefix}velero-backup.json"),
                br#"{"kind":"Backup"}"#.to_vec(),
            )
            .await
            .unwrap();
        store
            .put(&format!("{prefix}{name}.tar.gz"), vec![7; 2048])
            .await
            .unwrap();
    }
    store
}

#[tokio::test]
async fn lists_the_backups_in_velero_layout() {
    let moto = moto();
    let store = bucket_with_backups(&moto, &["sched-20261203120000", "sched-20261203120500"]).await;
    let backups: Vec<String> = store.backups().await.unwrap().into_iter().collect();
    assert_eq!(backups, ["sched-20261203120000", "sched-20261203120500"]);
    let objects = store.list("backups/sched-20261203120500/").await.unwrap();
    assert_eq!(objects.len(), 2);
    assert!(objects.iter().any(|o| o.size == 2048));
}

#[tokio::test]
async fn deleting_the_newest_backup_removes_every_object_of_it_and_only_those() {
    let moto = moto();
    let store = bucket_with_backups(&moto, &["sched-20261203120000", "sched-20261203120500"]).await;
    let removed = store
        .delete_prefix(&backup_prefix("sched-20261203120500"))
        .await
        .unwrap();
    assert_eq!(removed, 2);
    let backups: Vec<String> = store.backups().await.unwrap().into_iter().collect();
    assert_eq!(backups, ["sched-20261203120000"]);
}

#[tokio::test]
async fn an_overwritten_object_reads_back_as_the_new_bytes() {
    let moto = moto();
    let store = bucket_with_backups(&moto, &["sched-20261203120000"]).await;
    let key = "backups/sched-20261203120000/sched-20261203120000.tar.gz";
    store.put(key, b"corrupted".to_vec()).await.unwrap();
    assert_eq!(store.get(key).await.unwrap(), b"corrupted");
}

#[tokio::test]
async fn a_listing_longer_than_one_page_is_followed_to_the_end() {
    let moto = moto();
    let store = bucket_with_backups(&moto, &[]).await;
    let keys: Vec<String> = (0..1005)
        .map(|i| format!("kopia/backstop-chaos/p{i:04}"))
        .collect();
    for chunk in keys.chunks(64) {
        let puts = chunk.iter().map(|key| store.put(key, vec![1]));
        for put in futures::future::join_all(puts).await {
            put.unwrap();
        }
    }
    assert_eq!(store.list("kopia/").await.unwrap().len(), 1005);
}

#[tokio::test]
async fn a_missing_bucket_is_a_store_error_naming_the_action() {
    let moto = moto();
    let store = Store::new(&moto.endpoint, "nope", "us-east-1", "k", "s").unwrap();
    let err = store.list("backups/").await.unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("S3 store: list nope/backups/"), "{text}");
    assert!(
        text.contains("404") || text.contains("NoSuchBucket"),
        "{text}"
    );
}
