//! What Velero's backup controller checks against the cluster before it starts a backup
//! (`pkg/controller/backup_controller.go`, `prepareBackupRequest`): the namespace lists
//! (`pkg/util/collections/includes_excludes.go`, `ValidateNamespaceIncludesExcludes`, and from
//! v1.18 `pkg/util/wildcard`, `ValidateNamespaceName`), with the namespaces labelled
//! `velero.io/exclude-from-backup=true` added to the excludes first, and the storage locations
//! (`validateAndGetSnapshotLocations`). A failed check fails the whole backup
//! (`FailedValidation`), so the schedule covers nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::inventory::Inventory;
use crate::objects::{ConfigMapFacts, SnapshotLocationFacts, StorageLocationFacts};
use crate::server::VeleroServer;
use crate::server::deployment::server_from_deployment;
use crate::velero::BackupSpec;
use crate::velero::keys::EXCLUDE_FROM_BACKUP;
use crate::verdict::GapCode;
use crate::versions::{VeleroVersion, VersionedRule};

/// The cluster as Velero's backup controller sees it when it validates a backup.
#[derive(Debug, Clone, Default)]
pub struct ServerView {
    pub server: VeleroServer,
    /// The namespace Velero runs in (its Schedules, locations and resource policies live there).
    pub velero_namespace: String,
    /// Namespaces labelled `velero.io/exclude-from-backup=true`, sorted.
    pub label_excluded_namespaces: Vec<String>,
    /// BackupStorageLocations of the Velero namespace, when known.
    pub storage_locations: Option<Vec<StorageLocationFacts>>,
    /// VolumeSnapshotLocations of the Velero namespace.
    pub snapshot_locations: Vec<SnapshotLocationFacts>,
    /// ConfigMaps of the Velero namespace, by name (resource policies live in them).
    pub config_maps: BTreeMap<String, ConfigMapFacts>,
    /// Every ConfigMap of the Velero namespace is known (read from a cluster).
    pub config_maps_listed: bool,
    /// What Backstop could not read about the server, or where the policy disagrees with it.
    pub notes: Vec<String>,
}

impl ServerView {
    /// The view of `inventory` for a Velero server running in `velero_namespace`: the one its
    /// Deployment runs when the inventory has it, else `server` (the policy's section).
    pub fn of(inventory: &Inventory, server: &VeleroServer, velero_namespace: &str) -> Self {
        let (server, notes) = match &inventory.velero_deployment {
            Some(deployment) => server_from_deployment(deployment, server),
            // Read from a cluster, yet no Deployment: the policy's section stands in.
            None if inventory.config_maps_listed => (
                server.clone(),
                vec![format!(
                    "no Velero Deployment was read from namespace {velero_namespace} (the policy's velero.deployment names it); judged as {} says",
                    server.origin
                )],
            ),
            None => (server.clone(), Vec::new()),
        };
        let in_velero_namespace =
            |namespace: &Option<String>| namespace.as_deref() == Some(velero_namespace);
        let mut label_excluded_namespaces: Vec<String> = inventory
            .namespaces
            .iter()
            .filter(|namespace| {
                namespace
                    .metadata
                    .labels
                    .get(EXCLUDE_FROM_BACKUP)
                    .map(String::as_str)
                    == Some("true")
            })
            .map(|namespace| namespace.metadata.name.clone())
            .collect();
        label_excluded_namespaces.sort_unstable();
        let mut storage_locations = inventory.storage_locations.as_ref().map(|locations| {
            locations
                .iter()
                .filter(|location| in_velero_namespace(&location.metadata.namespace))
                .cloned()
                .collect::<Vec<_>>()
        });
        if let Some(locations) = &mut storage_locations {
            locations.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        }
        Self {
            server,
            notes,
            velero_namespace: velero_namespace.to_string(),
            config_maps: inventory
                .config_maps
                .iter()
                .filter(|config_map| in_velero_namespace(&config_map.metadata.namespace))
                .map(|config_map| (config_map.metadata.name.clone(), config_map.clone()))
                .collect(),
            config_maps_listed: inventory.config_maps_listed,
            label_excluded_namespaces,
            storage_locations,
            snapshot_locations: inventory
                .snapshot_locations
                .iter()
                .filter(|location| in_velero_namespace(&location.metadata.namespace))
                .cloned()
                .collect(),
        }
    }

    pub fn version(&self) -> VeleroVersion {
        self.server.version
    }
}

/// Problems (the backup fails) and warnings (it runs, but something is off, with the gap code
/// the objects it covers get) of one template.
#[derive(Debug, Default)]
pub(super) struct Findings {
    pub problems: Vec<String>,
    pub warnings: Vec<(GapCode, String)>,
}

/// `ValidateNamespaceIncludesExcludes` on the template's lists, the label-excluded namespaces
/// added to the excludes as Velero adds them.
pub(super) fn namespace_lists(spec: &BackupSpec, view: &ServerView, findings: &mut Findings) {
    let includes: BTreeSet<&str> = spec
        .included_namespaces
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let written_excludes: BTreeSet<&str> = spec
        .excluded_namespaces
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let labelled: BTreeSet<&str> = view
        .label_excluded_namespaces
        .iter()
        .map(String::as_str)
        .collect();
    let problems = &mut findings.problems;
    if includes.len() > 1 && includes.contains("*") {
        problems.push(
            "includedNamespaces must either be '*' alone or a list of namespaces".to_string(),
        );
    }
    if written_excludes.contains("*") {
        problems.push("excludedNamespaces must not contain '*'".to_string());
    }
    for both in written_excludes
        .union(&labelled)
        .filter(|name| includes.contains(*name))
    {
        if labelled.contains(both) && !written_excludes.contains(both) {
            problems.push(format!(
                "namespace {both} is labelled {EXCLUDE_FROM_BACKUP}=true, so Velero adds it to excludedNamespaces, and a namespace both included and excluded fails the whole backup: remove {both} from includedNamespaces or remove the label"
            ));
        } else {
            problems.push(format!(
                "namespace {both} is both in includedNamespaces and in excludedNamespaces, which fails the whole backup: keep it in one list"
            ));
        }
    }
    for (field, names) in [
        ("includedNamespaces", &includes),
        ("excludedNamespaces", &written_excludes),
    ] {
        for name in names.iter() {
            if let Some(problem) = namespace_name_problem(name, view.version()) {
                problems.push(format!("spec.template.{field}: {problem}"));
            }
        }
    }
}

/// Velero's `validateNamespaceName` for one entry of a namespace list: `*` (and from v1.18
/// `?`, `[...]`) are wildcards, anything else must be a valid namespace name.
pub(crate) fn namespace_name_problem(name: &str, version: VeleroVersion) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let stand_in = if version.has(VersionedRule::NamespaceGlobClasses) {
        if let Some(problem) = wildcard_problem(name) {
            return Some(format!("{name:?}: {problem}"));
        }
        name.replace(['*', '?', '[', ']'], "x")
    } else {
        name.replace('*', "x")
    };
    if is_dns_label(&stand_in) {
        return None;
    }
    let hint =
        if !version.has(VersionedRule::NamespaceGlobClasses) && name.contains(['?', '[', ']']) {
            format!(
                " ('?' and '[...]' are wildcards only from Velero {}; {version} accepts '*' alone)",
                VersionedRule::NamespaceGlobClasses.since()
            )
        } else if name.contains(['{', '}']) {
            " (Velero does not expand brace globs: list the namespaces one by one)".to_string()
        } else {
            String::new()
        };
    Some(format!(
        "invalid namespace {name:?}: a namespace name is at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit{hint}"
    ))
}

/// `pkg/util/wildcard`, `ValidateNamespaceName` (v1.18): unsupported glob syntax.
fn wildcard_problem(pattern: &str) -> Option<&'static str> {
    if pattern.contains(['|', '(', ')', '!', '{', '}', ',']) {
        return Some(
            "unsupported wildcard characters (|, (, ), !, {, }, ,): Velero does not expand brace globs, list the namespaces one by one",
        );
    }
    if pattern.contains("**") {
        return Some("consecutive asterisks: only a single '*' is allowed");
    }
    let mut rest = pattern;
    while let Some(at) = rest.find(['[', ']']) {
        if rest[at..].starts_with(']') {
            return Some("unmatched closing bracket ']'");
        }
        match rest[at + 1..].find(']') {
            None => return Some("unclosed bracket '['"),
            Some(0) => return Some("empty bracket pattern '[]'"),
            Some(close) => rest = &rest[at + 1 + close + 1..],
        }
    }
    None
}

/// Kubernetes' `ValidateNamespaceName`: an RFC 1123 label.
fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |byte: &u8| byte.is_ascii_lowercase() || byte.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes.iter().all(|byte| alnum(byte) || *byte == b'-')
}

/// The BackupStorageLocation the backup writes to must exist, be writable and (from v1.17)
/// available; each VolumeSnapshotLocation it names must exist, one per provider, and a provider
/// with several locations needs one named or a server default. Judged only when the
/// BackupStorageLocations are known.
pub(super) fn storage_locations(spec: &BackupSpec, view: &ServerView, findings: &mut Findings) {
    let Some(locations) = &view.storage_locations else {
        return;
    };
    let server = &view.server;
    let named = spec
        .storage_location
        .as_deref()
        .filter(|name| !name.is_empty());
    let (name, origin) = match named {
        Some(name) => (name, "spec.template.storageLocation"),
        None => match locations.iter().find(|location| location.spec.default) {
            Some(location) => (
                location.metadata.name.as_str(),
                "the BackupStorageLocation marked spec.default",
            ),
            None => (
                server.default_backup_storage_location.as_str(),
                "the server's --default-backup-storage-location (no location is marked spec.default)",
            ),
        },
    };
    match locations.iter().find(|location| location.metadata.name == name) {
        None => findings.problems.push(format!(
            "BackupStorageLocation {name} ({origin}) does not exist; create it, or name an existing one in spec.template.storageLocation"
        )),
        Some(location) => {
            if location.is_read_only() {
                findings.problems.push(format!(
                    "BackupStorageLocation {name} is in read-only mode (spec.accessMode: ReadOnly), so no backup can be written to it; set it to ReadWrite or name another location"
                ));
            }
            if !location.is_available() {
                let phase = location.status.phase.as_deref().unwrap_or_default();
                let sentence = format!(
                    "BackupStorageLocation {name} is not Available (phase: {phase}); check its bucket, credentials and `velero backup-location get`"
                );
                if view.version().has(VersionedRule::UnavailableLocationFails) {
                    findings.problems.push(format!(
                        "{sentence} (from Velero {} a backup to it fails validation)",
                        VersionedRule::UnavailableLocationFails.since()
                    ));
                } else {
                    findings.warnings.push((
                        GapCode::StorageLocationUnavailable,
                        format!("{sentence}: backups to it will fail until it is"),
                    ));
                }
            }
        }
    }
    snapshot_locations(spec, view, findings);
}

fn snapshot_locations(spec: &BackupSpec, view: &ServerView, findings: &mut Findings) {
    let mut chosen: BTreeMap<&str, &str> = BTreeMap::new();
    for name in spec.volume_snapshot_locations.iter().flatten() {
        let Some(location) = view
            .snapshot_locations
            .iter()
            .find(|location| &location.metadata.name == name)
        else {
            findings.problems.push(format!(
                "VolumeSnapshotLocation {name} named in spec.template.volumeSnapshotLocations does not exist; create it or remove the name"
            ));
            continue;
        };
        let provider = location.spec.provider.as_str();
        match chosen.get(provider) {
            Some(first) if first != name => findings.problems.push(format!(
                "spec.template.volumeSnapshotLocations names more than one location for provider {provider} ({first}, {name}); Velero takes one per provider"
            )),
            Some(_) => {}
            None => {
                chosen.insert(provider, name);
            }
        }
    }
    let mut by_provider: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for location in &view.snapshot_locations {
        by_provider
            .entry(location.spec.provider.as_str())
            .or_default()
            .push(location.metadata.name.as_str());
    }
    for (provider, names) in by_provider {
        if chosen.contains_key(provider) || names.len() < 2 {
            continue;
        }
        match view.server.default_volume_snapshot_locations.get(provider) {
            None => findings.problems.push(format!(
                "provider {provider} has more than one VolumeSnapshotLocation ({}) and the backup names none, nor does the server's --default-volume-snapshot-locations; name one in spec.template.volumeSnapshotLocations",
                names.join(", ")
            )),
            Some(default) if !names.contains(&default.as_str()) => findings.problems.push(format!(
                "the server's default VolumeSnapshotLocation {default} for provider {provider} does not exist; create it or name an existing one in spec.template.volumeSnapshotLocations"
            )),
            Some(_) => {}
        }
    }
}
