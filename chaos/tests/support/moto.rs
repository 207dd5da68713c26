//! A real S3 server for tests: moto (`moto_server`, from PyPI; `.ci/run` installs it in a venv
//! and names it in `BACKSTOP_MOTO_SERVER`, else it is found on PATH), started on a free port
//! of 127.0.0.1 and stopped when the handle is dropped.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use backstop_chaos::store::Store;

pub struct Moto {
    child: Child,
    pub endpoint: String,
    pub port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// A client for `bucket` (created here) of this server.
    pub async fn bucket(&self, bucket: &str) -> Store {
        let store = Store::new(&self.endpoint, bucket, "us-east-1", "backstop", "secret").unwrap();
        store.create_bucket().await.unwrap();
        store
    }
}

pub fn start() -> Moto {
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
        port,
    }
}

/// moto standing in for MinIO: MinIO's readiness endpoint (`/minio/health/ready`, asked
/// without credentials) is, to an S3 server, the object `health/ready` of the bucket `minio`:
/// put there readable by anyone (`x-amz-acl: public-read`), moto answers it 200.
pub async fn start_as_minio() -> Moto {
    let moto = start();
    let store = Store::new(&moto.endpoint, "minio", "us-east-1", "k", "s").unwrap();
    store.create_bucket().await.unwrap();
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<hyper::body::Bytes>>();
    let put = http::Request::put(format!("{}/minio/health/ready", moto.endpoint))
        .header("x-amz-acl", "public-read")
        .header(http::header::CONTENT_LENGTH, 0)
        .body(http_body_util::Full::new(hyper::body::Bytes::new()))
        .unwrap();
    assert!(http.request(put).await.unwrap().status().is_success());
    moto
}
