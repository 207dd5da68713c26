//! `backstop-chaos drill`: the monthly restore drill. Restore the newest Completed backup of a
//! schedule into a scratch namespace, wait for it, check it, compare it with the backup, record
//! every step with its time, clean up.
//!
//! Everything here but [`live`] is pure decision code over what the cluster answered;
//! [`live`] asks the cluster, and the command ([`crate::command::drill`]) writes the files.
//! - [`args`]: the command line of `drill`.
//! - [`backup`]: which backup of the schedule to restore, and which ones were skipped.
//! - [`restore`]: where to restore (the namespace mapping, the in-place refusal) and the
//!   Velero Restore object.
//! - [`check`]: `--check` targets, reached through the API server's service proxy.
//! - [`compare`]: what was restored against what the backup holds.
//! - [`record`]: the drill's own evidence in `result.json`, and the checks over it.
//! - [`result`]: the drill's `result.json` (the `run` schema's envelope plus `drill`).
//! - [`live`]: the shell that asks the cluster (kube-rs) and feeds those decisions.

pub mod args;
pub mod backup;
pub mod check;
pub mod compare;
pub mod live;
pub mod record;
pub mod restore;
pub mod result;
