//! Before a live run touches anything: are the tools it drives on PATH?

use std::ffi::OsStr;
use std::path::Path;

use crate::error::Error;

/// A tool the live run drives, and how to get it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    pub name: &'static str,
    pub install: &'static str,
}

/// Tools every kind run needs.
pub const KIND_RUN: &[Tool] = &[
    Tool {
        name: "docker",
        install: "install Docker Engine (https://docs.docker.com/engine/install/) and make sure \
                  `docker info` works for this user",
    },
    Tool {
        name: "kind",
        install: "install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation), \
                  e.g. `go install sigs.k8s.io/kind@v0.29.0`",
    },
    Tool {
        name: "velero",
        install: "install the velero CLI matching the scenario's Velero version \
                  (https://velero.io/docs/main/basic-install/#install-the-cli)",
    },
    Tool {
        name: "kubectl",
        install: "install kubectl (https://kubernetes.io/docs/tasks/tools/)",
    },
];

/// Tools an existing-cluster run needs (no docker or kind).
pub const EXISTING_RUN: &[Tool] = &[KIND_RUN[2], KIND_RUN[3]];

/// The tools in `tools` that no directory of `path` (a PATH value) holds as an executable file.
pub fn missing<'a>(tools: &'a [Tool], path: &OsStr) -> Vec<&'a Tool> {
    tools
        .iter()
        .filter(|tool| !std::env::split_paths(path).any(|dir| is_executable(&dir.join(tool.name))))
        .collect()
}

/// Fails with [`Error::MissingTool`] (exit 3) for the first missing tool, saying how to
/// install it and naming any others that are missing too.
pub fn check(tools: &[Tool], path: &OsStr) -> Result<(), Error> {
    let missing = missing(tools, path);
    let Some(first) = missing.first() else {
        return Ok(());
    };
    let mut install = first.install.to_owned();
    if missing.len() > 1 {
        let others: Vec<&str> = missing[1..].iter().map(|t| t.name).collect();
        install.push_str(&format!(" (also missing: {})", others.join(", ")));
    }
    Err(Error::MissingTool {
        tool: first.name.to_owned(),
        install,
    })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EXIT_INFRASTRUCTURE;

    fn bin_with(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            let path = dir.path().join(name);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        dir
    }

    #[test]
    fn a_missing_kind_is_reported_with_how_to_install_it() {
        let bin = bin_with(&["docker", "velero", "kubectl"]);
        let err = check(KIND_RUN, bin.path().as_os_str()).unwrap_err();
        assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
        let text = err.to_string();
        assert!(text.starts_with("`kind` was not found on PATH"), "{text}");
        assert!(text.contains("kind.sigs.k8s.io"), "{text}");
    }

    #[test]
    fn every_missing_tool_is_named() {
        let bin = bin_with(&["kubectl"]);
        let text = check(KIND_RUN, bin.path().as_os_str())
            .unwrap_err()
            .to_string();
        assert!(text.contains("`docker`"), "{text}");
        assert!(text.contains("also missing: kind, velero"), "{text}");
    }

    #[test]
    fn a_file_that_is_not_executable_does_not_count() {
        let bin = bin_with(&["docker", "kind", "velero", "kubectl"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let docker = bin.path().join("docker");
            std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(missing(KIND_RUN, bin.path().as_os_str())[0].name, "docker");
        }
    }

    #[test]
    fn all_tools_present_passes() {
        let bin = bin_with(&["docker", "kind", "velero", "kubectl"]);
        assert!(check(KIND_RUN, bin.path().as_os_str()).is_ok());
        let bin = bin_with(&["velero", "kubectl"]);
        assert!(check(EXISTING_RUN, bin.path().as_os_str()).is_ok());
    }
}
