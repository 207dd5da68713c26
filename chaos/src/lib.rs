//! Backstop chaos verification harness.
