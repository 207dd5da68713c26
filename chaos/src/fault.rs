//! The cluster-level faults' own pieces (issue 14), each usable and tested on its own; the run
//! engine ([`crate::run`]) sequences them.
//!
//! - [`stored_backups`] and [`backup_deletion`]: `storage-loss` with `mode:
//!   delete-newest-backup`: the backups as the store holds them (Velero's
//!   `backups/<name>/velero-backup.json`), and the deletion of every object of one of them.
//! - [`repository`]: `storage-loss` with `mode: corrupt-repository`: the file-system backup
//!   repository's data objects (kopia pack blobs, restic data files) overwritten in place.
//! - [`lost_backup`] and [`fallback`]: after the newest backup was deleted, how Velero shows
//!   it cannot be restored (the Backup removed by its sync, or a failed Restore), and which
//!   backup the run restores instead, and why.
//! - [`node`]: `node-loss`: the kind node container behind a pod's node, the Node's Ready
//!   condition, and the force-removal of what stays stuck on a dead node.
//! - [`new_cluster`]: `cluster-loss`: the backups synced into a fresh cluster, and the
//!   Restore of every namespace of a backup.
//! - [`report`]: what a fault did and found, as `result.json` keeps it.
//! - [`corruption`]: `pvc-corruption`: where the bytes go (from the seed) and the Job that
//!   overwrites them at rest and verifies the damaged file.

pub mod backup_deletion;
pub mod corruption;
pub mod fallback;
pub mod lost_backup;
pub mod new_cluster;
pub mod node;
pub mod report;
pub mod repository;
pub mod stored_backups;
