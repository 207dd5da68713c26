//! Workspace-level tests that span crates and folders (`tests/tests/*.rs`): the fixtures the
//! tests judge must be what `deploy/` ships. Tests that need Docker, kind or a cluster belong
//! here too, and check for their tools first (none exist yet: live chaos runs are a later issue).
