//! Waiting for MinIO to serve: its readiness endpoint (`/minio/health/ready`, 200 once it
//! can take requests), asked through the harness's endpoint until it answers or time runs
//! out. A container has no API to watch; the probe backs off from 100 ms to 1 s.

use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::Minio;
use crate::error::Error;

/// Probes MinIO's readiness until it answers 200, or fails with [`Error::Timeout`] naming
/// the endpoint and the last answer (or connection error) seen.
pub async fn wait_ready(minio: &Minio, timeout: Duration) -> Result<(), Error> {
    let url = format!("{}/minio/health/ready", minio.harness_endpoint);
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| Error::Store {
            action: format!("probe {url}"),
            message: e.to_string(),
        })?;
    let http = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    let mut last_seen = "no answer yet".to_owned();
    loop {
        let remaining = timeout.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            return Err(Error::Timeout {
                what: format!("MinIO {} to be ready ({url} answers 200)", minio.container),
                after: timeout,
                last_seen,
            });
        }
        match tokio::time::timeout(remaining, http.get(uri.clone())).await {
            Ok(Ok(response)) if response.status().is_success() => return Ok(()),
            Ok(Ok(response)) => last_seen = format!("HTTP {}", response.status()),
            Ok(Err(e)) => last_seen = format!("no connection: {e}"),
            Err(_) => continue,
        }
        tokio::time::sleep(delay.min(timeout.saturating_sub(started.elapsed()))).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}
