//! Creating a Velero Restore from the plan's manifest (the same text `run --plan` prints)
//! and watching it to a terminal phase. Velero's CRDs have no status subresource: the
//! phase is read from the main resource, as every watch event carries it.

use std::time::Duration;

use ::kube::api::PostParams;
use ::kube::{Api, Client};
use policy::velero::Restore;

use crate::error::Error;
use crate::kube::namespace::RUN_LABEL;
use crate::kube::strict;
use crate::kube::wait::{self, Target};
use crate::outcome::{RestoreOutcome, RestorePhase};

/// Namespace Velero runs in (and keeps its objects in).
pub const VELERO_NAMESPACE: &str = "velero";

/// What the Restore's status said when it reached a terminal phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub phase: RestorePhase,
    pub warnings: u32,
    pub errors: u32,
    pub failure_reason: Option<String>,
}

/// Velero's phase names (`Restore.status.phase`), `None` for one this build does not know.
pub fn phase_named(name: &str) -> Option<RestorePhase> {
    use RestorePhase::*;
    [
        New,
        InProgress,
        WaitingForPluginOperations,
        WaitingForPluginOperationsPartiallyFailed,
        Finalizing,
        FinalizingPartiallyFailed,
        Completed,
        PartiallyFailed,
        Failed,
        FailedValidation,
    ]
    .into_iter()
    .find(|p| p.name() == name)
}

/// Whether Velero is done with a restore in this phase.
pub fn is_terminal(phase: RestorePhase) -> bool {
    matches!(
        phase,
        RestorePhase::Completed
            | RestorePhase::PartiallyFailed
            | RestorePhase::Failed
            | RestorePhase::FailedValidation
    )
}

/// Parses the plan's Restore manifest and creates it.
pub async fn create(client: &Client, manifest: &str) -> Result<Restore, Error> {
    let restore: Restore =
        serde_saphyr::from_str(manifest).map_err(|e| Error::InvalidArgument {
            argument: "Restore manifest".into(),
            message: e.to_string(),
        })?;
    let name = restore.metadata.name.clone().unwrap_or_default();
    let api: Api<Restore> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    api.create(&PostParams::default(), &restore)
        .await
        .map_err(|source| Error::Kube {
            action: format!("create Restore {VELERO_NAMESPACE}/{name}"),
            source: Box::new(source),
        })
}

/// The live run's Restore as it is sent: the plan's manifest parsed, labelled for the run
/// ([`RUN_LABEL`]` = run_id`).
pub fn labelled(manifest: &str, run_id: &str) -> Result<Restore, Error> {
    let mut restore: Restore =
        serde_saphyr::from_str(manifest).map_err(|e| Error::InvalidArgument {
            argument: "Restore manifest".into(),
            message: e.to_string(),
        })?;
    restore
        .metadata
        .labels
        .get_or_insert_default()
        .insert(RUN_LABEL.to_owned(), run_id.to_owned());
    Ok(restore)
}

/// Creates [`labelled`] with strict field validation (the live run's Restore; the drill's is
/// [`create`]).
pub async fn create_labelled(
    client: &Client,
    manifest: &str,
    run_id: &str,
) -> Result<Restore, Error> {
    let restore = labelled(manifest, run_id)?;
    let name = restore.metadata.name.clone().unwrap_or_default();
    strict::create(
        client,
        Some(VELERO_NAMESPACE),
        &restore,
        format!("create Restore {VELERO_NAMESPACE}/{name}"),
    )
    .await
}

/// Watches the Restore `name` until its phase is terminal.
pub async fn wait_finished(
    client: &Client,
    name: &str,
    timeout: Duration,
) -> Result<Finished, Error> {
    let api: Api<Restore> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    wait::until(
        &api,
        Target {
            name,
            what: format!(
                "Restore {VELERO_NAMESPACE}/{name} to reach Completed, PartiallyFailed or Failed"
            ),
            timeout,
        },
        |restore| {
            let status = restore?.status.as_ref()?;
            let phase = phase_named(status.phase.as_deref()?)?;
            is_terminal(phase).then(|| Finished {
                phase,
                warnings: status.warnings.unwrap_or(0),
                errors: status.errors.unwrap_or(0),
                failure_reason: status.failure_reason.clone(),
            })
        },
        |restore| match restore {
            None => format!("no Restore {name}"),
            Some(r) => format!(
                "Restore {name} in phase {}",
                r.status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .unwrap_or("(no status yet)")
            ),
        },
    )
    .await
}

/// The outcome recorded in `result.json`: the status counts, with the messages Velero gave
/// (from `velero restore describe --details`) where the run has them.
pub fn outcome(
    name: &str,
    backup: &str,
    finished: &Finished,
    warning_messages: &[String],
    error_messages: &[String],
) -> RestoreOutcome {
    let fill = |count: u32, messages: &[String], kind: &str| -> Vec<String> {
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        let mut out: Vec<String> = messages.iter().take(count).cloned().collect();
        while out.len() < count {
            out.push(format!(
                "{kind} {} of {count}: see `velero restore describe {name} --details`",
                out.len() + 1
            ));
        }
        out
    };
    let mut errors = fill(finished.errors, error_messages, "error");
    if let Some(reason) = &finished.failure_reason {
        errors.insert(0, format!("failure reason: {reason}"));
    }
    RestoreOutcome {
        name: name.to_owned(),
        backup: backup.to_owned(),
        phase: finished.phase,
        warnings: fill(finished.warnings, warning_messages, "warning"),
        errors,
    }
}
