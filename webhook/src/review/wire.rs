//! The wire format: `admission.k8s.io/v1` (and `v1beta1`) reviews decoded cheaply, borrowing
//! from the body, and answers encoded straight into one buffer.
//!
//! The request is decoded into small borrowed structs rather than kube-rs's
//! `AdmissionReview<DynamicObject>`: `object` and `oldObject` stay raw JSON slices until a
//! decision needs them (see [`super::object`]). The answer has exactly the shape of kube-rs's
//! `AdmissionResponse::into_review()` (`apiVersion`, `kind`, `response` with `uid`, `allowed`,
//! `status`, `patch`, `patchType`, `warnings`), except that the patch is base64 text, which is
//! how the apiserver (Go's `[]byte`) documents and expects it.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD as BASE64;
use policy::ObjectKind;
use policy::objects::null_as_default as nullable;
use serde::de::{self, IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::decision::Decision;

mod probe;

pub use probe::{Head, probe};

pub const API_VERSION_V1: &str = "admission.k8s.io/v1";
pub const API_VERSION_V1BETA1: &str = "admission.k8s.io/v1beta1";
pub const REVIEW_KIND: &str = "AdmissionReview";

/// The operation of an admission request; anything unknown is kept as `Other` and allowed.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    #[serde(rename = "CREATE")]
    Create,
    #[serde(rename = "UPDATE")]
    Update,
    #[serde(rename = "DELETE")]
    Delete,
    #[serde(rename = "CONNECT")]
    Connect,
    #[serde(other)]
    Other,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Connect => "CONNECT",
            Self::Other => "OTHER",
        }
    }
}

/// `request.kind`.
#[derive(Deserialize, Debug, Default, Clone)]
pub struct GroupVersionKind<'a> {
    #[serde(borrow, default, deserialize_with = "text")]
    pub group: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub version: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub kind: Cow<'a, str>,
}

/// `request.userInfo`: only the user name is read (to recognise the namespace controller).
#[derive(Deserialize, Debug, Default, Clone)]
pub struct UserInfo<'a> {
    #[serde(borrow, default, deserialize_with = "text")]
    pub username: Cow<'a, str>,
}

/// What Backstop decides about, from `request.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Namespace,
    PersistentVolumeClaim,
    /// A Velero `velero.io/v1` Schedule.
    Schedule,
    Other,
}

impl Subject {
    /// The policy's kind for the objects Backstop annotates and judges (Namespaces and PVCs).
    pub fn object_kind(self) -> Option<ObjectKind> {
        match self {
            Self::Namespace => Some(ObjectKind::Namespace),
            Self::PersistentVolumeClaim => Some(ObjectKind::PersistentVolumeClaim),
            Self::Schedule | Self::Other => None,
        }
    }

    /// The metrics label: `Namespace`, `PersistentVolumeClaim`, `Schedule` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Namespace => "Namespace",
            Self::PersistentVolumeClaim => "PersistentVolumeClaim",
            Self::Schedule => "Schedule",
            Self::Other => "other",
        }
    }
}

/// The fields of `request` a decision reads. Strings borrow from the body when they can.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest<'a> {
    #[serde(borrow, deserialize_with = "text")]
    pub uid: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: GroupVersionKind<'a>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub sub_resource: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub name: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub namespace: Cow<'a, str>,
    pub operation: Operation,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub user_info: UserInfo<'a>,
    #[serde(borrow, default)]
    pub object: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub old_object: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "nullable")]
    pub dry_run: bool,
}

impl AdmissionRequest<'_> {
    pub fn subject(&self) -> Subject {
        Self::subject_of(&self.kind)
    }

    /// What a request of `kind` is about.
    pub fn subject_of(kind: &GroupVersionKind<'_>) -> Subject {
        match (kind.group.as_ref(), kind.kind.as_ref()) {
            ("", "Namespace") => Subject::Namespace,
            ("", "PersistentVolumeClaim") => Subject::PersistentVolumeClaim,
            ("velero.io", "Schedule") => Subject::Schedule,
            _ => Subject::Other,
        }
    }

    /// True for a sub-resource request (`persistentvolumeclaims/status`, `namespaces/finalize`).
    pub fn is_subresource(&self) -> bool {
        !self.sub_resource.is_empty()
    }
}

/// A decoded review: the request and the `apiVersion` the answer must carry.
#[derive(Debug)]
pub struct Review<'a> {
    pub api_version: &'static str,
    pub request: AdmissionRequest<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(borrow, default, deserialize_with = "text")]
    api_version: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "text")]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    request: Option<AdmissionRequest<'a>>,
}

/// Enough of a malformed review to echo its uid.
#[derive(Deserialize)]
struct UidProbe<'a> {
    #[serde(borrow, default)]
    request: Option<UidOnly<'a>>,
}

#[derive(Deserialize)]
struct UidOnly<'a> {
    #[serde(borrow, default, deserialize_with = "text")]
    uid: Cow<'a, str>,
}

/// Why a body could not be read as a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The body is not JSON at all: HTTP 400.
    NotJson(String),
    /// JSON, but not an AdmissionReview Backstop understands: HTTP 200 with an invalid answer,
    /// echoing the uid when one could be found.
    NotReview { uid: String, reason: String },
}

/// Decodes an AdmissionReview body, borrowing from it.
pub fn decode(body: &[u8]) -> Result<Review<'_>, DecodeError> {
    // JSON is UTF-8: checked once here, so fields that are skipped are valid text too.
    let body = std::str::from_utf8(body)
        .map_err(|error| DecodeError::NotJson(format!("the body is not UTF-8: {error}")))?;
    match serde_json::from_str::<Envelope<'_>>(body) {
        Ok(envelope) => {
            let api_version = match envelope.api_version.as_ref() {
                API_VERSION_V1 => API_VERSION_V1,
                API_VERSION_V1BETA1 => API_VERSION_V1BETA1,
                other => {
                    return Err(not_review(
                        envelope.request.map(|request| request.uid.into_owned()),
                        format!(
                            "apiVersion {other:?} is not {API_VERSION_V1} (or {API_VERSION_V1BETA1})"
                        ),
                    ));
                }
            };
            if envelope.kind != REVIEW_KIND {
                return Err(not_review(
                    envelope.request.map(|request| request.uid.into_owned()),
                    format!("kind {:?} is not {REVIEW_KIND}", envelope.kind),
                ));
            }
            match envelope.request {
                Some(request) => Ok(Review {
                    api_version,
                    request,
                }),
                None => Err(not_review(None, "the review has no request".to_string())),
            }
        }
        Err(error) => {
            if serde_json::from_str::<IgnoredAny>(body).is_err() {
                return Err(DecodeError::NotJson(error.to_string()));
            }
            let uid = serde_json::from_str::<UidProbe<'_>>(body)
                .ok()
                .and_then(|probe| probe.request)
                .map(|request| request.uid.into_owned());
            Err(not_review(uid, format!("not an AdmissionReview: {error}")))
        }
    }
}

fn not_review(uid: Option<String>, reason: String) -> DecodeError {
    DecodeError::NotReview {
        uid: uid.unwrap_or_default(),
        reason,
    }
}

/// The JSON body of the answer to review `uid`, written straight into one buffer: the patch is
/// serialized through a base64 encoder into the body (no intermediate JSON or base64 copy, and
/// base64 text needs no escaping); strings that may need escaping go through `serde_json`.
pub fn encode(api_version: &str, uid: &str, decision: &Decision) -> Vec<u8> {
    let patch = decision.patch.as_ref().filter(|patch| !patch.0.is_empty());
    let texts: usize = decision
        .refusal
        .as_ref()
        .map_or(0, |refusal| refusal.message.len())
        + decision.warnings.iter().map(String::len).sum::<usize>();
    let mut body = Vec::with_capacity(256 + texts + texts / 8 + patch.map_or(0, |_| 512));
    // Writing these values into a Vec cannot fail; an empty body would be answered as a 500.
    match write_answer(&mut body, api_version, uid, decision, patch) {
        Ok(()) => body,
        Err(_) => Vec::new(),
    }
}

fn write_answer(
    body: &mut Vec<u8>,
    api_version: &str,
    uid: &str,
    decision: &Decision,
    patch: Option<&json_patch::Patch>,
) -> Result<(), serde_json::Error> {
    body.extend_from_slice(b"{\"apiVersion\":");
    serde_json::to_writer(&mut *body, api_version)?;
    body.extend_from_slice(b",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":");
    serde_json::to_writer(&mut *body, uid)?;
    // `status` is always present (`{}` when allowed), as kube-rs writes and expects it.
    match &decision.refusal {
        None => body.extend_from_slice(b",\"allowed\":true,\"status\":{}"),
        Some(refusal) => {
            body.extend_from_slice(
                b",\"allowed\":false,\"status\":{\"status\":\"Failure\",\"code\":",
            );
            serde_json::to_writer(&mut *body, &refusal.code)?;
            body.extend_from_slice(b",\"reason\":");
            serde_json::to_writer(&mut *body, refusal.reason)?;
            body.extend_from_slice(b",\"message\":");
            serde_json::to_writer(&mut *body, &refusal.message)?;
            body.push(b'}');
        }
    }
    if let Some(patch) = patch {
        body.extend_from_slice(b",\"patch\":\"");
        {
            let mut base64 = base64::write::EncoderWriter::new(&mut *body, &BASE64);
            serde_json::to_writer(&mut base64, patch)?;
            base64.finish().map_err(serde_json::Error::io)?;
        }
        body.extend_from_slice(b"\",\"patchType\":\"JSONPatch\"");
    }
    if !decision.warnings.is_empty() {
        body.extend_from_slice(b",\"warnings\":");
        serde_json::to_writer(&mut *body, &decision.warnings)?;
    }
    body.extend_from_slice(b"}}");
    Ok(())
}

/// A string that may also be `null` (taken as empty); borrowed from the input when unescaped.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Cow<'de, str>, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = Cow<'de, str>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a string or null")
        }

        fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(value))
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(value.to_string()))
        }

        fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
            Ok(Cow::Owned(value))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(""))
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(""))
        }
    }
    deserializer.deserialize_any(Text)
}

#[cfg(test)]
mod tests;
