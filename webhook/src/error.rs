//! The crate's one error type, and the one mapping from errors to the exit codes that `serve`
//! and `audit` document (`docs/webhook.md` and `docs/audit.md`, "Exit codes").
//!
//! Denials are not errors: they are admission responses. Gaps found by `audit` are not errors
//! either: they are its report, and exit 1 through [`EXIT_GAPS`].

use std::net::SocketAddr;
use std::path::PathBuf;

use policy::PolicyError;

/// `audit` found a protected object with an error gap (not an error: the report).
pub const EXIT_GAPS: u8 = 1;
/// The input or the configuration is wrong: flags, policy, manifests, certificate or key, no
/// usable Kubernetes client configuration. Fixing the input fixes it.
pub const EXIT_BAD_INPUT: u8 = 2;
/// The environment failed the command: a port in use, a cluster that cannot be read, a server
/// that stops, a runtime that does not start.
pub const EXIT_RUNTIME: u8 = 3;

/// Every failure of the webhook crate, each with its typed source.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Flags that do not go together (what clap cannot check).
    #[error("{0}")]
    Usage(String),
    /// A renderer (`kubectl kustomize`) refused the input.
    #[error("{command}: {message}")]
    Render { command: String, message: String },
    /// A program a flag needs could not be run.
    #[error("cannot run {tool}: {source}; {purpose}", tool = tool.display())]
    ToolMissing {
        tool: PathBuf,
        purpose: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A PEM block that does not parse: `what` is "certificate chain" or "private key".
    #[error("tls: {what}: {source}")]
    Pem {
        what: &'static str,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("tls: certificate chain: no CERTIFICATE block")]
    EmptyCertificateChain,
    /// A key that rustls cannot use, or one that does not belong to the leaf certificate.
    #[error("tls: certificate/key pair: {0}")]
    KeyPair(#[source] rustls::Error),
    #[error("tls: server config: {0}")]
    TlsConfig(#[source] rustls::Error),
    /// The certificate and key files that did not load, and why.
    #[error("{cert} + {key}: {source}")]
    CertificateFiles {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: Box<WebhookError>,
    },
    #[error("tls: --dev certificate generation: {0}")]
    DevCertificate(#[from] rcgen::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// No kubeconfig that can be read.
    #[error("kubernetes client: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    /// Neither in-cluster configuration nor a kubeconfig.
    #[error("kubernetes client: {0}")]
    InferConfig(#[from] kube::config::InferConfigError),
    /// A client configuration kube-rs cannot build a client from.
    #[error("kubernetes client: {0}")]
    KubeClient(#[source] kube::Error),
    /// Listing a resource from the cluster failed (audit --cluster).
    #[error("cannot list {resource}: {source}")]
    ClusterRead {
        resource: &'static str,
        #[source]
        source: kube::Error,
    },
    /// A listed object that could not be turned back into JSON (audit --cluster).
    #[error("cannot read a listed object of {resource}: {source}")]
    Encode {
        resource: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A Velero CustomResourceDefinition the cluster does not serve (audit --cluster).
    #[error(
        "the CustomResourceDefinition {crd} is not installed in this cluster (is Velero installed?)"
    )]
    CrdMissing { crd: String },
    /// The async runtime (or another piece of the process) could not start.
    #[error("cannot start {what}: {source}")]
    Start {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A server failed while serving.
    #[error("{what}: {source}")]
    Serving {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A task panicked or was cancelled.
    #[error("{what}: {source}")]
    Task {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    /// A server task that ended before shutdown was asked for.
    #[error("{what} stopped unexpectedly")]
    Stopped { what: &'static str },
}

impl WebhookError {
    /// The exit code this error stands for, for `serve` and `audit` alike.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Policy(_)
            | Self::Io { .. }
            | Self::Usage(_)
            | Self::Render { .. }
            | Self::Pem { .. }
            | Self::EmptyCertificateChain
            | Self::KeyPair(_)
            | Self::CertificateFiles { .. }
            | Self::TlsConfig(_)
            | Self::DevCertificate(_)
            | Self::Kubeconfig(_)
            | Self::InferConfig(_)
            | Self::KubeClient(_) => EXIT_BAD_INPUT,
            Self::Bind { .. }
            | Self::ToolMissing { .. }
            | Self::ClusterRead { .. }
            | Self::Encode { .. }
            | Self::CrdMissing { .. }
            | Self::Start { .. }
            | Self::Serving { .. }
            | Self::Task { .. }
            | Self::Stopped { .. } => EXIT_RUNTIME,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_that_cannot_be_read_is_a_runtime_failure_not_bad_input() {
        let missing = WebhookError::CrdMissing {
            crd: "schedules.velero.io".to_string(),
        };
        assert_eq!(missing.exit_code(), EXIT_RUNTIME);
    }

    #[test]
    fn a_port_in_use_is_a_runtime_failure() {
        let error = WebhookError::Bind {
            addr: SocketAddr::from(([127, 0, 0, 1], 8443)),
            source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        };
        assert_eq!(error.exit_code(), EXIT_RUNTIME);
    }

    #[test]
    fn an_unreadable_file_and_a_bad_certificate_are_bad_input() {
        let unreadable = WebhookError::io(
            "policy.yaml",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert_eq!(unreadable.exit_code(), EXIT_BAD_INPUT);
        let files = WebhookError::CertificateFiles {
            cert: "tls.crt".into(),
            key: "tls.key".into(),
            source: Box::new(WebhookError::EmptyCertificateChain),
        };
        assert_eq!(files.exit_code(), EXIT_BAD_INPUT);
        assert_eq!(
            files.to_string(),
            "tls.crt + tls.key: tls: certificate chain: no CERTIFICATE block"
        );
    }
}
