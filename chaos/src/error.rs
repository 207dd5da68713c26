//! The crate's one error type, and how each kind of error maps to an exit code.
//!
//! A failed check is not an error: it is a value in a result, and turns into
//! exit code 1 through [`crate::command::Outcome`]. Errors are what stops a
//! command from reaching a verdict at all.

use std::path::PathBuf;

/// Exit code of a run or report whose verdict is pass.
pub const EXIT_PASS: u8 = 0;
/// Exit code of a run, report or ledger verification whose verdict is fail.
pub const EXIT_FAILED_VERDICT: u8 = 1;
/// Exit code for bad input: a scenario, result file, ledger path or flag that is wrong.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code when the harness itself could not do its job (disk, network, tools).
pub const EXIT_INFRASTRUCTURE: u8 = 3;

/// Everything that can stop a `backstop-chaos` command before it reaches a verdict.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file could not be read (missing, unreadable).
    #[error("{}: {source}", path.display())]
    ReadInput {
        path: PathBuf,
        source: std::io::Error,
    },

    /// An input file was read but its content is wrong. `field` is the path of the
    /// offending field (`fault.after`), or `<root>` for a document-level problem.
    #[error("{}: {field}: {message}", path.display())]
    InvalidInput {
        path: PathBuf,
        field: String,
        message: String,
    },

    /// A command-line value that parsed but makes no sense.
    #[error("invalid argument {argument}: {message}")]
    InvalidArgument { argument: String, message: String },

    /// Writing or syncing a file the harness owns failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A socket could not be bound or served.
    #[error("cannot serve on {address}: {source}")]
    Serve {
        address: String,
        source: std::io::Error,
    },

    /// A tool the live run needs is not on PATH.
    #[error("`{tool}` was not found on PATH; {install}")]
    MissingTool { tool: String, install: String },

    /// An external command could not be started, or failed.
    #[error("`{command}` {outcome}{}", stderr_tail(stderr))]
    Command {
        command: String,
        outcome: String,
        stderr: String,
    },

    /// A wait ran out of time: what it waited for, and the last state it saw.
    #[error("timed out after {after:?} waiting for {what}; last seen: {last_seen}")]
    Timeout {
        what: String,
        after: std::time::Duration,
        last_seen: String,
    },

    /// A Kubernetes API call failed.
    #[error("Kubernetes API: {action}: {source}")]
    Kube {
        action: String,
        source: Box<kube::Error>,
    },

    /// A kubeconfig could not be read or used.
    #[error("kubeconfig {}: {source}", path.display())]
    Kubeconfig {
        path: PathBuf,
        source: Box<kube::config::KubeconfigError>,
    },

    /// A call to the S3 store failed (transport, or an answer that is not success).
    #[error("S3 store: {action}: {message}")]
    Store { action: String, message: String },

    /// The cluster cannot do what the command needs: the API server cannot be reached, or
    /// Velero is not installed in it. The message says which, plainly.
    #[error("{0}")]
    Unavailable(String),

    /// A fault was injected but did not do what it must (the chain still verifies after a
    /// corruption): the run cannot measure a recovery from it.
    #[error("the fault did not take effect: {0}")]
    FaultDidNotTake(String),

    /// The run or drill was stopped (Ctrl-C, SIGTERM) and what it made was torn down, or named.
    #[error("interrupted: {0}")]
    Interrupted(String),

    /// The policy file or manifests could not be read or parsed (`simulate`).
    #[error("{0}")]
    LoadInput(#[source] backstop_webhook::WebhookError),

    /// The cluster could not be read: kubeconfig, connection, a list call, a missing CRD.
    #[error("{0}")]
    ClusterRead(#[source] backstop_webhook::WebhookError),
}

impl Error {
    /// The process exit code this error stands for (documented in `--help` and `docs/chaos.md`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::ReadInput { .. }
            | Self::InvalidInput { .. }
            | Self::InvalidArgument { .. }
            | Self::LoadInput(_) => EXIT_BAD_INPUT,
            // The webhook crate classifies its own errors: kubeconfig problems are bad input.
            Self::ClusterRead(error) if error.exit_code() == EXIT_BAD_INPUT => EXIT_BAD_INPUT,
            Self::Io { .. }
            | Self::Serve { .. }
            | Self::MissingTool { .. }
            | Self::Command { .. }
            | Self::Timeout { .. }
            | Self::Kube { .. }
            | Self::Kubeconfig { .. }
            | Self::Store { .. }
            | Self::Unavailable(_)
            | Self::FaultDidNotTake(_)
            | Self::Interrupted(_)
            | Self::ClusterRead(_) => EXIT_INFRASTRUCTURE,
        }
    }

    /// Shorthand for an [`Error::InvalidInput`].
    pub fn invalid(
        path: impl Into<PathBuf>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::InvalidInput {
            path: path.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The last lines of a command's stderr, for an error message.
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(5)..];
    format!(": {}", tail.join(" / "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_problems_exit_with_bad_input() {
        let missing = Error::ReadInput {
            path: "x.yaml".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(missing.exit_code(), EXIT_BAD_INPUT);
        assert_eq!(
            Error::invalid("x.yaml", "fault.after", "bad").exit_code(),
            EXIT_BAD_INPUT
        );
    }

    #[test]
    fn harness_problems_exit_with_infrastructure_failure() {
        let disk = Error::Io {
            path: "ledger.log".into(),
            source: std::io::Error::other("disk full"),
        };
        assert_eq!(disk.exit_code(), EXIT_INFRASTRUCTURE);
    }

    #[test]
    fn invalid_input_names_the_file_and_the_field() {
        let e = Error::invalid(
            "fixtures/scenarios/x.yaml",
            "fault.after",
            "must be positive",
        );
        assert_eq!(
            e.to_string(),
            "fixtures/scenarios/x.yaml: fault.after: must be positive"
        );
    }
}
