//! AdmissionReview glue, in three parts:
//!
//! - [`wire`]: the wire format. Decoding `admission.k8s.io/v1` reviews cheaply (borrowed
//!   strings, `object`/`oldObject` kept as raw JSON) and encoding answers into one buffer.
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
    API_VERSION_V1, API_VERSION_V1BETA1, AdmissionRequest, DecodeError, GroupVersionKind,
    Operation, REVIEW_KIND, Review, Subject, UserInfo, decode, encode,
};
