//! Certificate rotation without restart: poll both files and compare a hash of their content.
//!
//! Kubernetes mounts a Secret as `dir/tls.crt -> ..data/tls.crt`, `..data -> ..2026_01_01_…`,
//! and rotates by renaming a new `..data` symlink over the old one: the file inotify watched is
//! never written. Reading through the paths on every poll follows the swap, and hashing the
//! content makes the check independent of timestamps. A pair that does not load (garbage,
//! half-written, key of another certificate) never replaces the pair being served; it is
//! reported once it has stayed the same for a whole poll interval, so the instant between a
//! certificate and its key being written is not counted as an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::{CertResolver, certified_key};
use crate::WebhookError;
use crate::metrics::{Metrics, ReloadResult};

/// Where the PEM files live (usually a mounted Secret).
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// What one poll did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsReloadOutcome {
    /// The files still hold the pair being served (or the bad pair already reported).
    Unchanged,
    /// A new pair is being served.
    Reloaded,
    /// The files changed into something that does not load; waiting one interval before
    /// reporting, in case the other half is still being written.
    Pending,
    /// The files hold a pair that does not load, unchanged for one interval: reported.
    Rejected(String),
}

type Hash = [u8; 32];

pub struct Reloader {
    files: CertFiles,
    resolver: Arc<CertResolver>,
    metrics: Arc<Metrics>,
    /// Hash of the content last acted on (served, or reported as bad).
    settled: Hash,
    /// Hash of a bad content seen once and not reported yet.
    pending: Option<Hash>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, WebhookError> {
    std::fs::read(path).map_err(|error| WebhookError::io(path, error))
}

fn hash(cert: &[u8], key: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update((cert.len() as u64).to_le_bytes());
    hasher.update(cert);
    hasher.update(key);
    hasher.finalize().into()
}

impl Reloader {
    /// Loads the initial pair; failing here is a configuration error.
    pub fn load(files: CertFiles, metrics: Arc<Metrics>) -> Result<Self, WebhookError> {
        let cert = read(&files.cert)?;
        let key = read(&files.key)?;
        let certified =
            certified_key(&cert, &key).map_err(|error| WebhookError::CertificateFiles {
                cert: files.cert.clone(),
                key: files.key.clone(),
                source: Box::new(error),
            })?;
        Ok(Self {
            resolver: Arc::new(CertResolver::new(certified)),
            settled: hash(&cert, &key),
            pending: None,
            files,
            metrics,
        })
    }

    pub fn resolver(&self) -> Arc<CertResolver> {
        Arc::clone(&self.resolver)
    }

    /// Reads both files once and acts on what changed.
    pub fn poll(&mut self) -> TlsReloadOutcome {
        let (cert, key) = match (read(&self.files.cert), read(&self.files.key)) {
            (Ok(cert), Ok(key)) => (cert, key),
            (Err(error), _) | (_, Err(error)) => {
                // A missing file mid-swap: same treatment as a bad pair.
                return self.bad(hash(error.to_string().as_bytes(), b""), error);
            }
        };
        let current = hash(&cert, &key);
        if current == self.settled {
            self.pending = None;
            return TlsReloadOutcome::Unchanged;
        }
        match certified_key(&cert, &key) {
            Ok(certified) => {
                self.resolver.replace(certified);
                self.settled = current;
                self.pending = None;
                self.metrics.record_tls_reload(ReloadResult::Ok);
                tracing::info!(cert = %self.files.cert.display(), "tls: serving the rotated certificate");
                TlsReloadOutcome::Reloaded
            }
            Err(error) => self.bad(current, error),
        }
    }

    fn bad(&mut self, content: Hash, error: WebhookError) -> TlsReloadOutcome {
        if content == self.settled {
            return TlsReloadOutcome::Unchanged;
        }
        if self.pending != Some(content) {
            self.pending = Some(content);
            return TlsReloadOutcome::Pending;
        }
        self.settled = content;
        self.pending = None;
        self.metrics.record_tls_reload(ReloadResult::Error);
        tracing::error!(
            cert = %self.files.cert.display(),
            key = %self.files.key.display(),
            %error,
            "tls: the changed certificate/key pair does not load; still serving the previous one"
        );
        TlsReloadOutcome::Rejected(error.to_string())
    }

    /// Polls every `interval` until `shutdown` turns true.
    pub async fn run(mut self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    // Two small files: reading them inline is cheaper than a blocking-pool hop.
                    self.poll();
                }
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::tests::pair;

    fn leaf(resolver: &CertResolver) -> Vec<u8> {
        resolver.current().cert[0].to_vec()
    }

    #[test]
    fn reloads_a_good_pair_and_keeps_serving_through_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let files = CertFiles {
            cert: dir.path().join("tls.crt"),
            key: dir.path().join("tls.key"),
        };
        let (cert, key) = pair("one");
        std::fs::write(&files.cert, &cert).unwrap();
        std::fs::write(&files.key, &key).unwrap();
        let metrics = Arc::new(Metrics::new());
        let mut reloader = Reloader::load(files.clone(), Arc::clone(&metrics)).unwrap();
        let resolver = reloader.resolver();
        let first = leaf(&resolver);
        assert_eq!(reloader.poll(), TlsReloadOutcome::Unchanged);

        // Half of a rotation: the new certificate with the old key.
        let (cert2, key2) = pair("two");
        std::fs::write(&files.cert, &cert2).unwrap();
        assert_eq!(reloader.poll(), TlsReloadOutcome::Pending);
        assert_eq!(leaf(&resolver), first);
        std::fs::write(&files.key, &key2).unwrap();
        assert_eq!(reloader.poll(), TlsReloadOutcome::Reloaded);
        assert_ne!(leaf(&resolver), first);
        assert_eq!(metrics.tls_reloads(ReloadResult::Ok), 1);
        assert_eq!(metrics.tls_reloads(ReloadResult::Error), 0);

        // Garbage that stays: reported once, never served.
        let second = leaf(&resolver);
        std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nnope\n").unwrap();
        assert_eq!(reloader.poll(), TlsReloadOutcome::Pending);
        assert!(matches!(reloader.poll(), TlsReloadOutcome::Rejected(_)));
        assert_eq!(reloader.poll(), TlsReloadOutcome::Unchanged);
        assert_eq!(leaf(&resolver), second);
        assert_eq!(metrics.tls_reloads(ReloadResult::Error), 1);
    }

    #[test]
    fn a_missing_initial_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let files = CertFiles {
            cert: dir.path().join("tls.crt"),
            key: dir.path().join("tls.key"),
        };
        assert!(Reloader::load(files, Arc::new(Metrics::new())).is_err());
    }
}
