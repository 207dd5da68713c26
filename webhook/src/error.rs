use std::path::PathBuf;

use policy::PolicyError;

/// Every failure of the webhook crate. Denials are not errors: they are admission responses.
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
    #[error("{0}")]
    Usage(String),
    /// A certificate or key that does not load, or a TLS setup that cannot be built.
    #[error("tls: {0}")]
    Tls(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// No usable Kubernetes client configuration (in-cluster or kubeconfig).
    #[error("kubernetes client: {0}")]
    KubeConfig(String),
    /// Listing a resource from the cluster failed (audit --cluster).
    #[error("cannot list {resource}: {source}")]
    ClusterRead {
        resource: &'static str,
        #[source]
        source: kube::Error,
    },
    /// A Velero CustomResourceDefinition the cluster does not serve (audit --cluster).
    #[error(
        "the CustomResourceDefinition {crd} is not installed in this cluster (is Velero installed?)"
    )]
    CrdMissing { crd: String },
    /// A failure while serving (after start-up).
    #[error("{0}")]
    Runtime(String),
}

impl WebhookError {
    /// `serve`'s exit code for this error: 2 for bad configuration, 3 for a runtime failure.
    pub fn serve_exit_code(&self) -> u8 {
        match self {
            Self::Policy(_)
            | Self::Io { .. }
            | Self::Usage(_)
            | Self::Tls(_)
            | Self::KubeConfig(_) => 2,
            // Bind failures, runtime failures and anything added later.
            #[allow(unreachable_patterns)]
            _ => 3,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
