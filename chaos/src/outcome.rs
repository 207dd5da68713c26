//! What a run saw of the restore and the pods, and the targets it is held to: the facts
//! that both [`crate::result`] (which stores them) and [`crate::verdict`] (which judges
//! them) read, so neither depends on the other for them.

use serde::{Deserialize, Serialize};

use crate::scenario::{HumanDuration, Scenario};

/// Velero's `Restore.status.phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestorePhase {
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
}

impl RestorePhase {
    pub fn name(self) -> &'static str {
        match self {
            Self::New => "New",
            Self::InProgress => "InProgress",
            Self::WaitingForPluginOperations => "WaitingForPluginOperations",
            Self::WaitingForPluginOperationsPartiallyFailed => {
                "WaitingForPluginOperationsPartiallyFailed"
            }
            Self::Finalizing => "Finalizing",
            Self::FinalizingPartiallyFailed => "FinalizingPartiallyFailed",
            Self::Completed => "Completed",
            Self::PartiallyFailed => "PartiallyFailed",
            Self::Failed => "Failed",
            Self::FailedValidation => "FailedValidation",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreOutcome {
    pub name: String,
    pub backup: String,
    pub phase: RestorePhase,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodsOutcome {
    pub ready: bool,
    /// What was seen (`1/1 pods Ready in backstop-chaos`).
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetsMs {
    pub rto_ms: u64,
    pub rpo_ms: u64,
}

impl TargetsMs {
    pub fn of(scenario: &Scenario) -> Self {
        let ms = |d: HumanDuration| u64::try_from(d.0.as_millis()).unwrap_or(u64::MAX);
        Self {
            rto_ms: ms(scenario.targets.rto),
            rpo_ms: ms(scenario.targets.rpo),
        }
    }
}
