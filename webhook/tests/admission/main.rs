//! The admission router in-process: AdmissionReview fixtures (`fixtures/admission/`, modelled on
//! real apiserver captures) sent to `/mutate` and `/validate` as the apiserver sends them, the
//! returned JSON patch applied with `json-patch` exactly as the apiserver applies it, and the
//! resulting object checked.
//!
//! The coverage index is the bundled platform: `fixtures/policy/platform.yaml` over
//! `fixtures/platform/`, where the only hourly schedule cannot give the critical tier its 15m.
//!
//! One test binary, split by rule family: [`namespaces`], [`pvcs`], [`schedules`], Velero's
//! silent skips ([`velero_skips`]), the [`protocol`] and [`robustness`] under mangled input. The
//! harness is `tests/support/admission.rs`.

// Helpers outside `#[test]` functions unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/admission.rs"]
mod support;

mod namespaces;
mod protocol;
mod pvcs;
mod robustness;
mod schedules;
mod velero_skips;
