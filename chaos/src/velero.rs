//! Velero through its API objects: the Restore of a run, watched to a terminal phase.

pub mod restore;
