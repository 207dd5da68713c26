//! The mock Kubernetes API server on the captured answers of `fixtures/apiserver-captures/`,
//! planned before it starts, shared with the webhook tests: `test-support/src/apiserver/planned.rs`.
pub use backstop_test_support::apiserver::planned::*;
