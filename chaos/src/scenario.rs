//! Scenario files: what a run builds, which fault it injects, when, and the targets.
//!
//! Parsing is strict (unknown keys are errors) and every error names the file and
//! the field path (`fixtures/scenarios/x.yaml: fault.after: …`).

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use policy::duration::{Syntax, format_whole, parse_duration};

use crate::error::Error;

/// One chaos scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Lower-case letters, digits and `-`: it names clusters, namespaces and backups.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Seed for every random choice of the run (fault offsets); chosen at run time when absent.
    #[serde(default)]
    pub seed: Option<u64>,
    pub cluster: Cluster,
    pub store: Store,
    pub velero: Velero,
    /// Workload names; each is `fixtures/workloads/<name>.yaml`.
    pub workloads: Vec<String>,
    pub backup: Backup,
    pub fault: Fault,
    pub targets: Targets,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cluster {
    pub provider: Provider,
    /// Worker nodes besides the control plane.
    pub workers: u8,
    /// Kubernetes version, as kind node images are tagged (`v1.33.1`).
    pub kubernetes: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// A kind cluster the run creates and deletes.
    Kind,
    /// A cluster the run did not create (`--context`, `--allow-existing-cluster`).
    Existing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Store {
    pub kind: StoreKind,
    #[serde(default = "default_bucket")]
    pub bucket: String,
    /// The MinIO server image; [`DEFAULT_MINIO_IMAGE`] when absent.
    #[serde(default)]
    pub image: Option<String>,
}

/// MinIO server image when the scenario names none (it bundles the `mc` client).
pub const DEFAULT_MINIO_IMAGE: &str = "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z";

impl Store {
    /// The MinIO image to run.
    pub fn image(&self) -> &str {
        self.image.as_deref().unwrap_or(DEFAULT_MINIO_IMAGE)
    }
}

fn default_bucket() -> String {
    "backstop".to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// MinIO in a container outside the cluster, on kind's Docker network.
    Minio,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Velero {
    /// `v1.16` or `v1.16.1`.
    pub version: String,
    pub fs_backup: FsBackup,
    /// `false`: Velero is installed already (existing clusters only); the run uses it as it is.
    #[serde(default = "default_install")]
    pub install: bool,
    /// With `install: false`, the BackupStorageLocation (in namespace `velero`) to back up to.
    #[serde(default)]
    pub backup_storage_location: Option<String>,
}

fn default_install() -> bool {
    true
}

/// The BackupStorageLocation `velero install` creates.
pub const DEFAULT_BACKUP_STORAGE_LOCATION: &str = "default";

impl Velero {
    /// The BackupStorageLocation the run's backups go to.
    pub fn backup_storage_location(&self) -> &str {
        self.backup_storage_location
            .as_deref()
            .unwrap_or(DEFAULT_BACKUP_STORAGE_LOCATION)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FsBackup {
    Kopia,
    Restic,
}

impl fmt::Display for FsBackup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Kopia => "kopia",
            Self::Restic => "restic",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Backup {
    /// Velero Schedule cron (five fields or a descriptor such as `@every 5m`).
    pub schedule: String,
    /// Backup retention.
    #[serde(default = "default_ttl")]
    pub ttl: HumanDuration,
}

fn default_ttl() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(24 * 3600))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    pub kind: FaultKind,
    /// The workload the fault is aimed at.
    pub target: String,
    /// When the fault strikes, counted from the moment the workload is steady.
    pub after: HumanDuration,
    /// pvc-corruption only: how many bytes to overwrite (default 4096).
    #[serde(default)]
    pub bytes: Option<u64>,
    /// storage-loss only: what happens to the backups in the store.
    #[serde(default)]
    pub mode: Option<StorageLossMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    NamespaceLoss,
    PvcCorruption,
    NodeLoss,
    ClusterLoss,
    StorageLoss,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::NamespaceLoss => "namespace-loss",
            Self::PvcCorruption => "pvc-corruption",
            Self::NodeLoss => "node-loss",
            Self::ClusterLoss => "cluster-loss",
            Self::StorageLoss => "storage-loss",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StorageLossMode {
    /// Delete every object of the newest backup: the run must fall back to an older one.
    DeleteNewestBackup,
    /// Overwrite the file-system backup repository's pack files: the restore must fail loudly.
    CorruptRepository,
}

impl StorageLossMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::DeleteNewestBackup => "delete-newest-backup",
            Self::CorruptRepository => "corrupt-repository",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Targets {
    pub rto: HumanDuration,
    pub rpo: HumanDuration,
}

/// Bytes a pvc-corruption fault overwrites when the scenario does not say.
pub const DEFAULT_CORRUPTION_BYTES: u64 = 4096;
const MAX_CORRUPTION_BYTES: u64 = 1 << 20;

impl Fault {
    /// Bytes to overwrite for pvc-corruption.
    pub fn corruption_bytes(&self) -> u64 {
        self.bytes.unwrap_or(DEFAULT_CORRUPTION_BYTES)
    }

    /// Storage-loss mode, defaulting to deleting the newest backup.
    pub fn storage_mode(&self) -> StorageLossMode {
        self.mode.unwrap_or(StorageLossMode::DeleteNewestBackup)
    }
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadInput {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Parses and validates scenario text; `path` is only used in error messages.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, Error> {
    let mut track = serde_path_to_error::Track::new();
    let parsed: Result<Scenario, _> = serde_saphyr::with_deserializer_from_str(text, |de| {
        Scenario::deserialize(serde_path_to_error::Deserializer::new(de, &mut track))
    });
    let scenario = parsed.map_err(|e| {
        let field = field_name(&track.path().to_string());
        let plain = e.without_snippet();
        let message = match plain.location() {
            Some(loc) => format!(
                "{} (line {}, column {})",
                message_of(plain),
                loc.line(),
                loc.column()
            ),
            None => message_of(plain),
        };
        Error::invalid(path, field, message)
    })?;
    match validate(&scenario).into_iter().next() {
        Some((field, message)) => Err(Error::invalid(path, field, message)),
        None => Ok(scenario),
    }
}

/// serde-saphyr's message without its own location suffix (we add ours).
fn message_of(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    match text.split_once(" at line ") {
        Some((head, _)) => head.to_owned(),
        None => text,
    }
}

fn field_name(path: &str) -> String {
    if path == "." || path.is_empty() {
        "<root>".to_owned()
    } else {
        path.to_owned()
    }
}

/// Semantic rules a well-formed scenario must also meet, as (field path, message).
pub fn validate(s: &Scenario) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut fail = |field: &str, message: String| out.push((field.to_owned(), message));

    if !is_dns_label(&s.name) || s.name.len() > 40 {
        fail(
            "name",
            format!(
                "{:?} must be 1-40 lower-case letters, digits or '-', starting with a letter",
                s.name
            ),
        );
    }
    if s.cluster.workers == 0 {
        fail("cluster.workers", "at least one worker is needed".into());
    }
    if s.fault.kind == FaultKind::NodeLoss && s.cluster.workers < 2 {
        fail(
            "cluster.workers",
            "node-loss needs at least 2 workers, so the workload can come back on another node"
                .into(),
        );
    }
    if parse_version(&s.cluster.kubernetes).is_none_or(|v| v.2.is_none()) {
        fail(
            "cluster.kubernetes",
            format!(
                "{:?} is not a version like v1.33.1 (kind node images are tagged by patch version)",
                s.cluster.kubernetes
            ),
        );
    }
    if !is_bucket_name(&s.store.bucket) {
        fail(
            "store.bucket",
            format!(
                "{:?} is not an S3 bucket name (3-63 lower-case letters, digits, '-')",
                s.store.bucket
            ),
        );
    }
    match parse_version(&s.velero.version) {
        None => fail(
            "velero.version",
            format!(
                "{:?} is not a version like v1.16 or v1.16.1",
                s.velero.version
            ),
        ),
        Some(v) if aws_plugin_for(v).is_none() => fail(
            "velero.version",
            format!(
                "{} is not supported: Backstop knows the AWS plugin for Velero v1.14 to v1.17",
                s.velero.version
            ),
        ),
        Some(v) if s.velero.fs_backup == FsBackup::Restic && (v.0, v.1) >= (1, 17) => fail(
            "velero.fsBackup",
            format!(
                "restic cannot back up on Velero {}: v1.17 removed it as an uploader type \
                 (`velero install --uploader-type=restic` is refused); use kopia",
                s.velero.version
            ),
        ),
        Some(_) => {}
    }
    match (
        s.velero.install,
        s.cluster.provider,
        &s.velero.backup_storage_location,
    ) {
        (false, Provider::Kind, _) => fail(
            "velero.install",
            "false only applies to an existing cluster: the run installs Velero into the kind \
             cluster it creates"
                .into(),
        ),
        (true, Provider::Existing, _) => fail(
            "velero.install",
            "an existing cluster uses the Velero already installed there: set install: false \
             and name its backupStorageLocation (the harness installs Velero, whose CRDs and \
             roles are cluster-wide, only into a kind cluster it creates)"
                .into(),
        ),
        (false, Provider::Existing, None) => fail(
            "velero.backupStorageLocation",
            "name the BackupStorageLocation of the Velero already installed".into(),
        ),
        (true, _, Some(_)) => fail(
            "velero.backupStorageLocation",
            "only applies with install: false (velero install creates `default`)".into(),
        ),
        (false, Provider::Existing, Some(name)) if !is_dns_subdomain(name) => fail(
            "velero.backupStorageLocation",
            format!("{name:?} is not a Kubernetes object name"),
        ),
        _ => {}
    }
    if let Some(image) = &s.store.image
        && (image.is_empty() || image.chars().any(char::is_whitespace))
    {
        fail(
            "store.image",
            format!("{image:?} is not an image reference"),
        );
    }
    if s.workloads.is_empty() {
        fail("workloads", "name at least one workload".into());
    }
    let mut seen = HashSet::new();
    for (i, w) in s.workloads.iter().enumerate() {
        if !is_dns_label(w) {
            fail(
                &format!("workloads[{i}]"),
                format!("{w:?} is not a workload name (fixtures/workloads/<name>.yaml)"),
            );
        }
        if !seen.insert(w) {
            fail(&format!("workloads[{i}]"), format!("{w:?} is listed twice"));
        }
    }
    if let Err(message) = check_schedule(&s.backup.schedule) {
        fail("backup.schedule", message);
    }
    if s.backup.ttl.0.is_zero() {
        fail(
            "backup.ttl",
            "must be positive (0 would mean Velero's default)".into(),
        );
    }
    if !s.workloads.contains(&s.fault.target) {
        fail(
            "fault.target",
            format!(
                "{:?} is not one of the scenario's workloads {:?}",
                s.fault.target, s.workloads
            ),
        );
    }
    if s.fault.after.0.is_zero() {
        fail(
            "fault.after",
            "must be positive: the fault strikes after backups exist".into(),
        );
    }
    match (s.fault.kind, s.fault.bytes) {
        (FaultKind::PvcCorruption, Some(b)) if b == 0 || b > MAX_CORRUPTION_BYTES => fail(
            "fault.bytes",
            format!("{b} is outside 1..={MAX_CORRUPTION_BYTES}"),
        ),
        (FaultKind::PvcCorruption, _) | (_, None) => {}
        (kind, Some(_)) => fail(
            "fault.bytes",
            format!("only applies to pvc-corruption, not {kind}"),
        ),
    }
    if let (kind @ (FaultKind::NodeLoss | FaultKind::ClusterLoss), Provider::Existing) =
        (s.fault.kind, s.cluster.provider)
    {
        fail(
            "fault.kind",
            format!(
                "{kind} {} a cluster the harness did not create: it needs provider: kind",
                if kind == FaultKind::NodeLoss {
                    "stops a kind node's container, and would stop a node of"
                } else {
                    "deletes the whole cluster, and would delete"
                }
            ),
        );
    }
    if s.fault.kind == FaultKind::StorageLoss && !s.velero.install {
        fail(
            "fault.kind",
            "storage-loss deletes or overwrites objects in the backup store: the harness does \
             that only in the store it creates (velero.install: true), never in a \
             BackupStorageLocation that was there before"
                .into(),
        );
    }
    if s.fault.mode.is_some() && s.fault.kind != FaultKind::StorageLoss {
        fail(
            "fault.mode",
            format!("only applies to storage-loss, not {}", s.fault.kind),
        );
    }
    for (field, d) in [
        ("targets.rto", s.targets.rto),
        ("targets.rpo", s.targets.rpo),
    ] {
        if d.0.is_zero() {
            fail(field, "must be positive".into());
        }
    }
    out
}

/// `vMAJOR.MINOR[.PATCH]`.
pub fn parse_version(text: &str) -> Option<(u32, u32, Option<u32>)> {
    let mut parts = text.strip_prefix('v')?.split('.');
    let number = |p: Option<&str>| -> Option<u32> {
        let p = p?;
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let major = number(parts.next())?;
    let minor = number(parts.next())?;
    let patch = match parts.next() {
        None => None,
        some => Some(number(some)?),
    };
    parts.next().is_none().then_some((major, minor, patch))
}

/// The velero-plugin-for-aws release that goes with a Velero minor version.
pub fn aws_plugin_for(version: (u32, u32, Option<u32>)) -> Option<&'static str> {
    match (version.0, version.1) {
        (1, 14) => Some("v1.10.0"),
        (1, 15) => Some("v1.11.0"),
        (1, 16) => Some("v1.12.0"),
        (1, 17) => Some("v1.13.0"),
        _ => None,
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label_any_start)
}

fn is_dns_label_any_start(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_bucket_name(s: &str) -> bool {
    (3..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A Velero schedule exactly as Velero parses it (the `policy` crate's robfig/cron v3 rules),
/// and one that fires: a backup cadence that never fires cannot be restored from.
fn check_schedule(schedule: &str) -> Result<(), String> {
    let parsed = policy::cron::parse_schedule(schedule).map_err(|error| error.to_string())?;
    match parsed.worst_case_interval() {
        Some(_) => Ok(()),
        None => Err(format!(
            "{schedule:?} never fires, so no backup would be taken"
        )),
    }
}

/// Where a scenario's workload manifests live by default: `<scenario dir>/../workloads`.
pub fn default_workloads_dir(scenario_path: &Path) -> PathBuf {
    scenario_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("..")
        .join("workloads")
}

/// A duration in a scenario file or `result.json`, written in policy's [`Syntax::Whole`]
/// (`12m`, `1h30m`, `1d`) and rendered back in its shortest exact spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub std::time::Duration);

impl HumanDuration {
    /// Parses [`Syntax::Whole`] text (also the `--interval` flag's parser).
    pub fn parse(text: &str) -> Result<std::time::Duration, String> {
        parse_duration(text, Syntax::Whole).map_err(|e| e.to_string())
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_whole(self.0))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests;
