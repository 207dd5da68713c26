//! A Velero Schedule compiled once into filters that coverage can test cheaply, with every
//! reason Velero would refuse it (`FailedValidation`) collected instead of thrown.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};

use crate::cron::{CronSchedule, RECONCILE_TICK, parse_schedule};
use crate::duration::{format_human, parse_go_duration};
use crate::pattern::NamePattern;
use crate::resources::ResourceFilter;
use crate::velero::Schedule;
use crate::velero::keys::CSI_SNAPSHOT_CLASS;
use crate::verdict::GapCode;
use crate::versions::{VeleroVersion, VersionedRule};
use crate::volume_policy::VolumePolicies;

mod resource_policy;
mod validation;

pub use self::validation::ServerView;

/// Velero's server default when a backup's `ttl` is absent or zero (`--default-backup-ttl`).
pub const DEFAULT_TTL: Duration = crate::server::DEFAULT_BACKUP_TTL;

/// Velero's namespace filter: empty or `*` includes all; excludes win.
#[derive(Debug, Clone)]
pub struct NamespaceFilter {
    pub includes: Vec<NamePattern>,
    pub excludes: Vec<NamePattern>,
}

impl NamespaceFilter {
    pub fn includes_all(&self) -> bool {
        self.includes.is_empty() || self.includes.iter().any(NamePattern::is_match_all)
    }

    /// Velero's `IncludeEverything`: every namespace and no exclude at all (the namespaces
    /// labelled `velero.io/exclude-from-backup=true` count as excludes).
    pub fn includes_everything(&self) -> bool {
        self.excludes.is_empty() && self.includes_all()
    }

    /// The namespaces the includes name when they name them all exactly (excludes still
    /// apply); `None` when the filter can select namespaces it does not name.
    pub fn exact_names(&self) -> Option<Vec<&str>> {
        if self.includes.is_empty() {
            return None;
        }
        self.includes.iter().map(NamePattern::exact).collect()
    }

    pub fn selects(&self, namespace: &str) -> bool {
        !self
            .excludes
            .iter()
            .any(|pattern| pattern.matches(namespace))
            && (self.includes_all()
                || self
                    .includes
                    .iter()
                    .any(|pattern| pattern.matches(namespace)))
    }
}

/// `labelSelector` (all must match) or `orLabelSelectors` (any must match); none selects all.
#[derive(Debug, Clone)]
pub enum LabelFilter {
    All,
    Selector(Selector),
    AnyOf(Vec<Selector>),
}

impl LabelFilter {
    /// No `labelSelector` or `orLabelSelectors`: every object passes.
    pub fn is_all(&self) -> bool {
        matches!(self, Self::All)
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Self::All => true,
            Self::Selector(selector) => selector.matches(labels),
            Self::AnyOf(selectors) => selectors.iter().any(|selector| selector.matches(labels)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleState {
    Active,
    Paused,
    Invalid,
}

#[derive(Debug, Clone)]
pub struct CompiledSchedule {
    pub name: String,
    pub namespace: String,
    pub expression: String,
    pub cron: Option<CronSchedule>,
    pub paused: bool,
    /// Why Velero would refuse (or has refused) this schedule; empty when valid.
    pub problems: Vec<String>,
    /// What is off without failing the backup (an unavailable location before Velero 1.17, a
    /// resource policy Backstop cannot see), with the gap code objects it covers get.
    pub warnings: Vec<(GapCode, String)>,
    pub ttl: Duration,
    pub namespaces: NamespaceFilter,
    pub resources: ResourceFilter,
    pub labels: LabelFilter,
    pub snapshot_volumes: bool,
    /// The template's `defaultVolumesToFsBackup` (or the deprecated `defaultVolumesToRestic:
    /// true`), else the server's `--default-volumes-to-fs-backup`.
    pub default_volumes_to_fs_backup: bool,
    /// The release the schedule is judged by.
    pub version: VeleroVersion,
    /// The server runs with `--features=EnableCSI`.
    pub csi_enabled: bool,
    /// Where the server's configuration was read, for messages.
    pub server_origin: String,
    /// The volume policies of the template's `resourcePolicy` ConfigMap, when it names one
    /// Backstop can read.
    pub volume_policies: Option<Arc<VolumePolicies>>,
    /// The Backup's `velero.io/csi-volumesnapshot-class_<driver>` annotations: driver (as written
    /// after the `_`) → VolumeSnapshotClass name.
    pub snapshot_class_by_driver: BTreeMap<String, String>,
    /// `1h1m (best schedule hourly: "0 * * * *" leaves gaps of up to 1h, plus the 1m reconcile
    /// tick)`, written once here rather than into every verdict that quotes it.
    pub rpo_summary: String,
    /// When the Schedule object was created (its metadata), if known: backup evidence counts a
    /// schedule that never completed a backup as overdue from then.
    pub created: Option<k8s_openapi::jiff::Timestamp>,
}

impl CompiledSchedule {
    /// Cheap after the first time an expression is seen: [`parse_schedule`] memoises the
    /// worst-case analysis, the only expensive step, by source text. `view` is the cluster as
    /// Velero's backup controller validates the backups against it.
    pub fn compile(schedule: &Schedule, view: &ServerView) -> Self {
        let spec = &schedule.spec;
        let template = &spec.template;
        let mut problems = Vec::new();
        if let Some(status) = &schedule.status
            && status.phase.as_deref() == Some("FailedValidation")
        {
            let reported = status.validation_errors.clone().unwrap_or_default();
            if reported.is_empty() {
                problems.push("Velero reports phase FailedValidation".to_string());
            } else {
                problems.extend(reported);
            }
        }
        let cron = if spec.schedule.trim().is_empty() {
            problems.push("spec.schedule is empty".to_string());
            None
        } else {
            parse_schedule(&spec.schedule)
                .map_err(|error| problems.push(error.to_string()))
                .ok()
        };
        let server = &view.server;
        let default_ttl = server.default_backup_ttl;
        let ttl = match template.ttl.as_deref() {
            None => default_ttl,
            Some(text) => match parse_go_duration(text) {
                Ok(duration) if duration.is_zero() => default_ttl,
                Ok(duration) => duration,
                Err(error) => {
                    problems.push(format!("spec.template.ttl: {error}"));
                    default_ttl
                }
            },
        };
        let mut findings = validation::Findings::default();
        validation::namespace_lists(template, view, &mut findings);
        validation::storage_locations(template, view, &mut findings);
        let mut pattern_problems = Vec::new();
        let mut namespaces = NamespaceFilter {
            includes: compile_patterns(
                &template.included_namespaces,
                "includedNamespaces",
                &mut pattern_problems,
            ),
            excludes: compile_patterns(
                &template.excluded_namespaces,
                "excludedNamespaces",
                &mut pattern_problems,
            ),
        };
        // Velero adds the namespaces labelled velero.io/exclude-from-backup=true to the excludes.
        namespaces.excludes.extend(
            view.label_excluded_namespaces
                .iter()
                .map(|name| NamePattern::Exact(name.clone())),
        );
        // A name Velero's validation refuses is reported once, in Velero's terms.
        if findings.problems.is_empty() {
            problems.extend(pattern_problems);
        }
        problems.extend(findings.problems);
        let volume_policies =
            resource_policy::read(template, view, &mut problems, &mut findings.warnings);
        // An invalid schedule covers nothing whatever its filter; "everything" only lets the
        // verdicts say which objects it would have covered.
        let mut resources = ResourceFilter::from_spec(template).unwrap_or_else(|problem| {
            problems.push(problem);
            ResourceFilter::everything()
        });
        if let Some(policy) = volume_policies
            .as_ref()
            .and_then(|policies| policies.include_exclude.as_ref())
        {
            resources.combine_with_policy(policy);
        }
        let labels = compile_labels(
            &template.label_selector,
            &template.or_label_selectors,
            &mut problems,
        );
        let worst = cron.as_ref().and_then(CronSchedule::worst_case_interval);
        let rpo_summary = match worst {
            Some(interval) => format!(
                "{} (schedule {}: {:?} leaves gaps of up to {}, plus the {} reconcile tick)",
                format_human(interval + RECONCILE_TICK),
                schedule.name_any(),
                spec.schedule,
                format_human(interval),
                format_human(RECONCILE_TICK),
            ),
            None => format!("unbounded (schedule {} never fires)", schedule.name_any()),
        };
        Self {
            rpo_summary,
            name: schedule.name_any(),
            namespace: schedule.namespace().unwrap_or_default(),
            expression: spec.schedule.clone(),
            cron,
            paused: spec.paused == Some(true),
            problems,
            warnings: findings.warnings,
            ttl,
            namespaces,
            resources,
            labels,
            snapshot_volumes: template.snapshot_volumes != Some(false),
            default_volumes_to_fs_backup: if template.default_volumes_to_restic == Some(true) {
                true
            } else {
                template
                    .default_volumes_to_fs_backup
                    .unwrap_or(server.default_volumes_to_fs_backup)
            },
            version: server.version,
            csi_enabled: server.csi_enabled(),
            server_origin: server.origin.clone(),
            volume_policies,
            snapshot_class_by_driver: snapshot_class_annotations(schedule, server.version),
            created: schedule
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|time| time.0),
        }
    }

    pub fn state(&self) -> ScheduleState {
        if !self.problems.is_empty() {
            ScheduleState::Invalid
        } else if self.paused {
            ScheduleState::Paused
        } else {
            ScheduleState::Active
        }
    }

    /// Largest gap between two backups; `None` when the expression never fires or is invalid.
    pub fn worst_interval(&self) -> Option<Duration> {
        self.cron
            .as_ref()
            .and_then(CronSchedule::worst_case_interval)
    }

    /// Worst-case RPO this schedule gives: the largest gap plus one reconcile tick.
    pub fn worst_rpo(&self) -> Option<Duration> {
        self.worst_interval()
            .map(|interval| interval + RECONCILE_TICK)
    }
}

/// The Backup's annotations (`FromSchedule`: the Schedule's own, or after 1.18 the template's
/// `metadata.annotations` when set) that name a VolumeSnapshotClass per CSI driver.
fn snapshot_class_annotations(
    schedule: &Schedule,
    version: VeleroVersion,
) -> BTreeMap<String, String> {
    let template_annotations = schedule
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.annotations.as_ref())
        .filter(|_| version.has(VersionedRule::ScheduleTemplateAnnotations));
    let annotations = template_annotations.or(schedule.metadata.annotations.as_ref());
    let prefix = format!("{CSI_SNAPSHOT_CLASS}_");
    annotations
        .into_iter()
        .flatten()
        .filter_map(|(key, class)| {
            key.strip_prefix(&prefix)
                .map(|driver| (driver.to_string(), class.clone()))
        })
        .collect()
}

fn compile_patterns(
    list: &Option<Vec<String>>,
    field: &str,
    problems: &mut Vec<String>,
) -> Vec<NamePattern> {
    list.iter()
        .flatten()
        .filter_map(|source| {
            NamePattern::parse(source)
                .map_err(|error| problems.push(format!("spec.template.{field}: {error}")))
                .ok()
        })
        .collect()
}

fn compile_labels(
    selector: &Option<LabelSelector>,
    any_of: &Option<Vec<LabelSelector>>,
    problems: &mut Vec<String>,
) -> LabelFilter {
    let mut convert = |selector: &LabelSelector| {
        Selector::try_from(selector.clone())
            .map_err(|error| problems.push(format!("invalid label selector: {error}")))
            .ok()
    };
    match (selector, any_of.as_ref().filter(|list| !list.is_empty())) {
        (Some(_), Some(_)) => {
            // Velero: "encountered labelSelector as well as orLabelSelectors in backup spec,
            // only one can be specified".
            problems.push(
                "labelSelector and orLabelSelectors are both set; Velero allows only one"
                    .to_string(),
            );
            LabelFilter::All
        }
        (Some(selector), None) => convert(selector).map_or(LabelFilter::All, LabelFilter::Selector),
        (None, Some(list)) => LabelFilter::AnyOf(list.iter().filter_map(convert).collect()),
        (None, None) => LabelFilter::All,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(includes: &[&str]) -> NamespaceFilter {
        NamespaceFilter {
            includes: includes
                .iter()
                .map(|source| NamePattern::parse(source).unwrap())
                .collect(),
            excludes: Vec::new(),
        }
    }

    #[test]
    fn includes_name_their_namespaces_exactly_only_without_globs_or_star() {
        assert_eq!(
            filter(&["shop", "data"]).exact_names(),
            Some(vec!["shop", "data"])
        );
        assert_eq!(filter(&["shop", "team-*"]).exact_names(), None);
        assert_eq!(filter(&["*"]).exact_names(), None);
        assert_eq!(filter(&[]).exact_names(), None);
    }
}
