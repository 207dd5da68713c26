//! The policy file: tiers, the protected set, exemptions and the enforcement mode.
//!
//! Loading is strict: unknown keys, unknown tiers, bad durations, globs or selectors are errors
//! that name the origin (file), the path inside it and the problem.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use kube::core::{Selector, SelectorExt};
use serde::Deserialize;

use crate::duration::parse_go_duration;
use crate::error::DocPath;
use crate::objects::Meta;
use crate::pattern::NamePattern;
use crate::server::VeleroServer;
use crate::versions::VeleroVersion;
use crate::{PolicyError, yaml};

/// What the webhook does with an object that has a gap.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcement {
    /// Refuse the object.
    #[default]
    Deny,
    /// Admit it with a warning shown to the user.
    Warn,
    /// Decide and log, admit silently: for trying a policy on a live cluster.
    DryRun,
}

impl Enforcement {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Warn => "warn",
            Self::DryRun => "dry-run",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub name: String,
    pub rpo: Duration,
    pub rto: Duration,
    pub min_retention: Duration,
}

/// How a protected entry picks namespaces.
#[derive(Debug, Clone)]
pub enum NamespaceSelection {
    Pattern(NamePattern),
    Labels { selector: Selector, display: String },
}

#[derive(Debug, Clone)]
pub struct ProtectedRule {
    pub selection: NamespaceSelection,
    pub tier: String,
}

impl ProtectedRule {
    pub fn selects(&self, namespace: &Meta) -> bool {
        match &self.selection {
            NamespaceSelection::Pattern(pattern) => pattern.matches(&namespace.name),
            NamespaceSelection::Labels { selector, .. } => selector.matches(&namespace.labels),
        }
    }
}

/// The annotation (and label) keys Backstop writes and reads, under the configured prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationKeys {
    pub tier: String,
    pub rpo_target: String,
    pub covered_by: String,
    pub exempt: String,
}

impl AnnotationKeys {
    fn new(prefix: &str) -> Self {
        Self {
            tier: format!("{prefix}/tier"),
            rpo_target: format!("{prefix}/rpo-target"),
            covered_by: format!("{prefix}/covered-by"),
            exempt: format!("{prefix}/exempt"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub annotation_prefix: String,
    pub velero_namespace: String,
    pub tiers: BTreeMap<String, Tier>,
    pub protected: Vec<ProtectedRule>,
    pub exempt_namespaces: Vec<NamePattern>,
    pub enforcement: Enforcement,
    pub keys: AnnotationKeys,
    /// The Velero server the coverage rules follow (`velero:`; documented defaults when absent).
    pub velero: VeleroServer,
    /// The name of Velero's Deployment in its namespace (`velero.deployment`, default `velero`):
    /// in a cluster its image and arguments say the release and the flags.
    pub velero_deployment: String,
}

/// Where a namespace's tier comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierSource {
    /// A `protected` entry of the policy.
    Policy,
    /// The object opted in with the `<prefix>/tier` label or annotation.
    Annotation,
}

impl Policy {
    /// Parses and validates a policy file; `origin` (usually the file name) prefixes every error.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, PolicyError> {
        let mut documents = yaml::documents(text, origin)?;
        if documents.len() != 1 {
            return Err(PolicyError::Invalid {
                origin: origin.to_string(),
                path: ".".to_string(),
                message: format!(
                    "a policy file holds exactly one YAML document, found {}",
                    documents.len()
                ),
            });
        }
        let raw: RawPolicy = yaml::decode(documents.remove(0), origin)?;
        raw.compile(origin)
    }

    pub fn tier(&self, name: &str) -> Option<&Tier> {
        self.tiers.get(name)
    }

    pub fn is_exempt_namespace(&self, name: &str) -> bool {
        self.exempt_namespaces
            .iter()
            .any(|pattern| pattern.matches(name))
    }

    /// The tier a namespace must meet, if it is in the protected set: the first `protected`
    /// entry that selects it, or else a known tier it names itself in `<prefix>/tier` (label or
    /// annotation). Exempt namespaces are never protected.
    pub fn namespace_tier(&self, namespace: &Meta) -> Option<(&Tier, TierSource)> {
        if self.is_exempt_namespace(&namespace.name) {
            return None;
        }
        if let Some(rule) = self.protected.iter().find(|rule| rule.selects(namespace)) {
            return self.tier(&rule.tier).map(|tier| (tier, TierSource::Policy));
        }
        self.declared_tier(namespace)
            .map(|tier| (tier, TierSource::Annotation))
    }

    /// A known tier named by the object's own `<prefix>/tier` label or annotation.
    pub fn declared_tier(&self, meta: &Meta) -> Option<&Tier> {
        meta.labels
            .get(&self.keys.tier)
            .or_else(|| meta.annotations.get(&self.keys.tier))
            .and_then(|name| self.tier(name))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPolicy {
    #[serde(default = "default_prefix")]
    annotation_prefix: String,
    #[serde(default = "default_velero_namespace")]
    velero_namespace: String,
    tiers: BTreeMap<String, RawTier>,
    #[serde(default)]
    protected: Vec<RawProtected>,
    #[serde(default)]
    exempt: RawExempt,
    #[serde(default)]
    enforcement: Enforcement,
    #[serde(default)]
    velero: Option<RawVelero>,
}

/// The policy's `velero:` section: what Backstop cannot see offline about the Velero server.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawVelero {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    deployment: Option<String>,
    #[serde(default)]
    features: Option<Vec<String>>,
    #[serde(default)]
    default_volumes_to_fs_backup: Option<bool>,
    #[serde(default, rename = "defaultBackupTTL")]
    default_backup_ttl: Option<String>,
    #[serde(default)]
    default_backup_storage_location: Option<String>,
    #[serde(default)]
    default_volume_snapshot_locations: BTreeMap<String, String>,
}

/// The Deployment `velero install` and the Helm chart create.
const DEFAULT_VELERO_DEPLOYMENT: &str = "velero";

fn default_prefix() -> String {
    "backstop.io".to_string()
}

fn default_velero_namespace() -> String {
    "velero".to_string()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawTier {
    rpo: String,
    rto: String,
    min_retention: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawProtected {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    selector: Option<RawSelector>,
    tier: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawSelector {
    #[serde(default)]
    match_labels: BTreeMap<String, String>,
    #[serde(default)]
    match_expressions: Vec<RawRequirement>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRequirement {
    key: String,
    operator: String,
    #[serde(default)]
    values: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawExempt {
    #[serde(default)]
    namespaces: Vec<String>,
}

impl RawPolicy {
    fn compile(self, origin: &str) -> Result<Policy, PolicyError> {
        let invalid = |path: DocPath, message: String| PolicyError::Invalid {
            origin: origin.to_string(),
            path: path.to_string(),
            message,
        };
        let root = DocPath::root();
        if self.annotation_prefix.is_empty() || self.annotation_prefix.contains('/') {
            return Err(invalid(
                root.key("annotationPrefix"),
                "must be a DNS subdomain such as backstop.io (no '/')".to_string(),
            ));
        }
        if self.velero_namespace.is_empty() {
            return Err(invalid(
                root.key("veleroNamespace"),
                "must name the namespace Velero runs in".to_string(),
            ));
        }
        if self.tiers.is_empty() {
            return Err(invalid(
                root.key("tiers"),
                "define at least one tier".to_string(),
            ));
        }
        let mut tiers = BTreeMap::new();
        for (name, raw) in self.tiers {
            let path = root.key("tiers").key(name.clone());
            let duration = |field: &str, value: &str| {
                parse_go_duration(value)
                    .map_err(|error| invalid(path.key(field), error.to_string()))
            };
            let tier = Tier {
                rpo: duration("rpo", &raw.rpo)?,
                rto: duration("rto", &raw.rto)?,
                min_retention: duration("minRetention", &raw.min_retention)?,
                name: name.clone(),
            };
            if tier.rpo.is_zero() {
                return Err(invalid(
                    path.key("rpo"),
                    "an RPO target must be above zero".to_string(),
                ));
            }
            tiers.insert(name, tier);
        }
        let mut protected = Vec::with_capacity(self.protected.len());
        for (index, raw) in self.protected.into_iter().enumerate() {
            let path = root.key("protected").index(index);
            if !tiers.contains_key(&raw.tier) {
                return Err(invalid(
                    path.key("tier"),
                    format!(
                        "unknown tier {:?}; defined tiers: {}",
                        raw.tier,
                        tiers.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            let selection = match (raw.namespace, raw.selector) {
                (Some(name), None) => NamespaceSelection::Pattern(
                    NamePattern::parse(&name)
                        .map_err(|message| invalid(path.key("namespace"), message))?,
                ),
                (None, Some(selector)) => {
                    let display = selector_display(&selector);
                    let selector = compile_selector(selector)
                        .map_err(|message| invalid(path.key("selector"), message))?;
                    NamespaceSelection::Labels { selector, display }
                }
                _ => {
                    return Err(invalid(
                        path,
                        "give exactly one of `namespace` (name or glob) or `selector`".to_string(),
                    ));
                }
            };
            protected.push(ProtectedRule {
                selection,
                tier: raw.tier,
            });
        }
        let exempt_namespaces = self
            .exempt
            .namespaces
            .iter()
            .enumerate()
            .map(|(index, name)| {
                NamePattern::parse(name).map_err(|message| {
                    invalid(root.key("exempt").key("namespaces").index(index), message)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let section_given = self.velero.is_some();
        let raw_velero = self.velero.unwrap_or_default();
        let velero_deployment = raw_velero
            .deployment
            .clone()
            .unwrap_or_else(|| DEFAULT_VELERO_DEPLOYMENT.to_string());
        if velero_deployment.is_empty() {
            return Err(invalid(
                root.key("velero").key("deployment"),
                "name Velero's Deployment, or leave it out for \"velero\"".to_string(),
            ));
        }
        let mut velero = raw_velero.compile(&root.key("velero"), &invalid)?;
        if !section_given {
            velero.origin = "Velero's defaults (the policy has no velero: section)".to_string();
        }
        Ok(Policy {
            velero,
            velero_deployment,
            keys: AnnotationKeys::new(&self.annotation_prefix),
            annotation_prefix: self.annotation_prefix,
            velero_namespace: self.velero_namespace,
            tiers,
            protected,
            exempt_namespaces,
            enforcement: self.enforcement,
        })
    }
}

impl RawVelero {
    fn compile(
        self,
        path: &DocPath,
        invalid: &dyn Fn(DocPath, String) -> PolicyError,
    ) -> Result<VeleroServer, PolicyError> {
        let mut server = VeleroServer::default();
        if let Some(text) = self.version {
            let version = VeleroVersion::parse(&text)
                .map_err(|message| invalid(path.key("version"), message))?;
            if version < VeleroVersion::OLDEST {
                return Err(invalid(
                    path.key("version"),
                    format!(
                        "Backstop models Velero {} and later; {version} is older",
                        VeleroVersion::OLDEST
                    ),
                ));
            }
            server.version = version;
        }
        if let Some(name) = self.default_backup_storage_location {
            if name.is_empty() {
                return Err(invalid(
                    path.key("defaultBackupStorageLocation"),
                    "name the server's --default-backup-storage-location, or leave it out for Velero's \"default\"".to_string(),
                ));
            }
            server.default_backup_storage_location = name;
        }
        server.default_volume_snapshot_locations = self.default_volume_snapshot_locations;
        if let Some(features) = self.features {
            server.features = features;
            server.stated.push("features");
        }
        if let Some(default) = self.default_volumes_to_fs_backup {
            server.default_volumes_to_fs_backup = default;
            server.stated.push("defaultVolumesToFsBackup");
        }
        if let Some(text) = self.default_backup_ttl {
            server.default_backup_ttl = parse_go_duration(&text)
                .map_err(|error| invalid(path.key("defaultBackupTTL"), error.to_string()))?;
        }
        server.origin = crate::server::POLICY_SECTION.to_string();
        Ok(server)
    }
}

fn compile_selector(raw: RawSelector) -> Result<Selector, String> {
    if raw.match_labels.is_empty() && raw.match_expressions.is_empty() {
        return Err(
            "an empty selector would protect every namespace; list namespaces instead".to_string(),
        );
    }
    let selector = LabelSelector {
        match_labels: Some(raw.match_labels),
        match_expressions: Some(
            raw.match_expressions
                .into_iter()
                .map(|requirement| LabelSelectorRequirement {
                    key: requirement.key,
                    operator: requirement.operator,
                    values: requirement.values,
                })
                .collect(),
        ),
    };
    Selector::try_from(selector).map_err(|error| error.to_string())
}

fn selector_display(raw: &RawSelector) -> String {
    let mut parts: Vec<String> = raw
        .match_labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    parts.extend(raw.match_expressions.iter().map(|requirement| {
        format!(
            "{} {} ({})",
            requirement.key,
            requirement.operator,
            requirement.values.clone().unwrap_or_default().join(",")
        )
    }));
    parts.join(",")
}

#[cfg(test)]
#[path = "config/tests.rs"]
mod tests;
