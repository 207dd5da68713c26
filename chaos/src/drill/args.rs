//! The command line of `backstop-chaos drill`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::check::ServiceTarget;

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The Velero Schedule whose newest Completed backup is restored.
    #[arg(long, env = "BACKSTOP_DRILL_SCHEDULE")]
    pub schedule: String,
    /// The namespace restored out of the backup.
    #[arg(long, env = "BACKSTOP_DRILL_NAMESPACE")]
    pub namespace: String,
    /// Where to restore it (default: <namespace>-drill-<UTC timestamp>). The namespace itself
    /// is refused unless --in-place is given.
    #[arg(long, env = "BACKSTOP_DRILL_RESTORE_NAMESPACE")]
    pub restore_namespace: Option<String>,
    /// Restore the persistent volumes' data too (the Restore's restorePVs).
    #[arg(long)]
    pub restore_pvs: bool,
    /// Watch the Restore to its end and the pods to Ready, run the checks, compare.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, for the Restore and the pods together (10m, 1h, …).
    #[arg(long, default_value = "10m", value_parser = crate::scenario::HumanDuration::parse)]
    pub timeout: Duration,
    /// Delete the restore namespace and the Restore afterwards (needs --wait).
    #[arg(long)]
    pub cleanup: bool,
    /// An HTTP path of a Service in the restored namespace, asked through the API server's
    /// service proxy; must answer 2xx (needs --wait). `[http://|https://]SERVICE[:PORT][/PATH]`,
    /// repeatable.
    #[arg(long = "check", value_name = "URL", value_parser = ServiceTarget::parse)]
    pub checks: Vec<ServiceTarget>,
    /// The kubeconfig context to use (default: the kubeconfig's current context).
    #[arg(long, env = "BACKSTOP_DRILL_CONTEXT")]
    pub context: Option<String>,
    /// The kubeconfig file (default: the files $KUBECONFIG lists, merged as kubectl merges
    /// them, else ~/.kube/config; in a pod without either, its ServiceAccount).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Where result.json, report.md, junit.xml and report.html go (default:
    /// out/drill/<restore namespace>).
    #[arg(long, env = "BACKSTOP_DRILL_OUT")]
    pub out: Option<PathBuf>,
    /// Restore into --namespace itself, over its live objects (objects that exist are left as
    /// they are: existingResourcePolicy none).
    #[arg(long)]
    pub in_place: bool,
}
