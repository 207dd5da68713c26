//! The harness's side of the Kubernetes API (kube-rs): a client for a kubeconfig the run
//! names (never the user's current context unless told), watches with timeouts, the
//! namespace steps of a fault, and strict creation of what the run brings.

pub mod client;
pub mod ledger_proxy;
pub mod namespace;
pub mod strict;
pub mod wait;
