//! The mock Kubernetes API server on the captured answers of `fixtures/apiserver-captures/`,
//! shared with the chaos tests: `test-support/src/apiserver.rs`.
pub use backstop_test_support::apiserver::*;
