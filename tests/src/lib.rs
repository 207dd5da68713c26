//! Workspace tests that the repository's parts agree with each other (`tests/tests/*.rs`):
//! - `platform_fixtures_match_deploy`: the fixtures the tests judge are what `deploy/` ships;
//! - `manifests_match_the_code`: RBAC grants exactly what the caches watch, the alerts use only
//!   metrics the webhook registers, the webhooks and the policy leave the never-governed
//!   namespaces alone;
//! - `dependencies_are_used`: every dependency a crate declares is used by its code.
//!
//! Checks whose truth is outside Rust (Kubernetes and CRD schemas, kustomize rendering, Velero's
//! metric names) stay in `ci/validate-manifests.py`. Tests that need Docker, kind or a cluster
//! belong in this crate too, and check for their tools first; none exist yet.
