//! Backstop policy.
