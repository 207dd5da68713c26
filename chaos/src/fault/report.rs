//! What a cluster-level fault did and what the run found because of it, as `result.json`
//! keeps it (`fault`), and the judgement of a corrupted repository's restore (pure).

use serde::{Deserialize, Serialize};

use super::backup_deletion::DeletedBackup;
use super::fallback::Fallback;
use super::node::ForceRemoved;
use super::repository::CorruptedRepository;
use crate::ledger::verify::Verification;
use crate::outcome::{RestoreOutcome, RestorePhase};

/// The fault's own evidence; each part is present for the fault that produces it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultReport {
    /// `node-loss`: the node stopped, how its death showed, and what was removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeLoss>,
    /// `cluster-loss`: the new cluster, and the backup synced into it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_cluster: Option<NewCluster>,
    /// `storage-loss` / `delete-newest-backup`: every object deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_backup: Option<DeletedBackup>,
    /// `storage-loss` / `delete-newest-backup`: how the loss showed and the backup used instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// `storage-loss` / `corrupt-repository`: every object altered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrupted_repository: Option<CorruptedRepository>,
    /// `storage-loss` / `corrupt-repository`: what the restore of the corrupted data did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corruption_finding: Option<CorruptionFinding>,
}

impl FaultReport {
    /// What the fault did and found, one sentence each, in the order it happened.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(n) = &self.node {
            out.push(format!(
                "node {} (container {}) stopped; the API server showed it dead: {}",
                n.node, n.container, n.seen_dead
            ));
            let r = &n.force_removed;
            out.push(format!(
                "removed what the dead node held: pod {} (grace period 0), claim {}, {}{}",
                r.pod,
                r.claim,
                r.volume
                    .as_ref()
                    .map_or_else(|| "no bound volume".to_owned(), |v| format!("volume {v}")),
                if r.finalizers_removed.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (its finalizers taken off: {})",
                        r.finalizers_removed.join(", ")
                    )
                }
            ));
            if let Some(on) = &n.restored_on {
                out.push(format!("the restored pod runs on {on}"));
            }
        }
        if let Some(c) = &self.new_cluster {
            out.push(format!(
                "cluster {} deleted and created anew, Velero installed on the same bucket; its \
                 backup sync brought backup {} into the new cluster",
                c.cluster, c.synced_backup
            ));
        }
        if let Some(d) = &self.deleted_backup {
            let bytes: u64 = d.objects.iter().map(|o| o.size).sum();
            out.push(format!(
                "deleted every object of backup {} from the store: {} object(s), {bytes} bytes: {}",
                d.backup,
                d.objects.len(),
                d.objects
                    .iter()
                    .map(|o| o.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(f) = &self.fallback {
            out.push(f.explain());
            for p in &f.passed_over {
                out.push(format!("passed over {}: {}", p.backup, p.why));
            }
        }
        if let Some(c) = &self.corrupted_repository {
            out.push(format!(
                "overwrote {} {} data object(s) under {} (every byte inverted, sizes kept; {} \
                 other object(s) of the repository untouched): {}",
                c.altered.len(),
                c.engine,
                c.prefix,
                c.untouched.len(),
                c.altered
                    .iter()
                    .map(|a| format!(
                        "{} ({} bytes, sha256 {}… → {}…)",
                        a.key,
                        a.size,
                        &a.sha256_before[..a.sha256_before.len().min(12)],
                        &a.sha256_after[..a.sha256_after.len().min(12)]
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(f) = &self.corruption_finding {
            out.push(f.reason());
        }
        out
    }
}

/// `node-loss` evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeLoss {
    /// The Node that hosted the ledger's pod.
    pub node: String,
    /// Its kind container, stopped with `docker stop`.
    pub container: String,
    /// Its `Ready` condition once the API server showed it dead.
    pub seen_dead: String,
    pub force_removed: ForceRemoved,
    /// The node the restored pod runs on (`None` until it does).
    #[serde(default)]
    pub restored_on: Option<String>,
}

/// `cluster-loss` evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCluster {
    /// The new cluster's name (kind reuses the old one's).
    pub cluster: String,
    /// The backup the run waited for Velero's sync to bring into the new cluster.
    pub synced_backup: String,
}

/// What the restore from a corrupted repository came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome", deny_unknown_fields)]
pub enum CorruptionFinding {
    /// Velero's restore did not complete: it noticed.
    RestoreFailed {
        phase: RestorePhase,
        errors: Vec<String>,
    },
    /// The restore completed, but the restored ledger does not verify: the damage came back.
    DataBroken {
        first_broken_seq: Option<u64>,
        problems: usize,
    },
    /// The restore completed and the pods ran, but no ledger could be read back.
    NothingRead { why: String },
}

impl CorruptionFinding {
    /// The reason the verdict fails, in one sentence.
    pub fn reason(&self) -> String {
        match self {
            Self::RestoreFailed { phase, errors } => format!(
                "the restore from the corrupted repository ended {}{}",
                phase.name(),
                errors
                    .first()
                    .map_or_else(String::new, |e| format!(": {e}"))
            ),
            Self::DataBroken {
                first_broken_seq,
                problems,
            } => format!(
                "the restore Completed but the data came back broken: the restored ledger's \
                 chain breaks at seq {} ({problems} problem(s))",
                first_broken_seq.map_or_else(|| "?".to_owned(), |s| s.to_string())
            ),
            Self::NothingRead { why } => {
                format!("the restore Completed but no ledger could be read back: {why}")
            }
        }
    }
}

/// Judges the restore of a corrupted repository. `None` when neither the restore nor the
/// data shows the damage: the corruption did not reach what was restored.
pub fn judge_corruption(
    restore: &RestoreOutcome,
    restored: Option<&Verification>,
    unread_because: Option<&str>,
) -> Option<CorruptionFinding> {
    if restore.phase != RestorePhase::Completed {
        return Some(CorruptionFinding::RestoreFailed {
            phase: restore.phase,
            errors: restore.errors.clone(),
        });
    }
    match (restored, unread_because) {
        (Some(v), _)
            if v.first_broken_seq.is_some() || !v.problems.is_empty() || v.records == 0 =>
        {
            Some(CorruptionFinding::DataBroken {
                first_broken_seq: v.first_broken_seq,
                problems: v.problems.len(),
            })
        }
        (Some(_), _) => None,
        (None, Some(why)) => Some(CorruptionFinding::NothingRead {
            why: why.to_owned(),
        }),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::verify::verify;
    use crate::ledger::{chain, encode_all};

    fn restore(phase: RestorePhase, errors: &[&str]) -> RestoreOutcome {
        RestoreOutcome {
            name: "r".into(),
            backup: "b".into(),
            phase,
            warnings: Vec::new(),
            errors: errors.iter().map(|e| (*e).to_owned()).collect(),
        }
    }

    #[test]
    fn a_restore_that_did_not_complete_is_the_finding_whatever_was_read() {
        let finding = judge_corruption(
            &restore(
                RestorePhase::PartiallyFailed,
                &["pod volume restore failed: unexpected content hash"],
            ),
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            finding.reason(),
            "the restore from the corrupted repository ended PartiallyFailed: pod volume restore \
             failed: unexpected content hash"
        );
    }

    #[test]
    fn a_completed_restore_of_a_broken_chain_is_data_broken() {
        let mut bytes = encode_all(&chain(40, 1_000, 1_000));
        bytes[84 * 10 + 20] ^= 0xff;
        let verification = verify(&bytes);
        let finding = judge_corruption(
            &restore(RestorePhase::Completed, &[]),
            Some(&verification),
            None,
        )
        .unwrap();
        assert!(
            matches!(
                finding,
                CorruptionFinding::DataBroken {
                    first_broken_seq: Some(11),
                    ..
                }
            ),
            "{finding:?}"
        );
        assert!(
            finding.reason().contains("chain breaks at seq 11"),
            "{}",
            finding.reason()
        );
    }

    #[test]
    fn a_completed_restore_of_an_intact_chain_shows_no_damage() {
        let verification = verify(&encode_all(&chain(40, 1_000, 1_000)));
        assert_eq!(
            judge_corruption(
                &restore(RestorePhase::Completed, &[]),
                Some(&verification),
                None
            ),
            None
        );
    }

    #[test]
    fn a_completed_restore_with_nothing_to_read_says_why() {
        let finding = judge_corruption(
            &restore(RestorePhase::Completed, &[]),
            None,
            Some("pods never Ready"),
        )
        .unwrap();
        assert_eq!(
            finding.reason(),
            "the restore Completed but no ledger could be read back: pods never Ready"
        );
    }
}
