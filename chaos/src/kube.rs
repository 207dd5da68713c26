//! The harness's side of the Kubernetes API (kube-rs): a client for a kubeconfig the run
//! names (never the user's current context unless told), watches with timeouts, and the
//! namespace steps of a fault.

pub mod client;
pub mod namespace;
pub mod wait;
