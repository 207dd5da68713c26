//! Velero through its CLI and its API objects: the install (or the Velero already there),
//! the run's Schedule, its backups and the one that qualifies, the Restore watched to a
//! terminal phase, and files from the backup store (a Restore's results).

pub mod backup;
pub mod download;
pub mod install;
pub mod restore;
pub mod schedule;
