//! `backstop-chaos drill`: the monthly restore drill. Restore the newest Completed backup of a
//! schedule into a scratch namespace, wait for it, check it, compare it with the backup, record
//! every step with its time, clean up.
//!
//! Everything here is pure decision code over what the cluster answered; the command
//! ([`crate::command::drill`]) is the shell that asks the cluster and writes the files.
//! - [`args`]: the command line of `drill`.
//! - [`backup`]: which backup of the schedule to restore, and which ones were skipped.
//! - [`restore`]: where to restore (the namespace mapping, the in-place refusal) and the
//!   Velero Restore object.
//! - [`check`]: `--check` targets, reached through the API server's service proxy.
//! - [`compare`]: what was restored against what the backup holds.
//! - [`record`]: the drill's own evidence in `result.json`, and the checks over it.
//! - [`result`]: the drill's `result.json` (the `run` schema's envelope plus `drill`).

pub mod args;
pub mod backup;
pub mod check;
pub mod compare;
pub mod record;
pub mod restore;
pub mod result;
