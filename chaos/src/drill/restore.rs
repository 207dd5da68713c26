//! Where a drill restores and the Velero Restore that does it.
//!
//! The backup's namespace NS is mapped to a scratch namespace NS2 (`spec.namespaceMapping`),
//! by default `NS-drill-<UTC timestamp>`. Velero creates NS2 itself while restoring. Restoring
//! into NS itself writes over live objects, so it needs `--in-place` and is refused otherwise,
//! before anything talks to a cluster.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use policy::velero::{Restore, RestoreSpec};
use serde::Deserialize;

use crate::error::Error;

/// Namespace Velero runs in and keeps its objects in (one definition, the Restore's).
pub use crate::velero::restore::VELERO_NAMESPACE;
/// Label on every Restore a drill creates, with the restore namespace as its value.
pub const DRILL_LABEL: &str = "backstop.io/drill";
/// What a default restore namespace has between the source namespace and the timestamp.
pub const DRILL_INFIX: &str = "-drill-";

/// Where a drill restores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub source: String,
    pub restore_namespace: String,
}

impl Target {
    /// Whether the drill writes into the source namespace itself.
    pub fn in_place(&self) -> bool {
        self.source == self.restore_namespace
    }
}

/// Decides the target from the flags, or refuses: an invalid namespace name, the source
/// namespace without `--in-place`, `--in-place` with another namespace, or `--cleanup` of an
/// in-place restore (it would delete the live namespace).
pub fn target(
    source: &str,
    restore_namespace: Option<&str>,
    in_place: bool,
    cleanup: bool,
    now: DateTime<Utc>,
) -> Result<Target, Error> {
    namespace_name("--namespace", source)?;
    let restore_namespace = match (restore_namespace, in_place) {
        (Some(ns), _) => ns.to_owned(),
        (None, true) => source.to_owned(),
        (None, false) => default_restore_namespace(source, now),
    };
    namespace_name("--restore-namespace", &restore_namespace)?;
    let target = Target {
        source: source.to_owned(),
        restore_namespace,
    };
    match (target.in_place(), in_place) {
        (true, false) => Err(Error::InvalidArgument {
            argument: "--restore-namespace".into(),
            message: format!(
                "{source} is the backup's own namespace: restoring into it writes over its live \
                 objects. Restore into a scratch namespace (the default, {}), or pass --in-place \
                 to restore over the live namespace on purpose",
                default_restore_namespace(source, now)
            ),
        }),
        (false, true) => Err(Error::InvalidArgument {
            argument: "--in-place".into(),
            message: format!(
                "--in-place restores into {source} itself, but --restore-namespace names {}",
                target.restore_namespace
            ),
        }),
        (true, true) if cleanup => Err(Error::InvalidArgument {
            argument: "--cleanup".into(),
            message: format!(
                "--cleanup deletes the restore namespace, which for an --in-place drill is the \
                 live namespace {source}"
            ),
        }),
        _ => Ok(target),
    }
}

/// `NS-drill-YYYYMMDD-HHMMSS` (UTC), or an error later if that is too long for a namespace.
pub fn default_restore_namespace(source: &str, now: DateTime<Utc>) -> String {
    format!("{source}{DRILL_INFIX}{}", now.format("%Y%m%d-%H%M%S"))
}

/// A namespace name is an RFC 1123 label: at most 63 of `a-z`, `0-9`, `-`, alphanumeric at
/// both ends.
fn namespace_name(argument: &str, name: &str) -> Result<(), Error> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            argument: argument.into(),
            message: format!(
                "{name:?} is not a namespace name (at most 63 characters of a-z, 0-9 and '-', \
                 starting and ending with a letter or digit){}",
                if argument == "--restore-namespace" && name.len() > 63 {
                    "; name a shorter one with --restore-namespace"
                } else {
                    ""
                }
            ),
        })
    }
}

/// The Restore's name: `drill-<restore namespace>`, or the namespace's last 57 characters
/// after `drill-` when longer (a Restore name is used as a label value: at most 63).
pub fn restore_name(target: &Target) -> String {
    let ns = &target.restore_namespace;
    let tail = &ns[ns.len().saturating_sub(57)..];
    format!("drill-{}", tail.trim_start_matches('-'))
}

/// The Restore of `backup` into the target: `namespaceMapping` NS → NS2 unless in place;
/// `restorePVs` as asked; `existingResourcePolicy: none` (Velero's default: objects that exist
/// are left alone and reported as warnings).
pub fn restore(target: &Target, backup: &str, restore_pvs: bool) -> Restore {
    let mut restore = Restore::new(
        &restore_name(target),
        RestoreSpec {
            backup_name: Some(backup.to_owned()),
            included_namespaces: Some(vec![target.source.clone()]),
            namespace_mapping: (!target.in_place()).then(|| {
                BTreeMap::from([(target.source.clone(), target.restore_namespace.clone())])
            }),
            restore_p_vs: Some(restore_pvs),
            existing_resource_policy: Some("none".to_owned()),
            ..RestoreSpec::default()
        },
    );
    restore.metadata.namespace = Some(VELERO_NAMESPACE.to_owned());
    restore.metadata.labels = Some(BTreeMap::from([
        (DRILL_LABEL.to_owned(), target.restore_namespace.clone()),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "backstop-chaos".to_owned(),
        ),
    ]));
    restore
}

/// The Restore as a YAML manifest (what is created, and what the fixtures hold).
pub fn manifest(restore: &Restore) -> String {
    serde_saphyr::to_string(restore).unwrap_or_else(|e| format!("# cannot serialize: {e}\n"))
}

/// One half of Velero's restore results (`results.Result` in Velero's
/// `pkg/util/results/result.go`): messages about Velero itself, cluster-scoped items, and each
/// namespace's items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VeleroResult {
    #[serde(default)]
    pub velero: Vec<String>,
    #[serde(default)]
    pub cluster: Vec<String>,
    #[serde(default)]
    pub namespaces: BTreeMap<String, Vec<String>>,
}

/// A restore's warning and error messages, in words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Messages {
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
}

/// The messages of Velero's `RestoreResults` download (`{"warnings": …, "errors": …}`, as the
/// restore controller's `putResults` writes them), each prefixed with where it applies as
/// `velero restore describe` prints them: `Velero:`, `Cluster:` or the namespace.
pub fn messages(results: &BTreeMap<String, VeleroResult>) -> Messages {
    let lines = |key: &str| -> Vec<String> {
        let Some(result) = results.get(key) else {
            return Vec::new();
        };
        let mut out: Vec<String> = result
            .velero
            .iter()
            .map(|m| format!("Velero: {m}"))
            .collect();
        out.extend(result.cluster.iter().map(|m| format!("Cluster: {m}")));
        for (namespace, list) in &result.namespaces {
            out.extend(list.iter().map(|m| format!("{namespace}: {m}")));
        }
        out
    };
    Messages {
        warnings: lines("warnings"),
        errors: lines("errors"),
    }
}

#[cfg(test)]
mod tests;
