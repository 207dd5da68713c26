//! TLS for the admission endpoints: rustls with the ring provider, TLS 1.2 and 1.3 only, and a
//! certificate resolver whose pair can be swapped while the server runs.
//!
//! The certificate is chosen per handshake from an [`ArcSwap`], so a rotation affects only new
//! connections: established ones keep the pair they were handshaken with.

mod reload;

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::WebhookError;

pub use reload::{CertFiles, Reloader, TlsReloadOutcome};

/// The protocol versions the server offers: never TLS 1.1 or older (rustls has none anyway).
pub static PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The ring provider, used for the server config and as the process default (kube's client).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes ring the process-wide default provider; harmless when one is already installed.
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Parses a PEM certificate chain (leaf first) and a PEM private key, and checks that the key
/// belongs to the leaf. Anything less (garbage, a half-written file, a mismatched pair) is an
/// error, so a bad pair never replaces a good one.
pub fn certified_key(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, WebhookError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| WebhookError::Pem {
            what: "certificate chain",
            source,
        })?;
    if chain.is_empty() {
        return Err(WebhookError::EmptyCertificateChain);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|source| WebhookError::Pem {
        what: "private key",
        source,
    })?;
    let certified =
        CertifiedKey::from_der(chain, key, &provider()).map_err(WebhookError::KeyPair)?;
    // `from_der` lets an unknown consistency through; a webhook must be sure.
    certified.keys_match().map_err(WebhookError::KeyPair)?;
    Ok(certified)
}

/// Hands every new handshake the current pair.
pub struct CertResolver {
    current: ArcSwap<CertifiedKey>,
}

impl CertResolver {
    pub fn new(key: CertifiedKey) -> Self {
        Self {
            current: ArcSwap::from_pointee(key),
        }
    }

    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.load_full()
    }

    pub fn replace(&self, key: CertifiedKey) {
        self.current.store(Arc::new(key));
    }
}

impl fmt::Debug for CertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertResolver").finish_non_exhaustive()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The server config: TLS 1.2+ with the ring provider, HTTP/2 and HTTP/1.1 by ALPN.
pub fn server_config(resolver: Arc<CertResolver>) -> Result<ServerConfig, WebhookError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(WebhookError::TlsConfig)?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate for `name` and its key, as PEM.
    pub(super) fn pair(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn accepts_a_matching_pair() {
        let (cert, key) = pair("localhost");
        assert!(certified_key(cert.as_bytes(), key.as_bytes()).is_ok());
    }

    #[test]
    fn rejects_mismatched_garbage_and_truncated_pairs() {
        let (cert, _) = pair("a");
        let (_, other_key) = pair("b");
        let mismatch = certified_key(cert.as_bytes(), other_key.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(mismatch.contains("certificate/key pair"), "{mismatch}");
        assert!(certified_key(b"garbage", other_key.as_bytes()).is_err());
        let half = &cert.as_bytes()[..cert.len() / 2];
        assert!(certified_key(half, other_key.as_bytes()).is_err());
        assert!(certified_key(cert.as_bytes(), b"").is_err());
    }

    #[test]
    fn offers_only_tls12_and_tls13() {
        let versions: Vec<_> = PROTOCOL_VERSIONS.iter().map(|v| v.version).collect();
        assert_eq!(
            versions,
            [
                rustls::ProtocolVersion::TLSv1_3,
                rustls::ProtocolVersion::TLSv1_2
            ]
        );
        let (cert, key) = pair("localhost");
        let resolver = Arc::new(CertResolver::new(
            certified_key(cert.as_bytes(), key.as_bytes()).unwrap(),
        ));
        assert!(server_config(resolver).is_ok());
    }
}
