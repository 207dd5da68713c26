//! `--dev`: a throw-away CA and a leaf certificate for `localhost`, `127.0.0.1` and `::1`,
//! generated with rcgen at start-up. Only the CA certificate leaves the process (written to
//! `--dev-ca-out`, for `curl --cacert`); the keys live in memory only.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::sign::CertifiedKey;

use crate::WebhookError;
use crate::tls::certified_key;

/// A generated CA and the leaf it signed.
#[derive(Debug)]
pub struct DevCert {
    /// The CA certificate, PEM (what clients trust).
    pub ca_pem: String,
    /// The leaf certificate followed by the CA certificate, PEM.
    pub chain_pem: String,
    /// The leaf's private key, PKCS#8 PEM.
    pub key_pem: String,
}

impl DevCert {
    pub fn generate() -> Result<Self, WebhookError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "backstop-webhook dev CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate()?;
        let mut leaf_params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

        let ca_pem = ca_cert.pem();
        Ok(Self {
            chain_pem: format!("{}{}", leaf_cert.pem(), ca_pem),
            ca_pem,
            key_pem: leaf_key.serialize_pem(),
        })
    }

    /// The pair rustls serves (checked like any other pair).
    pub fn certified_key(&self) -> Result<CertifiedKey, WebhookError> {
        certified_key(self.chain_pem.as_bytes(), self.key_pem.as_bytes())
    }

    /// Writes the CA certificate for clients to trust.
    pub fn write_ca(&self, path: &Path) -> Result<(), WebhookError> {
        std::fs::write(path, &self.ca_pem).map_err(|error| WebhookError::io(path, error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_loadable_chain_and_writes_the_ca() {
        let dev = DevCert::generate().unwrap();
        let key = dev.certified_key().unwrap();
        assert_eq!(key.cert.len(), 2);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        dev.write_ca(&path).unwrap();
        assert!(
            std::fs::read_to_string(path)
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
    }
}
