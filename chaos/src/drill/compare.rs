//! What was restored against what the backup holds: the namespaced items by resource, the
//! PersistentVolumeClaims with their requested sizes, and one Completed PodVolumeRestore for
//! every PodVolumeBackup. Pure: both sides are gathered by the caller, names already without
//! their namespace (the backup's are in NS, the restored ones in NS2).
//!
//! Velero's own record of the restore (its `RestoreResourceList`) says why an item is missing:
//! Velero failed it, skipped it, or never took it up. Velero never restores a Pod that had
//! Succeeded or Failed, nor a Job that had a `completionTime`, when it was backed up
//! (`isCompleted` in `pkg/restore/restore.go`; such items get no entry in its record), so a
//! Pod or Job missing from both the restore namespace and Velero's record is passed over by
//! design, not a difference: the backup resource list names items but not their status.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Resources Velero never restores, so their absence is no difference (Velero
/// `pkg/restore/restore.go`, `nonRestorableResources`: of the namespaced ones, events).
pub const NEVER_RESTORED: [&str; 2] = ["v1/Event", "events.k8s.io/v1/Event"];

/// Velero's `PodVolumeRestorePhaseCompleted`.
const COMPLETED: &str = "Completed";

/// The kinds Velero leaves out of a restore when they had completed at backup time
/// (`isCompleted`: Pods that Succeeded or Failed, Jobs with a `completionTime`).
pub const RESTORED_ONLY_UNLESS_COMPLETED: [&str; 2] = ["v1/Pod", "batch/v1/Job"];

/// Velero's `ItemRestoreResultCreated` and `ItemRestoreResultUpdated`: the item is in the
/// cluster as the backup had it.
const RESTORED_ACTIONS: [&str; 2] = ["created", "updated"];

/// Velero's record of one restore in one namespace: `group/version/Kind` → name → what it did
/// (`created`, `updated`, `skipped`, `failed`).
pub type VeleroRecord = BTreeMap<String, BTreeMap<String, String>>;

/// The pods Velero restored into the namespace (created or updated): how many to wait for.
pub fn pods_restored(record: &VeleroRecord) -> usize {
    record.get("v1/Pod").map_or(0, |pods| {
        pods.values()
            .filter(|action| RESTORED_ACTIONS.contains(&action.as_str()))
            .count()
    })
}

/// What the backup holds of the namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupContents {
    /// `apps/v1/Deployment` → names (Velero's backup resource list, namespace stripped).
    pub items: BTreeMap<String, BTreeSet<String>>,
    /// Claim name → requested storage (`spec.resources.requests.storage`). Velero's backup
    /// resource list names the claims but not their sizes, so the live drill takes the size
    /// the source namespace's claim of that name requests at drill time (claims gone from the
    /// source are compared by name only, as items).
    pub pvcs: BTreeMap<String, String>,
    /// `pod/volume` of every PodVolumeBackup of the backup that Completed.
    pub pod_volume_backups: BTreeSet<String>,
}

/// What the restore namespace holds after the restore.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoredContents {
    pub items: BTreeMap<String, BTreeSet<String>>,
    pub pvcs: BTreeMap<String, String>,
    /// `pod/volume` → phase of every PodVolumeRestore of the restore.
    pub pod_volume_restores: BTreeMap<String, String>,
    /// Resources the drill may not list (`group/version/Kind` → why), left out of the
    /// comparison: RBAC can grant list on Secrets only in every namespace, so the drill's
    /// ClusterRole does not, and Secrets are not compared unless it is given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unlisted: BTreeMap<String, String>,
    /// Velero's record of this restore in the restore namespace.
    #[serde(default)]
    pub velero: VeleroRecord,
}

/// One way the restore differs from the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Difference {
    /// An item of the backup that is not in the restore namespace, with what Velero's record
    /// says it did with it (`None`: its record does not name it).
    #[serde(rename_all = "camelCase")]
    MissingItem {
        resource: String,
        name: String,
        #[serde(default)]
        velero: Option<String>,
    },
    /// A claim of the backup that was not restored.
    #[serde(rename_all = "camelCase")]
    MissingPvc { name: String, requested: String },
    /// A claim restored with another requested size than the source claim's.
    #[serde(rename_all = "camelCase")]
    PvcSize {
        name: String,
        source: String,
        restored: String,
    },
    /// A pod volume backed up whose restore is absent or did not complete.
    #[serde(rename_all = "camelCase")]
    PodVolumeNotRestored {
        volume: String,
        phase: Option<String>,
    },
}

impl Difference {
    /// One line for reports.
    pub fn describe(&self) -> String {
        match self {
            Self::MissingItem {
                resource,
                name,
                velero: None,
            } => format!(
                "{resource} {name} was not restored (Velero's record of the restore does not \
                 name it)"
            ),
            Self::MissingItem {
                resource,
                name,
                velero: Some(action),
            } => format!("{resource} {name} was not restored (Velero: {action})"),
            Self::MissingPvc { name, requested } => {
                format!("PersistentVolumeClaim {name} ({requested}) was not restored")
            }
            Self::PvcSize {
                name,
                source,
                restored,
            } => format!(
                "PersistentVolumeClaim {name} requests {restored}, the source claim {source}"
            ),
            Self::PodVolumeNotRestored {
                volume,
                phase: None,
            } => format!("pod volume {volume} was backed up but has no PodVolumeRestore"),
            Self::PodVolumeNotRestored {
                volume,
                phase: Some(phase),
            } => format!("pod volume {volume}: its PodVolumeRestore is {phase}, not Completed"),
        }
    }
}

/// The comparison, with the counts it covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Comparison {
    /// Items of the backup compared (resources Velero never restores left out).
    pub items_compared: u64,
    pub pvcs_compared: u64,
    /// Pod volumes whose restore was looked for (none without --restore-pvs).
    pub pod_volumes_compared: u64,
    pub differences: Vec<Difference>,
    /// Resources of the backup not compared because the drill may not list them (why).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_listed: BTreeMap<String, String>,
    /// Pods and Jobs of the backup that Velero passed over, as it does those that had
    /// completed (`group/version/Kind` → names): not restored, by design.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub passed_over: BTreeMap<String, BTreeSet<String>>,
}

/// Compares. Items restored beyond the backup's (a `default` ServiceAccount, the
/// `kube-root-ca.crt` ConfigMap that controllers add to every namespace) are no difference,
/// nor are completed Pods and Jobs Velero passed over (see the module's notes).
/// Without `restore_pvs` the volume data is not restored, so pod volumes are not compared.
pub fn compare(
    backup: &BackupContents,
    restored: &RestoredContents,
    restore_pvs: bool,
) -> Comparison {
    let mut differences = Vec::new();
    let mut passed_over: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut items_compared = 0;
    for (resource, names) in &backup.items {
        if NEVER_RESTORED.contains(&resource.as_str()) || restored.unlisted.contains_key(resource) {
            continue;
        }
        let present = restored.items.get(resource);
        let recorded = restored.velero.get(resource);
        for name in names {
            if present.is_some_and(|p| p.contains(name)) {
                items_compared += 1;
                continue;
            }
            let velero = recorded.and_then(|r| r.get(name)).cloned();
            if velero.is_none() && RESTORED_ONLY_UNLESS_COMPLETED.contains(&resource.as_str()) {
                passed_over
                    .entry(resource.clone())
                    .or_default()
                    .insert(name.clone());
                continue;
            }
            items_compared += 1;
            differences.push(Difference::MissingItem {
                resource: resource.clone(),
                name: name.clone(),
                velero,
            });
        }
    }
    for (name, size) in &backup.pvcs {
        match restored.pvcs.get(name) {
            None => differences.push(Difference::MissingPvc {
                name: name.clone(),
                requested: size.clone(),
            }),
            Some(restored_size) if restored_size != size => {
                differences.push(Difference::PvcSize {
                    name: name.clone(),
                    source: size.clone(),
                    restored: restored_size.clone(),
                });
            }
            Some(_) => {}
        }
    }
    let mut pod_volumes_compared = 0;
    if restore_pvs {
        for volume in &backup.pod_volume_backups {
            pod_volumes_compared += 1;
            let phase = restored.pod_volume_restores.get(volume);
            if phase.map(String::as_str) != Some(COMPLETED) {
                differences.push(Difference::PodVolumeNotRestored {
                    volume: volume.clone(),
                    phase: phase.cloned(),
                });
            }
        }
    }
    Comparison {
        items_compared,
        pvcs_compared: u64::try_from(backup.pvcs.len()).unwrap_or(u64::MAX),
        pod_volumes_compared,
        differences,
        not_listed: restored
            .unlisted
            .iter()
            .filter(|(resource, _)| backup.items.contains_key(*resource))
            .map(|(resource, why)| (resource.clone(), why.clone()))
            .collect(),
        passed_over,
    }
}

/// The namespace's items out of Velero's backup resource list (the `BackupResourceList`
/// download: a JSON object from `group/version/Kind`, `v1/Kind` for the core group, to
/// `namespace/name` entries, cluster-scoped ones without a namespace; read by
/// `describeBackupResourceList` in Velero's `pkg/cmd/util/output/backup_describer.go`).
/// Entries of other namespaces and cluster-scoped ones are left out; names lose their
/// namespace.
pub fn namespace_items(
    resource_list: &BTreeMap<String, Vec<String>>,
    namespace: &str,
) -> BTreeMap<String, BTreeSet<String>> {
    let prefix = format!("{namespace}/");
    resource_list
        .iter()
        .filter_map(|(resource, entries)| {
            let names: BTreeSet<String> = entries
                .iter()
                .filter_map(|e| e.strip_prefix(&prefix).map(str::to_owned))
                .collect();
            (!names.is_empty()).then(|| (resource.clone(), names))
        })
        .collect()
}

/// Velero's record of a restore in `namespace`, out of its restore resource list (the
/// `RestoreResourceList` download: `group/version/Kind` → `namespace/name(action)` entries,
/// written by `RestoredResourceList` in Velero's `pkg/restore/request.go`; the namespace is
/// the one restored into). Entries of other namespaces and cluster-scoped ones are left out.
pub fn velero_record(
    resource_list: &BTreeMap<String, Vec<String>>,
    namespace: &str,
) -> VeleroRecord {
    let prefix = format!("{namespace}/");
    resource_list
        .iter()
        .filter_map(|(resource, entries)| {
            let actions: BTreeMap<String, String> = entries
                .iter()
                .filter_map(|entry| {
                    let (name, action) = entry
                        .strip_prefix(&prefix)?
                        .strip_suffix(')')?
                        .rsplit_once('(')?;
                    Some((name.to_owned(), action.to_owned()))
                })
                .collect();
            (!actions.is_empty()).then(|| (resource.clone(), actions))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn backup() -> BackupContents {
        BackupContents {
            items: BTreeMap::from([
                ("apps/v1/StatefulSet".to_owned(), names(&["ledger"])),
                ("v1/ConfigMap".to_owned(), names(&["app-config"])),
                ("v1/Event".to_owned(), names(&["ledger-0.181c2"])),
                (
                    "v1/PersistentVolumeClaim".to_owned(),
                    names(&["data-ledger-0"]),
                ),
            ]),
            pvcs: BTreeMap::from([("data-ledger-0".to_owned(), "1Gi".to_owned())]),
            pod_volume_backups: names(&["ledger-0/data"]),
        }
    }

    fn faithful() -> RestoredContents {
        RestoredContents {
            items: BTreeMap::from([
                ("apps/v1/StatefulSet".to_owned(), names(&["ledger"])),
                (
                    "v1/ConfigMap".to_owned(),
                    names(&["app-config", "kube-root-ca.crt"]),
                ),
                (
                    "v1/PersistentVolumeClaim".to_owned(),
                    names(&["data-ledger-0"]),
                ),
            ]),
            pvcs: BTreeMap::from([("data-ledger-0".to_owned(), "1Gi".to_owned())]),
            pod_volume_restores: BTreeMap::from([(
                "ledger-0/data".to_owned(),
                "Completed".to_owned(),
            )]),
            unlisted: BTreeMap::new(),
            velero: record(&[
                ("apps/v1/StatefulSet", "ledger", "created"),
                ("v1/ConfigMap", "app-config", "created"),
                ("v1/PersistentVolumeClaim", "data-ledger-0", "created"),
            ]),
        }
    }

    fn record(entries: &[(&str, &str, &str)]) -> VeleroRecord {
        let mut record = VeleroRecord::new();
        for (resource, name, action) in entries {
            record
                .entry((*resource).to_owned())
                .or_default()
                .insert((*name).to_owned(), (*action).to_owned());
        }
        record
    }

    #[test]
    fn a_faithful_restore_differs_in_nothing_events_and_extras_aside() {
        let c = compare(&backup(), &faithful(), true);
        assert_eq!(c.differences, []);
        assert_eq!(
            (c.items_compared, c.pvcs_compared, c.pod_volumes_compared),
            (3, 1, 1)
        );
    }

    #[test]
    fn a_missing_item_is_named_with_its_resource() {
        let mut restored = faithful();
        restored.items.remove("apps/v1/StatefulSet");
        let c = compare(&backup(), &restored, true);
        assert_eq!(
            c.differences,
            [Difference::MissingItem {
                resource: "apps/v1/StatefulSet".into(),
                name: "ledger".into(),
                velero: Some("created".into()),
            }]
        );
        assert_eq!(
            c.differences[0].describe(),
            "apps/v1/StatefulSet ledger was not restored (Velero: created)"
        );
    }

    #[test]
    fn an_item_velero_failed_or_never_took_up_is_a_difference_saying_so() {
        let mut restored = faithful();
        restored.items.remove("v1/ConfigMap");
        restored.velero.insert(
            "v1/ConfigMap".into(),
            BTreeMap::from([("app-config".into(), "failed".into())]),
        );
        assert_eq!(
            compare(&backup(), &restored, true).differences[0].describe(),
            "v1/ConfigMap app-config was not restored (Velero: failed)"
        );
        restored.velero.remove("v1/ConfigMap");
        assert_eq!(
            compare(&backup(), &restored, true).differences[0].describe(),
            "v1/ConfigMap app-config was not restored (Velero's record of the restore does not \
             name it)"
        );
    }

    /// Velero's `isCompleted` (pkg/restore/restore.go): a Pod that had Succeeded or Failed and
    /// a Job with a completionTime are never restored and get no entry in its record.
    #[test]
    fn completed_pods_and_jobs_velero_passes_over_are_no_difference() {
        let mut backup = backup();
        backup
            .items
            .insert("v1/Pod".into(), names(&["ledger-0", "compact-29001-x7k2p"]));
        backup
            .items
            .insert("batch/v1/Job".into(), names(&["compact-29001"]));
        let mut restored = faithful();
        restored.items.insert("v1/Pod".into(), names(&["ledger-0"]));
        restored.velero.insert(
            "v1/Pod".into(),
            BTreeMap::from([("ledger-0".into(), "created".into())]),
        );
        let c = compare(&backup, &restored, true);
        assert_eq!(c.differences, []);
        assert_eq!(c.items_compared, 4);
        assert_eq!(
            c.passed_over,
            BTreeMap::from([
                ("batch/v1/Job".to_owned(), names(&["compact-29001"])),
                ("v1/Pod".to_owned(), names(&["compact-29001-x7k2p"])),
            ])
        );
        // A pod Velero did take up and that is gone is a difference all the same.
        restored.items.insert("v1/Pod".into(), names(&[]));
        assert_eq!(
            compare(&backup, &restored, true).differences,
            [Difference::MissingItem {
                resource: "v1/Pod".into(),
                name: "ledger-0".into(),
                velero: Some("created".into()),
            }]
        );
    }

    #[test]
    fn velero_s_restore_resource_list_gives_what_it_did_in_the_restore_namespace() {
        // The shape `RestoredResourceList` writes (pkg/restore/request.go).
        let list: BTreeMap<String, Vec<String>> = serde_json::from_str(
            r#"{"apps/v1/StatefulSet":["ns2/ledger(created)"],
                "v1/Namespace":["ns2(created)"],
                "v1/Pod":["ns2/ledger-0(created)","ns2/web-1(failed)","other/x(created)"],
                "v1/ServiceAccount":["ns2/default(skipped)"]}"#,
        )
        .unwrap();
        let record = velero_record(&list, "ns2");
        assert_eq!(
            record,
            BTreeMap::from([
                (
                    "apps/v1/StatefulSet".to_owned(),
                    BTreeMap::from([("ledger".to_owned(), "created".to_owned())])
                ),
                (
                    "v1/Pod".to_owned(),
                    BTreeMap::from([
                        ("ledger-0".to_owned(), "created".to_owned()),
                        ("web-1".to_owned(), "failed".to_owned())
                    ])
                ),
                (
                    "v1/ServiceAccount".to_owned(),
                    BTreeMap::from([("default".to_owned(), "skipped".to_owned())])
                ),
            ])
        );
        assert_eq!(pods_restored(&record), 1);
    }

    #[test]
    fn a_claim_restored_smaller_or_not_at_all_is_a_difference() {
        let mut restored = faithful();
        restored.pvcs.insert("data-ledger-0".into(), "512Mi".into());
        assert_eq!(
            compare(&backup(), &restored, true).differences,
            [Difference::PvcSize {
                name: "data-ledger-0".into(),
                source: "1Gi".into(),
                restored: "512Mi".into()
            }]
        );
        restored.pvcs.clear();
        assert_eq!(
            compare(&backup(), &restored, true).differences,
            [Difference::MissingPvc {
                name: "data-ledger-0".into(),
                requested: "1Gi".into()
            }]
        );
    }

    #[test]
    fn a_pod_volume_restore_that_failed_or_never_ran_is_a_difference() {
        let mut restored = faithful();
        restored
            .pod_volume_restores
            .insert("ledger-0/data".into(), "Failed".into());
        let c = compare(&backup(), &restored, true);
        assert_eq!(
            c.differences[0].describe(),
            "pod volume ledger-0/data: its PodVolumeRestore is Failed, not Completed"
        );
        restored.pod_volume_restores.clear();
        let c = compare(&backup(), &restored, true);
        assert_eq!(
            c.differences,
            [Difference::PodVolumeNotRestored {
                volume: "ledger-0/data".into(),
                phase: None
            }]
        );
    }

    #[test]
    fn without_restore_pvs_pod_volumes_are_not_compared() {
        let mut restored = faithful();
        restored.pod_volume_restores.clear();
        let c = compare(&backup(), &restored, false);
        assert_eq!(c.differences, []);
        assert_eq!(c.pod_volumes_compared, 0);
    }

    #[test]
    fn the_resource_list_gives_the_namespace_items_without_their_namespace() {
        let list: BTreeMap<String, Vec<String>> = serde_json::from_str(
            r#"{"apps/v1/StatefulSet":["data-platform/ledger","other/ledger"],
                "v1/PersistentVolume":["pvc-1234"],
                "v1/Pod":["data-platform/ledger-0"],
                "v1/Secret":["other/token"]}"#,
        )
        .unwrap();
        assert_eq!(
            namespace_items(&list, "data-platform"),
            BTreeMap::from([
                ("apps/v1/StatefulSet".to_owned(), names(&["ledger"])),
                ("v1/Pod".to_owned(), names(&["ledger-0"])),
            ])
        );
    }

    #[test]
    fn a_resource_the_drill_may_not_list_is_left_out_and_named() {
        let mut restored = faithful();
        restored.items.remove("v1/ConfigMap");
        restored
            .unlisted
            .insert("v1/ConfigMap".into(), "forbidden".into());
        let c = compare(&backup(), &restored, true);
        assert_eq!(c.differences, []);
        assert_eq!(c.items_compared, 2);
        assert_eq!(
            c.not_listed,
            BTreeMap::from([("v1/ConfigMap".to_owned(), "forbidden".to_owned())])
        );
    }

    #[test]
    fn differences_are_tagged_by_kind_in_json() {
        let d = Difference::PvcSize {
            name: "a".into(),
            source: "1Gi".into(),
            restored: "2Gi".into(),
        };
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"kind":"pvc-size","name":"a","source":"1Gi","restored":"2Gi"}"#
        );
    }
}
