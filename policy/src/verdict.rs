//! Per-object results: which schedules cover it, its worst-case RPO against the tier's target,
//! and every gap with a stable code and a message that says how to fix it.

use std::fmt;
use std::time::Duration;

use crate::config::TierSource;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    Namespace,
    PersistentVolumeClaim,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Namespace => "Namespace",
            Self::PersistentVolumeClaim => "PersistentVolumeClaim",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stable gap codes: dashboards, alerts and CI gates key on these strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GapCode {
    /// No schedule selects the object at all.
    NoSchedule,
    /// Covered, but the worst-case RPO (merged firings of every covering schedule) is above the
    /// tier's target.
    RpoExceedsTarget,
    /// The PVC object is backed up but its volume data is not.
    VolumeNotBackedUp,
    /// Only file-system backup could take the data, and no running pod mounts the volume.
    UnmountedFsBackupOnly,
    /// No covering schedule keeps backups as long as the tier requires (or longer than its interval).
    RetentionBelowMinimum,
    /// A schedule that would cover the object is paused.
    SchedulePaused,
    /// A schedule that would cover the object is invalid (Velero refuses it).
    ScheduleInvalid,
    /// A schedule that would cover the object has a cron expression that never fires.
    ScheduleNeverFires,
    /// The object carries `velero.io/exclude-from-backup=true`.
    ExcludedFromBackup,
    /// `<prefix>/exempt` is set without a reason.
    ExemptionWithoutReason,
    /// The object's `<prefix>/tier` disagrees with the tier the policy gives it.
    TierAnnotationMismatch,
    /// Evidence: the newest finished backup of a covering schedule holds no copy of the claim's
    /// data.
    LastBackupMissedVolume,
    /// Evidence: the newest finished backup of a covering schedule is `Failed` or
    /// `PartiallyFailed`.
    LastBackupFailed,
    /// Evidence: a covering schedule's newest `Completed` backup is older than its worst case.
    BackupOverdue,
    /// A covering schedule writes to a BackupStorageLocation that is not `Available` (before
    /// Velero 1.17, where that is not yet a validation failure): backups fail until it is.
    StorageLocationUnavailable,
    /// A warning: a database's data is backed up by volume, and no Velero pre-backup hook makes
    /// the copy consistent.
    NoConsistencyHook,
    /// A covering schedule names a resource-policy ConfigMap Backstop cannot see (offline), so
    /// its volume policies (skip, snapshot, fs-backup) are not judged.
    VolumePoliciesUnknown,
}

impl GapCode {
    pub const ALL: [GapCode; 17] = [
        Self::NoSchedule,
        Self::RpoExceedsTarget,
        Self::VolumeNotBackedUp,
        Self::UnmountedFsBackupOnly,
        Self::RetentionBelowMinimum,
        Self::SchedulePaused,
        Self::ScheduleInvalid,
        Self::ScheduleNeverFires,
        Self::ExcludedFromBackup,
        Self::ExemptionWithoutReason,
        Self::TierAnnotationMismatch,
        Self::LastBackupMissedVolume,
        Self::LastBackupFailed,
        Self::BackupOverdue,
        Self::StorageLocationUnavailable,
        Self::NoConsistencyHook,
        Self::VolumePoliciesUnknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoSchedule => "no-schedule",
            Self::RpoExceedsTarget => "rpo-exceeds-target",
            Self::VolumeNotBackedUp => "volume-not-backed-up",
            Self::UnmountedFsBackupOnly => "unmounted-fs-backup-only",
            Self::RetentionBelowMinimum => "retention-below-minimum",
            Self::SchedulePaused => "schedule-paused",
            Self::ScheduleInvalid => "schedule-invalid",
            Self::ScheduleNeverFires => "schedule-never-fires",
            Self::ExcludedFromBackup => "excluded-from-backup",
            Self::ExemptionWithoutReason => "exemption-without-reason",
            Self::TierAnnotationMismatch => "tier-annotation-mismatch",
            Self::LastBackupMissedVolume => "last-backup-missed-volume",
            Self::LastBackupFailed => "last-backup-failed",
            Self::BackupOverdue => "backup-overdue",
            Self::StorageLocationUnavailable => "storage-location-unavailable",
            Self::NoConsistencyHook => "no-consistency-hook",
            Self::VolumePoliciesUnknown => "volume-policies-unknown",
        }
    }

    /// What the gap means, in one sentence (`docs/audit.md`, "Gap codes", says the same).
    pub fn summary(self) -> &'static str {
        match self {
            Self::NoSchedule => "No Velero Schedule selects the object at all.",
            Self::RpoExceedsTarget => {
                "Covered, but the worst-case RPO of the covering schedules is above the tier's target."
            }
            Self::VolumeNotBackedUp => "The claim object is backed up but its volume data is not.",
            Self::UnmountedFsBackupOnly => {
                "Only file-system backup could take the data, and no running pod mounts the volume."
            }
            Self::RetentionBelowMinimum => {
                "No covering schedule keeps backups as long as the tier requires, or longer than its interval."
            }
            Self::SchedulePaused => "A schedule that would cover the object is paused.",
            Self::ScheduleInvalid => {
                "A schedule that would cover the object is one Velero refuses (FailedValidation)."
            }
            Self::ScheduleNeverFires => {
                "A schedule that would cover the object has a cron expression that never fires."
            }
            Self::ExcludedFromBackup => {
                "The object, or its namespace, carries velero.io/exclude-from-backup=true."
            }
            Self::ExemptionWithoutReason => "The exemption annotation is set without a reason.",
            Self::TierAnnotationMismatch => {
                "The object's tier annotation disagrees with the tier the policy gives it."
            }
            Self::LastBackupMissedVolume => {
                "The newest finished backup of a schedule that selects the claim holds no copy of its data."
            }
            Self::LastBackupFailed => "The newest finished backup of a covering schedule failed.",
            Self::BackupOverdue => {
                "The newest restorable backup is older than the predicted worst case allows."
            }
            Self::StorageLocationUnavailable => {
                "A covering schedule writes to a BackupStorageLocation that is not Available."
            }
            Self::NoConsistencyHook => {
                "A database's data is backed up by volume without a Velero pre-backup hook that makes the copy consistent."
            }
            Self::VolumePoliciesUnknown => {
                "A covering schedule names a resource-policy ConfigMap the manifests do not hold, so its volume policies are not judged."
            }
        }
    }
}

impl fmt::Display for GapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much of a verdict to write out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Every gap with its message: what users read.
    Messages,
    /// Gap codes, severities and schedules with empty messages: enough to compare two verdicts
    /// or to read the tier and coverage (mutation, judging a Schedule edit), at a fraction of
    /// the cost.
    CodesOnly,
}

impl Detail {
    pub(crate) fn text(self, message: impl FnOnce() -> String) -> String {
        match self {
            Self::Messages => message(),
            Self::CodesOnly => String::new(),
        }
    }
}

/// An `Error` gap breaks the tier's promise; a `Warning` should be seen but breaks nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub code: GapCode,
    pub severity: Severity,
    pub message: String,
    /// The schedule the gap is about, when there is one.
    pub schedule: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub kind: ObjectKind,
    pub namespace: String,
    pub name: String,
    /// `None`: the object is not in the protected set and nothing below applies.
    pub tier: Option<String>,
    pub tier_source: Option<TierSource>,
    /// The reason given in `<prefix>/exempt`, when the object opted out.
    pub exempt: Option<String>,
    /// Active schedules that back up the object *and* its data, best RPO first.
    pub covered_by: Vec<String>,
    /// Worst-case RPO over `covered_by` together: the largest gap of their merged firings plus
    /// the reconcile tick (never more than the best single schedule's); `None` when uncovered.
    pub rpo: Option<Duration>,
    pub rpo_target: Option<Duration>,
    /// Longest retention among `covered_by`.
    pub retention: Option<Duration>,
    pub min_retention: Option<Duration>,
    /// The RPO meets the tier's target.
    pub met: bool,
    pub gaps: Vec<Gap>,
}

impl Verdict {
    pub fn unprotected(kind: ObjectKind, namespace: &str, name: &str) -> Self {
        Self {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
            tier: None,
            tier_source: None,
            exempt: None,
            covered_by: Vec::new(),
            rpo: None,
            rpo_target: None,
            retention: None,
            min_retention: None,
            met: true,
            gaps: Vec::new(),
        }
    }

    pub fn is_protected(&self) -> bool {
        self.tier.is_some() && self.exempt.is_none()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Gap> {
        self.gaps
            .iter()
            .filter(|gap| gap.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Gap> {
        self.gaps
            .iter()
            .filter(|gap| gap.severity == Severity::Warning)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    pub fn has_gap(&self, code: GapCode) -> bool {
        self.gaps.iter().any(|gap| gap.code == code)
    }

    /// `Namespace data-platform` or `PersistentVolumeClaim data-platform/pg-data`.
    pub fn subject(&self) -> String {
        Subject::new(self.kind, &self.namespace, &self.name).to_string()
    }

    fn retention_ok(&self) -> bool {
        !self.has_gap(GapCode::RetentionBelowMinimum)
    }
}

/// Names an object in messages; formats only when a message is actually written.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    kind: ObjectKind,
    namespace: &'a str,
    name: &'a str,
}

impl<'a> Subject<'a> {
    pub fn new(kind: ObjectKind, namespace: &'a str, name: &'a str) -> Self {
        Self {
            kind,
            namespace,
            name,
        }
    }
}

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ObjectKind::Namespace => write!(f, "Namespace {}", self.name),
            ObjectKind::PersistentVolumeClaim => {
                write!(f, "PersistentVolumeClaim {}/{}", self.namespace, self.name)
            }
        }
    }
}

/// An object a change would leave worse off than before, outside its tier. `before` and `after`
/// are compared by gap code, RPO and retention, so their gaps carry codes, severities and
/// schedules but no messages (writing them is most of an evaluation's cost); `reason` says what
/// got worse, and [`crate::CoverageIndex`] evaluates any object in full on request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regression {
    pub before: Verdict,
    pub after: Verdict,
    pub reason: String,
}

/// Why `after` leaves an object worse off than `before`, outside its tier: newly uncovered, a
/// larger RPO above the target, or a retention newly below the minimum; `None` when an edit made
/// nothing worse.
pub(crate) fn worsening(before: &Verdict, after: &Verdict) -> Option<String> {
    let rpo_worse = match (before.rpo, after.rpo) {
        (Some(_), None) => return Some("would lose all backup coverage".to_string()),
        (None, _) => false,
        (Some(old), Some(new)) => new > old,
    };
    if rpo_worse && !after.met {
        return Some(format!(
            "worst-case RPO would grow from {} to {}, above its {} target",
            crate::duration::format_human(before.rpo.unwrap_or_default()),
            crate::duration::format_human(after.rpo.unwrap_or_default()),
            crate::duration::format_human(after.rpo_target.unwrap_or_default()),
        ));
    }
    let rpo_better = matches!((before.rpo, after.rpo), (None, Some(_)))
        || matches!((before.rpo, after.rpo), (Some(old), Some(new)) if new < old);
    if !rpo_better && before.retention_ok() && !after.retention_ok() {
        return Some(format!(
            "retention would drop to {}, below the tier's {} minimum",
            crate::duration::format_human(after.retention.unwrap_or_default()),
            crate::duration::format_human(after.min_retention.unwrap_or_default()),
        ));
    }
    None
}
