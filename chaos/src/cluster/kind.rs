//! A kind cluster of the run's own: uniquely named, created from a generated config with its
//! kubeconfig written into the run directory (`kind --kubeconfig`), so the user's kubeconfig
//! and current context are never touched; a name already in use is refused; deleted at the
//! end unless `--keep`. The argv here are the ones the plan prints (one source of truth).

use std::path::Path;
use std::time::Duration;

use crate::error::Error;
use crate::exec::Runner;

const KIND_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const LIST_TIMEOUT: Duration = Duration::from_secs(60);

/// The cluster name of a run: the scenario and the seed, so a replay with the same seed
/// meets a cluster left behind by `--keep` and is refused rather than reusing it.
pub fn cluster_name(scenario: &str, seed: u64) -> String {
    format!("backstop-{scenario}-{:08x}", seed & 0xffff_ffff)
}

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// `kind version`.
pub fn version_argv() -> Vec<String> {
    argv(&["kind", "version"])
}

/// The kind node image of a Kubernetes version (`kindest/node:v1.33.1`).
pub fn node_image(kubernetes: &str) -> String {
    format!("kindest/node:{kubernetes}")
}

/// `kind get clusters`.
pub fn list_argv() -> Vec<String> {
    argv(&["kind", "get", "clusters"])
}

/// `kind create cluster` with the run's config and kubeconfig.
pub fn create_argv(name: &str, node_image: &str, config: &Path, kubeconfig: &Path) -> Vec<String> {
    argv(&[
        "kind",
        "create",
        "cluster",
        "--name",
        name,
        "--image",
        node_image,
        "--config",
        &config.display().to_string(),
        "--kubeconfig",
        &kubeconfig.display().to_string(),
        "--wait",
        "5m",
    ])
}

/// `kind delete cluster` (its kubeconfig entry goes from the run's file only).
pub fn delete_argv(name: &str, kubeconfig: &Path) -> Vec<String> {
    argv(&[
        "kind",
        "delete",
        "cluster",
        "--name",
        name,
        "--kubeconfig",
        &kubeconfig.display().to_string(),
    ])
}

/// The kubeconfig context kind writes for `name`.
pub fn context(name: &str) -> String {
    format!("kind-{name}")
}

/// Fails with exit 2 when a kind cluster named `name` exists already.
pub fn ensure_unused(runner: &dyn Runner, name: &str) -> Result<(), Error> {
    let listed = runner.checked(&list_argv(), LIST_TIMEOUT)?;
    if listed.stdout.lines().any(|line| line.trim() == name) {
        return Err(Error::InvalidArgument {
            argument: "--seed".into(),
            message: format!(
                "a kind cluster named {name} exists already (left by a run with --keep?); \
                 the harness does not reuse it: delete it with `kind delete cluster --name \
                 {name}` or run with another seed"
            ),
        });
    }
    Ok(())
}

/// Creates the cluster; its kubeconfig lands at `kubeconfig`.
pub fn create(
    runner: &dyn Runner,
    name: &str,
    node_image: &str,
    config: &Path,
    kubeconfig: &Path,
) -> Result<(), Error> {
    runner
        .checked(
            &create_argv(name, node_image, config, kubeconfig),
            KIND_TIMEOUT,
        )
        .map(drop)
}

/// Deletes the cluster.
pub fn delete(runner: &dyn Runner, name: &str, kubeconfig: &Path) -> Result<(), Error> {
    runner
        .checked(&delete_argv(name, kubeconfig), KIND_TIMEOUT)
        .map(drop)
}
