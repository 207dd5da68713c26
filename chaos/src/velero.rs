//! Velero through its API objects: the Schedule of a run, and its Restore, watched to a
//! terminal phase.

pub mod restore;
pub mod schedule;
