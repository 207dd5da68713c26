//! An existing cluster: only with `--allow-existing-cluster`, checked before anything is
//! touched; the run works only inside namespaces it creates and labels
//! ([`crate::kube::namespace::RUN_LABEL`]) and removes them at the end.

use crate::error::Error;

/// The flag that allows a run on a cluster the harness did not create.
pub const ALLOW_FLAG: &str = "--allow-existing-cluster";

/// Refuses (exit 2, naming the flag) unless the run was allowed onto an existing cluster,
/// and requires the context to use.
pub fn admit(allowed: bool, context: Option<&str>) -> Result<String, Error> {
    if !allowed {
        return Err(Error::InvalidArgument {
            argument: ALLOW_FLAG.into(),
            message: "the scenario runs on an existing cluster (cluster.provider: existing); \
                      the harness touches a cluster it did not create only when given \
                      --allow-existing-cluster"
                .into(),
        });
    }
    context
        .map(str::to_owned)
        .ok_or_else(|| Error::InvalidArgument {
            argument: "--context".into(),
            message: "name the kubeconfig context of the existing cluster (--context NAME)".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EXIT_BAD_INPUT;

    #[test]
    fn an_existing_cluster_is_refused_without_the_flag_naming_it() {
        let err = admit(false, Some("prod")).unwrap_err();
        assert_eq!(err.exit_code(), EXIT_BAD_INPUT);
        assert!(
            err.to_string().contains("--allow-existing-cluster"),
            "{err}"
        );
    }

    #[test]
    fn an_allowed_existing_cluster_needs_its_context() {
        let err = admit(true, None).unwrap_err();
        assert!(err.to_string().contains("--context"), "{err}");
        assert_eq!(admit(true, Some("staging")).unwrap(), "staging");
    }
}
