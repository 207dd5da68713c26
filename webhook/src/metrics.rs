//! STUB with the final API: the runtime engineer implements it with prometheus-client.

use std::time::Duration;

/// One admission decision, as recorded by the handlers.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRecord<'a> {
    /// `mutate` or `validate`.
    pub endpoint: &'a str,
    /// `Namespace`, `PersistentVolumeClaim`, `Schedule`, or `other`.
    pub kind: &'a str,
    /// `CREATE`, `UPDATE`, `DELETE`, `CONNECT`.
    pub operation: &'a str,
    /// `allowed`, `denied`, `warned` or `invalid`.
    pub verdict: &'a str,
    pub elapsed: Duration,
}

/// Why a review could not be decided normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    Decode,
    Timeout,
    Internal,
}

#[derive(Debug, Default)]
pub struct Metrics {}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record_decision(&self, _record: DecisionRecord<'_>) {}

    pub fn record_failure(&self, _reason: FailureReason) {}
}
