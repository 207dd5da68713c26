//! A client for one kubeconfig file and context. The file is only read: the harness never
//! writes to a kubeconfig it did not create, nor changes anyone's current context.

use std::path::Path;

use ::kube::Client;
use ::kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::Error;

/// Selects rustls' ring provider for the process (kube's TLS needs one chosen); idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for `context` (the file's current context when `None`) of the kubeconfig at `path`.
pub async fn for_kubeconfig(path: &Path, context: Option<&str>) -> Result<Client, Error> {
    client(path, config_for(path, context).await?)
}

/// The client configuration for `context` of the kubeconfig at `path`.
pub async fn config_for(path: &Path, context: Option<&str>) -> Result<::kube::Config, Error> {
    install_crypto_provider();
    let kubeconfig_error = |source| Error::Kubeconfig {
        path: path.to_owned(),
        source: Box::new(source),
    };
    let kubeconfig = Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..KubeConfigOptions::default()
    };
    ::kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(kubeconfig_error)
}

/// A client for `config`; `path` names the kubeconfig it came from in an error.
pub fn client(path: &Path, config: ::kube::Config) -> Result<Client, Error> {
    Client::try_from(config).map_err(|source| Error::Kube {
        action: format!("build a client for {}", path.display()),
        source: Box::new(source),
    })
}
