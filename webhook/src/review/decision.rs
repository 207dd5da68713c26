//! The decision: what the webhook answers a review, before it is encoded. A denial is a value,
//! not an error.

/// `verdict` label of a decision, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied,
    Warned,
    Invalid,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::Warned => "warned",
            Self::Invalid => "invalid",
        }
    }
}

/// The `status` of a refused review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    /// A Kubernetes `StatusReason`: `Forbidden`, `InvalidRequest`, `Timeout`, `InternalError`.
    pub reason: &'static str,
    pub message: String,
}

/// What the webhook answers. A denial is a value, not an error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// `None`: allowed. `Some`: refused, with its status.
    pub refusal: Option<Refusal>,
    pub warnings: Vec<String>,
    pub patch: Option<json_patch::Patch>,
    /// What enforcement `warn` or `dry-run` let through: it would have been denied under `deny`.
    pub overridden: Option<String>,
}

impl Decision {
    pub fn allow() -> Self {
        Self::default()
    }

    pub fn deny(message: String) -> Self {
        Self {
            refusal: Some(Refusal {
                code: 403,
                reason: "Forbidden",
                message,
            }),
            ..Self::default()
        }
    }

    /// A review Backstop could not read (kube-rs's `AdmissionResponse::invalid`).
    pub fn invalid(message: String) -> Self {
        Self {
            refusal: Some(Refusal {
                code: 400,
                reason: "InvalidRequest",
                message,
            }),
            ..Self::default()
        }
    }

    pub fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }

    pub fn is_allowed(&self) -> bool {
        self.refusal.is_none()
    }

    pub fn outcome(&self) -> Outcome {
        match &self.refusal {
            Some(refusal) if refusal.reason == "InvalidRequest" => Outcome::Invalid,
            Some(_) => Outcome::Denied,
            None if !self.warnings.is_empty() => Outcome::Warned,
            None => Outcome::Allowed,
        }
    }

    pub fn message(&self) -> Option<&str> {
        self.refusal
            .as_ref()
            .map(|refusal| refusal.message.as_str())
    }
}
