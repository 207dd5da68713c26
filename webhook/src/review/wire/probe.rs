//! The overload path's probe: just enough of a review to answer it without deciding it.
//!
//! A review shed past `--max-in-flight` is answered with the failure decision, which needs only
//! the `apiVersion` (the answer carries it), `request.uid` (echoed) and, for the metrics labels,
//! `request.kind` and `request.operation`. The API server writes those first (`kind`,
//! `apiVersion`, then `request` with `uid`, `kind`, ... `operation`, and only then `userInfo`,
//! `object`, `oldObject`: see `fixtures/admission-captures/`), so the probe reads the body
//! until it has all of them and stops there: a review of a 1.5 MiB object is not parsed past
//! its first few hundred bytes. Fields in another order are still found (the probe then skips
//! over what comes first). Whatever the probe cannot settle (not an object, another
//! `apiVersion` or `kind`, no uid) is left to the full [`super::decode`], which gives the
//! precise answer.

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{
    API_VERSION_V1, API_VERSION_V1BETA1, AdmissionRequest, GroupVersionKind, Operation,
    REVIEW_KIND, Subject, text,
};

/// What the answer to a shed review needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    pub api_version: &'static str,
    pub uid: Cow<'a, str>,
    pub subject: Subject,
    pub operation: Operation,
}

/// The head of an AdmissionReview body, read no further than needed; `None` when the head does
/// not settle it (the caller then decodes the whole review).
pub fn probe(body: &[u8]) -> Option<Head<'_>> {
    let body = std::str::from_utf8(body).ok()?;
    let mut found = Found::default();
    let mut deserializer = serde_json::Deserializer::from_str(body);
    // Ends early with the "head complete" error once everything is found: that is the point.
    let _ = deserializer.deserialize_map(Envelope(&mut found));
    found.head()
}

#[derive(Default)]
struct Found<'a> {
    api_version: Option<Cow<'a, str>>,
    kind: Option<Cow<'a, str>>,
    uid: Option<Cow<'a, str>>,
    request_kind: Option<GroupVersionKind<'a>>,
    operation: Option<Operation>,
}

impl<'a> Found<'a> {
    fn complete(&self) -> bool {
        self.api_version.is_some()
            && self.kind.is_some()
            && self.uid.is_some()
            && self.request_kind.is_some()
            && self.operation.is_some()
    }

    fn head(self) -> Option<Head<'a>> {
        let api_version = match self.api_version.as_deref()? {
            API_VERSION_V1 => API_VERSION_V1,
            API_VERSION_V1BETA1 => API_VERSION_V1BETA1,
            _ => return None,
        };
        if self.kind.as_deref()? != REVIEW_KIND {
            return None;
        }
        let kind = self.request_kind?;
        Some(Head {
            api_version,
            uid: self.uid?,
            subject: AdmissionRequest::subject_of(&kind),
            operation: self.operation?,
        })
    }
}

/// The error that stops the parse once the head is complete (never shown to anyone).
fn stop<E: de::Error>() -> E {
    E::custom("the review's head is complete")
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum EnvelopeField {
    ApiVersion,
    Kind,
    Request,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum RequestField {
    Uid,
    Kind,
    Operation,
    #[serde(other)]
    Other,
}

/// A string or null, borrowed from the body when it has no escapes.
struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        text(deserializer)
    }
}

struct Envelope<'f, 'a>(&'f mut Found<'a>);

impl<'a> Visitor<'a> for Envelope<'_, 'a> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("an AdmissionReview object")
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(field) = map.next_key::<EnvelopeField>()? {
            match field {
                EnvelopeField::ApiVersion => self.0.api_version = Some(map.next_value_seed(Text)?),
                EnvelopeField::Kind => self.0.kind = Some(map.next_value_seed(Text)?),
                EnvelopeField::Request => map.next_value_seed(Request(&mut *self.0))?,
                EnvelopeField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if self.0.complete() {
                return Err(stop());
            }
        }
        Ok(())
    }
}

struct Request<'f, 'a>(&'f mut Found<'a>);

impl<'a> DeserializeSeed<'a> for Request<'_, 'a> {
    type Value = ();

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'a> Visitor<'a> for Request<'_, 'a> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("an admission request object")
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(field) = map.next_key::<RequestField>()? {
            match field {
                RequestField::Uid => self.0.uid = Some(map.next_value_seed(Text)?),
                RequestField::Kind => self.0.request_kind = Some(map.next_value()?),
                RequestField::Operation => self.0.operation = Some(map.next_value()?),
                RequestField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if self.0.complete() {
                return Err(stop());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"PersistentVolumeClaim"},"resource":{"group":"","version":"v1","resource":"persistentvolumeclaims"},"name":"data","namespace":"shop","operation":"CREATE","#;

    #[test]
    fn reads_the_head_of_a_review_as_the_apiserver_writes_it() {
        let body = format!(
            r#"{HEAD}"userInfo":{{"username":"admin"}},"object":{{}},"oldObject":null}}}}"#
        );
        let head = probe(body.as_bytes()).unwrap();
        assert_eq!(
            head,
            Head {
                api_version: API_VERSION_V1,
                uid: Cow::Borrowed("u-1"),
                subject: Subject::PersistentVolumeClaim,
                operation: Operation::Create,
            }
        );
        assert!(matches!(head.uid, Cow::Borrowed(_)), "the uid is borrowed");
    }

    #[test]
    fn stops_reading_once_the_head_is_complete() {
        // Everything after `operation` is not JSON: the full decode refuses the body, the probe
        // never reaches it.
        let body = format!(r#"{HEAD}"object":{{"metadata": this is not JSON"#);
        assert!(super::super::decode(body.as_bytes()).is_err());
        assert_eq!(probe(body.as_bytes()).unwrap().uid, "u-1");
    }

    #[test]
    fn finds_the_head_in_any_field_order() {
        let body = r#"{"request":{"object":{"a":[1,2,{"b":null}]},"operation":"UPDATE","kind":{"kind":"Namespace"},"uid":"u\u002d2"},"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}"#;
        let head = probe(body.as_bytes()).unwrap();
        assert_eq!(head.api_version, API_VERSION_V1BETA1);
        assert_eq!(head.uid, "u-2");
        assert_eq!(
            (head.subject, head.operation),
            (Subject::Namespace, Operation::Update)
        );
    }

    #[test]
    fn leaves_what_it_cannot_settle_to_the_full_decode() {
        for body in [
            "not json",
            "[1,2]",
            r#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v2","request":{"uid":"u","kind":{},"operation":"CREATE"}}"#,
            r#"{"kind":"Pod","apiVersion":"admission.k8s.io/v1","request":{"uid":"u","kind":{},"operation":"CREATE"}}"#,
            r#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"kind":{},"operation":"CREATE"}}"#,
            r#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":null}"#,
            r#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":7,"kind":{},"operation":"CREATE"}}"#,
        ] {
            assert_eq!(probe(body.as_bytes()), None, "{body}");
        }
    }
}
