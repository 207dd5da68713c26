//! AdmissionReview glue, in three parts:
//!
//! - [`wire`]: the wire format. Decoding `admission.k8s.io/v1` reviews cheaply (borrowed
//!   strings, `object`/`oldObject` kept as raw JSON), encoding answers into one buffer, and
//!   [`probe`]: the head of a review (uid, kind, operation), all that shedding it needs.
//! - [`decision`]: what the webhook answers ([`Decision`]), before it is encoded.
//! - [`object`]: object heads. The few fields of a Namespace or PVC a decision reads
//!   ([`ObjectHead`]), and the policy crate's facts built from them.
//!
//! Dependencies run one way: `object → wire → decision`.

mod decision;
mod object;
mod wire;

pub use decision::{Decision, Outcome, Refusal};
pub use object::ObjectHead;
pub(crate) use object::{Facts, MetaHead};
pub use wire::{
    API_VERSION_V1, API_VERSION_V1BETA1, AdmissionRequest, DecodeError, GroupVersionKind, Head,
    Operation, REVIEW_KIND, Review, Subject, UserInfo, decode, encode, probe,
};
