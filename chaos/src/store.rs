//! The backup store, read and changed from outside the cluster through the S3 API: rusty-s3
//! signs each request, hyper sends it. What the storage faults and the post-restore checks
//! need: list (with continuation), get, put (overwrite), delete, and Velero's layout
//! (`backups/<backup name>/...`).

use std::collections::BTreeSet;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rusty_s3::actions::ListObjectsV2;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::error::Error;

/// How long a signed request stays valid (it is sent at once).
const SIGNED_FOR: Duration = Duration::from_secs(300);
/// The longest one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub size: u64,
}

/// A bucket on an S3-compatible store (MinIO, moto, AWS), path-style.
#[derive(Debug)]
pub struct Store {
    bucket: Bucket,
    credentials: Credentials,
    http: Client<HttpConnector, Full<Bytes>>,
}

fn store_error(action: impl Into<String>) -> impl FnOnce(String) -> Error {
    let action = action.into();
    move |message| Error::Store { action, message }
}

impl Store {
    /// `endpoint` is the store's base URL (`http://127.0.0.1:9000`).
    pub fn new(
        endpoint: &str,
        bucket: &str,
        region: &str,
        access_key: &str,
        secret_key: &str,
    ) -> Result<Self, Error> {
        let url = url::Url::parse(endpoint)
            .map_err(|e| store_error(format!("endpoint {endpoint}"))(e.to_string()))?;
        let bucket = Bucket::new(url, UrlStyle::Path, bucket.to_owned(), region.to_owned())
            .map_err(|e| store_error(format!("bucket {bucket}"))(e.to_string()))?;
        Ok(Self {
            bucket,
            credentials: Credentials::new(access_key.to_owned(), secret_key.to_owned()),
            http: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    async fn send(
        &self,
        action: &str,
        method: http::Method,
        url: url::Url,
        body: Vec<u8>,
    ) -> Result<(http::StatusCode, Vec<u8>), Error> {
        // Stated even for an empty body: hyper leaves it out there, and S3 servers answer an
        // empty PUT (create bucket) without it 411 Length Required.
        let request = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| store_error(action)(e.to_string()))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, bytes.to_vec()))
        };
        let (status, bytes) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no answer within {REQUEST_TIMEOUT:?}"))
            .and_then(|r| r)
            .map_err(store_error(action))?;
        if status.is_success() {
            Ok((status, bytes))
        } else {
            Err(store_error(action)(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes).trim()
            )))
        }
    }

    /// Creates the bucket.
    pub async fn create_bucket(&self) -> Result<(), Error> {
        let url = self
            .bucket
            .create_bucket(&self.credentials)
            .sign(SIGNED_FOR);
        let action = format!("create bucket {}", self.bucket.name());
        self.send(&action, http::Method::PUT, url, Vec::new())
            .await
            .map(drop)
    }

    /// Every object whose key starts with `prefix`, following continuation tokens.
    pub async fn list(&self, prefix: &str) -> Result<Vec<Object>, Error> {
        let action = format!("list {}/{prefix}", self.bucket.name());
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut list = self.bucket.list_objects_v2(Some(&self.credentials));
            list.with_prefix(prefix);
            if let Some(t) = &token {
                list.with_continuation_token(t.as_str());
            }
            let url = list.sign(SIGNED_FOR);
            let (_, body) = self
                .send(&action, http::Method::GET, url, Vec::new())
                .await?;
            let text = String::from_utf8_lossy(&body);
            let page = ListObjectsV2::parse_response(&text)
                .map_err(|e| store_error(action.clone())(e.to_string()))?;
            objects.extend(page.contents.into_iter().map(|c| Object {
                key: c.key,
                size: c.size.unwrap_or(0),
            }));
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => return Ok(objects),
            }
        }
    }

    /// The bytes of `key`.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, Error> {
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        let action = format!("get {}/{key}", self.bucket.name());
        self.send(&action, http::Method::GET, url, Vec::new())
            .await
            .map(|(_, body)| body)
    }

    /// Writes `bytes` as `key`, replacing what was there.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), Error> {
        let url = self
            .bucket
            .put_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        let action = format!("put {}/{key}", self.bucket.name());
        self.send(&action, http::Method::PUT, url, bytes)
            .await
            .map(drop)
    }

    /// Deletes `key` (S3 answers success for a key that is not there).
    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        let url = self
            .bucket
            .delete_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        let action = format!("delete {}/{key}", self.bucket.name());
        self.send(&action, http::Method::DELETE, url, Vec::new())
            .await
            .map(drop)
    }

    /// Deletes every object under `prefix`; returns how many there were.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, Error> {
        let objects = self.list(prefix).await?;
        for object in &objects {
            self.delete(&object.key).await?;
        }
        Ok(objects.len())
    }

    /// The backups the store holds, by Velero's layout (`backups/<name>/velero-backup.json`):
    /// a backup counts only while its metadata file is there.
    pub async fn backups(&self) -> Result<BTreeSet<String>, Error> {
        Ok(backup_names(&self.list("backups/").await?))
    }
}

/// Backup names from a listing of `backups/` (pure, for the storage-loss comparison).
pub fn backup_names(objects: &[Object]) -> BTreeSet<String> {
    objects
        .iter()
        .filter_map(|o| {
            let rest = o.key.strip_prefix("backups/")?;
            let (name, file) = rest.split_once('/')?;
            (file == "velero-backup.json").then(|| name.to_owned())
        })
        .collect()
}

/// Object key prefix of one backup in Velero's layout.
pub fn backup_prefix(name: &str) -> String {
    format!("backups/{name}/")
}
