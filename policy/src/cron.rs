//! TEMPORARY STUB — being replaced by the cron engineer. Signatures are the contract.
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::PolicyError;

/// Velero's schedule controller requeues every minute: a backup can start up to one tick late.
pub const RECONCILE_TICK: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct CronSchedule {
    expression: String,
    worst: Option<Duration>,
}

pub fn parse_schedule(expr: &str) -> Result<CronSchedule, PolicyError> {
    let worst = match expr {
        "0 * * * *" | "@hourly" => Some(Duration::from_secs(3600)),
        _ => Some(Duration::from_secs(86_400)),
    };
    Ok(CronSchedule {
        expression: expr.to_string(),
        worst,
    })
}

impl CronSchedule {
    pub fn expression(&self) -> &str {
        &self.expression
    }

    pub fn worst_case_interval(&self) -> Option<Duration> {
        self.worst
    }

    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(after)
    }
}
