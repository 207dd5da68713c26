//! Velero's rules that changed between releases, as one table: a rule holds from the release
//! named beside it. Judging a cluster follows the Velero version it runs (the policy's
//! `velero.version`, or the cluster's Velero Deployment image), so a new release is one entry.

use std::fmt;

/// A Velero release line, `major.minor` (patch releases do not change coverage rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VeleroVersion {
    pub major: u16,
    pub minor: u16,
}

impl VeleroVersion {
    /// The oldest release line Backstop models (`docs/audit.md`, "How coverage is judged").
    pub const OLDEST: Self = Self::new(1, 14);
    /// The newest released line: the default when neither the policy nor the cluster says.
    pub const LATEST: Self = Self::new(1, 18);
    /// Velero's unreleased main (as read on 2026-08-21), the line after [`Self::LATEST`]: what
    /// it changes is modelled so that the release is one version bump here.
    pub const UNRELEASED: Self = Self::new(1, 19);

    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// `1.18`, `v1.18.2`, `v1.17.0-rc.1`, or an image tag such as `velero/velero:v1.16.1`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let reference = text
            .split_once('@')
            .map_or(text, |(reference, _)| reference);
        let tag = reference.rsplit_once(':').map_or(reference, |(_, tag)| tag);
        let bare = tag.trim().trim_start_matches('v');
        let mut parts = bare.split(['.', '-', '+']);
        let number = |part: Option<&str>| part.and_then(|part| part.parse::<u16>().ok());
        match (number(parts.next()), number(parts.next())) {
            (Some(major), Some(minor)) => Ok(Self { major, minor }),
            _ => Err(format!(
                "{text:?} is not a Velero version: write major.minor, e.g. \"1.18\" or \"v1.18.2\""
            )),
        }
    }

    /// Does `rule` hold in this release?
    pub fn has(self, rule: VersionedRule) -> bool {
        self >= rule.since()
    }

    /// The cron dialect this release parses `spec.schedule` with.
    pub fn cron_dialect(self) -> CronDialect {
        CRON_DIALECTS
            .iter()
            .rev()
            .find(|(since, _)| self >= *since)
            .map_or(CronDialect::RobfigV3, |(_, dialect)| *dialect)
    }
}

impl fmt::Display for VeleroVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

impl Default for VeleroVersion {
    fn default() -> Self {
        Self::LATEST
    }
}

/// The coverage rules that hold only from some release on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionedRule {
    /// `?` and `[...]` are accepted in namespace lists (`pkg/util/wildcard`,
    /// `ValidateNamespaceName`); before, validation refuses them as invalid names.
    NamespaceGlobClasses,
    /// A BackupStorageLocation that is not `Available` fails a backup's validation
    /// (`pkg/controller/backup_controller.go`, `prepareBackupRequest`, `BSLIsAvailable`).
    UnavailableLocationFails,
    /// A backed-up bound PVC brings in the running pods that mount it
    /// (`pkg/itemblock/actions/pvc_action.go`, `GetRelatedItems`).
    PvcPullsInPods,
    /// The Kubernetes default VolumeSnapshotClass of a driver is chosen when none carries
    /// Velero's label (`pkg/util/csi/volume_snapshot.go`, `GetVolumeSnapshotClassForStorageClass`).
    DefaultSnapshotClassFallback,
    /// Volume policies read the claim: the `pvcLabels` condition and `csi.volumeAttributes`
    /// (`internal/resourcepolicies`, `volumeConditions`, `parsePVC`).
    VolumePolicyPvcLabels,
    /// The resource-policy ConfigMap may hold an `includeExcludePolicy`
    /// (`internal/resourcepolicies`, `ResourcePolicies`).
    IncludeExcludePolicy,
    /// The `pvcPhase` condition, and a claim without a volume matched by its claim alone
    /// (`Policies.GetMatchAction`, `case data.PVC != nil`).
    VolumePolicyPvcPhase,
    /// The `pvcVolumeMode` and `pvcAccessModes` conditions.
    VolumePolicyPvcModes,
    /// The `custom` action, and action parameters checked (`dataMover`, `snapshotClass`, which
    /// names the VolumeSnapshotClass: `GetVolumeSnapshotClassFromVolumePolicy`).
    VolumePolicyActionParameters,
    /// `clusterScopedFilterPolicy` and `namespacedFilterPolicies` in the resource policy.
    FineGrainedFilterPolicies,
    /// A scheduled Backup takes its annotations from `spec.template.metadata.annotations` when
    /// set, else from the Schedule (`pkg/builder/backup_builder.go`, `FromSchedule`).
    ScheduleTemplateAnnotations,
}

impl VersionedRule {
    pub const ALL: [Self; 11] = [
        Self::NamespaceGlobClasses,
        Self::UnavailableLocationFails,
        Self::PvcPullsInPods,
        Self::DefaultSnapshotClassFallback,
        Self::VolumePolicyPvcLabels,
        Self::IncludeExcludePolicy,
        Self::VolumePolicyPvcPhase,
        Self::VolumePolicyPvcModes,
        Self::VolumePolicyActionParameters,
        Self::FineGrainedFilterPolicies,
        Self::ScheduleTemplateAnnotations,
    ];

    /// The release the rule holds from.
    pub fn since(self) -> VeleroVersion {
        match self {
            Self::PvcPullsInPods => VeleroVersion::new(1, 15),
            Self::VolumePolicyPvcLabels => VeleroVersion::new(1, 16),
            Self::UnavailableLocationFails
            | Self::DefaultSnapshotClassFallback
            | Self::IncludeExcludePolicy => VeleroVersion::new(1, 17),
            Self::NamespaceGlobClasses | Self::VolumePolicyPvcPhase => VeleroVersion::new(1, 18),
            Self::VolumePolicyPvcModes
            | Self::VolumePolicyActionParameters
            | Self::FineGrainedFilterPolicies
            | Self::ScheduleTemplateAnnotations => VeleroVersion::UNRELEASED,
        }
    }
}

/// How a release reads cron expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronDialect {
    /// `robfig/cron/v3` (every released Velero): day-of-month and day-of-week are ORed when
    /// both are restricted, and a time a DST change skips does not fire that day.
    RobfigV3,
}

/// From which release each cron dialect applies. Velero's unreleased main has moved to
/// `netresearch/go-cron` (day fields ANDed by default, a skipped time fires right after the
/// change): the release that ships it adds its entry here, with that dialect.
const CRON_DIALECTS: &[(VeleroVersion, CronDialect)] =
    &[(VeleroVersion::new(1, 0), CronDialect::RobfigV3)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions_tags_and_image_references() {
        for text in [
            "1.18",
            "v1.18.2",
            "v1.18.0-rc.1",
            "velero/velero:v1.18.1",
            "registry:5000/velero/velero:v1.18.1@sha256:abc",
        ] {
            assert_eq!(
                VeleroVersion::parse(text),
                Ok(VeleroVersion::new(1, 18)),
                "{text}"
            );
        }
        assert!(VeleroVersion::parse("latest").is_err());
        assert!(VeleroVersion::parse("velero/velero:main").is_err());
    }

    #[test]
    fn each_rule_holds_from_its_release_on() {
        let v1_14 = VeleroVersion::new(1, 14);
        let v1_17 = VeleroVersion::new(1, 17);
        assert!(!v1_14.has(VersionedRule::PvcPullsInPods));
        assert!(VeleroVersion::new(1, 15).has(VersionedRule::PvcPullsInPods));
        assert!(!VeleroVersion::new(1, 16).has(VersionedRule::UnavailableLocationFails));
        assert!(v1_17.has(VersionedRule::UnavailableLocationFails));
        assert!(v1_17.has(VersionedRule::DefaultSnapshotClassFallback));
        assert!(!v1_17.has(VersionedRule::NamespaceGlobClasses));
        for rule in VersionedRule::ALL {
            assert!(VeleroVersion::UNRELEASED.has(rule), "{rule:?}");
            assert!(rule.since() >= VeleroVersion::OLDEST, "{rule:?}");
        }
        assert!(!VeleroVersion::LATEST.has(VersionedRule::ScheduleTemplateAnnotations));
    }

    #[test]
    fn every_released_version_parses_cron_as_robfig_v3() {
        for minor in 14..=18 {
            assert_eq!(
                VeleroVersion::new(1, minor).cron_dialect(),
                CronDialect::RobfigV3
            );
        }
    }
}
