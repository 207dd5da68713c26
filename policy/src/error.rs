use std::fmt;

/// Everything that can go wrong while reading a policy, a manifest or a Velero schedule.
///
/// A *denial* or a coverage *gap* is never an error: those are values ([`crate::Verdict`]).
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A YAML/JSON document could not be read into the expected shape.
    #[error("{origin}: {path}: {message}")]
    Document {
        /// File name (or other origin) of the document, with the document index when relevant.
        origin: String,
        /// Path inside the document (`tiers.critical.rpo`), `.` for the document root.
        path: String,
        message: String,
    },
    /// The policy parsed but is not coherent (unknown tier, bad glob, ...).
    #[error("{origin}: {path}: {message}")]
    Invalid {
        origin: String,
        path: String,
        message: String,
    },
    /// A Go-style duration (`15m`, `720h0m0s`) could not be parsed.
    #[error("invalid duration {input:?}: {reason}")]
    Duration { input: String, reason: String },
    /// A Velero cron expression that Velero itself would reject.
    #[error("invalid schedule {expr:?}: {reason}")]
    Cron { expr: String, reason: String },
    /// A label selector that cannot be evaluated.
    #[error("invalid label selector: {0}")]
    Selector(String),
}

/// A path inside a document, printed as `a.b[2].c`.
#[derive(Debug, Default, Clone)]
pub struct DocPath(Vec<String>);

impl DocPath {
    pub fn root() -> Self {
        Self::default()
    }

    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut next = self.clone();
        next.0.push(key.into());
        next
    }

    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        match next.0.last_mut() {
            Some(last) => last.push_str(&format!("[{index}]")),
            None => next.0.push(format!("[{index}]")),
        }
        next
    }
}

impl fmt::Display for DocPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(".")
        } else {
            f.write_str(&self.0.join("."))
        }
    }
}
