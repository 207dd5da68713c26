//! Where a run happens: a kind cluster it creates (the default), or an existing cluster it
//! was explicitly allowed to use.

pub mod existing;
pub mod kind;

use std::path::PathBuf;

/// Which cluster a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cluster {
    /// The run's own kind cluster, named for the scenario and seed.
    Kind { name: String },
    /// A cluster the run did not create: a context of the user's kubeconfig (only read).
    Existing {
        kubeconfig: PathBuf,
        context: String,
    },
}
