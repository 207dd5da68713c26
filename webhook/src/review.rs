//! AdmissionReview glue: decoding `admission.k8s.io/v1` reviews cheaply, and encoding answers.
//!
//! The request is decoded into small borrowed structs rather than kube-rs's
//! `AdmissionReview<DynamicObject>`: `object` and `oldObject` stay raw JSON slices until a
//! decision needs them, and are then decoded into the few fields it reads ([`ObjectHead`]), so
//! `managedFields`, `spec` and `status` are skipped without being built. The answer has exactly
//! the shape of kube-rs's `AdmissionResponse::into_review()` (`apiVersion`, `kind`, `response`
//! with `uid`, `allowed`, `status`, `patch`, `patchType`, `warnings`), except that the patch is
//! base64 text, which is how the apiserver (Go's `[]byte`) documents and expects it.

use policy::objects::null_as_default as nullable;
use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use policy::objects::{Meta, NamespaceFacts, PvcFacts, PvcSpecFacts};
use policy::{CoverageIndex, Detail, ObjectKind, Verdict};
use serde::de::{self, IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

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
        match (self.kind.group.as_ref(), self.kind.kind.as_ref()) {
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

/// The metadata fields decisions read, keeping whether `metadata`, `labels` and `annotations`
/// were present at all (a JSON patch must create a missing map, not add into it).
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct MetaHead {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub deletion_timestamp: Option<IgnoredAny>,
}

impl MetaHead {
    /// `metadata.deletionTimestamp` is set (on absent metadata: no).
    pub fn is_terminating(meta: Option<&Self>) -> bool {
        meta.is_some_and(|meta| meta.deletion_timestamp.is_some())
    }
}

/// A Namespace or PVC, decoded from `object`/`oldObject` with only the fields Backstop reads.
#[derive(Deserialize, Debug, Default, Clone)]
pub struct ObjectHead {
    #[serde(default)]
    pub metadata: Option<MetaHead>,
    #[serde(default)]
    pub spec: Option<PvcSpecFacts>,
}

impl ObjectHead {
    pub fn decode(raw: &RawValue) -> Result<Self, serde_json::Error> {
        serde_json::from_str(raw.get())
    }

    /// The object is being deleted (finalizers are being removed): never block or patch it.
    pub fn is_terminating(&self) -> bool {
        MetaHead::is_terminating(self.metadata.as_ref())
    }

    /// The policy crate's view of the object, its maps moved rather than copied. The request's
    /// name and namespace fill what the object leaves out.
    pub fn into_facts(self, kind: ObjectKind, request: &AdmissionRequest<'_>) -> Facts {
        let head = self.metadata.unwrap_or_default();
        let fallback_namespace = match kind {
            ObjectKind::Namespace => None,
            ObjectKind::PersistentVolumeClaim => {
                Some(request.namespace.as_ref()).filter(|namespace| !namespace.is_empty())
            }
        };
        let metadata = Meta {
            name: if head.name.is_empty() {
                request.name.to_string()
            } else {
                head.name
            },
            namespace: head
                .namespace
                .filter(|namespace| !namespace.is_empty())
                .or_else(|| fallback_namespace.map(str::to_string)),
            labels: head.labels.unwrap_or_default(),
            annotations: head.annotations.unwrap_or_default(),
        };
        match kind {
            ObjectKind::Namespace => Facts::Namespace(NamespaceFacts { metadata }),
            ObjectKind::PersistentVolumeClaim => Facts::Pvc(PvcFacts {
                metadata,
                spec: self.spec.unwrap_or_default(),
            }),
        }
    }
}

/// A Namespace or PVC under review, as the policy crate judges it.
#[derive(Debug, Clone)]
pub enum Facts {
    Namespace(NamespaceFacts),
    Pvc(PvcFacts),
}

impl Facts {
    pub fn meta(&self) -> &Meta {
        match self {
            Self::Namespace(namespace) => &namespace.metadata,
            Self::Pvc(pvc) => &pvc.metadata,
        }
    }

    /// The verdict as admitted: a new PVC is judged as it will be once a pod mounts it.
    pub fn evaluate_at_admission(&self, index: &CoverageIndex, detail: Detail) -> Verdict {
        match self {
            Self::Namespace(namespace) => index.evaluate_namespace_with(namespace, detail),
            Self::Pvc(pvc) => index.evaluate_pvc_at_admission_with(pvc, detail),
        }
    }
}

/// `verdict` label of a decision, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied,
    Warned,
    Invalid,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::Warned => "warned",
            Self::Invalid => "invalid",
        }
    }
}

/// The `status` of a refused review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    /// A Kubernetes `StatusReason`: `Forbidden`, `InvalidRequest`, `Timeout`, `InternalError`.
    pub reason: &'static str,
    pub message: String,
}

/// What the webhook answers. A denial is a value, not an error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// `None`: allowed. `Some`: refused, with its status.
    pub refusal: Option<Refusal>,
    pub warnings: Vec<String>,
    pub patch: Option<json_patch::Patch>,
    /// What enforcement `warn` or `dry-run` let through: it would have been denied under `deny`.
    pub overridden: Option<String>,
}

impl Decision {
    pub fn allow() -> Self {
        Self::default()
    }

    pub fn deny(message: String) -> Self {
        Self {
            refusal: Some(Refusal {
                code: 403,
                reason: "Forbidden",
                message,
            }),
            ..Self::default()
        }
    }

    /// A review Backstop could not read (kube-rs's `AdmissionResponse::invalid`).
    pub fn invalid(message: String) -> Self {
        Self {
            refusal: Some(Refusal {
                code: 400,
                reason: "InvalidRequest",
                message,
            }),
            ..Self::default()
        }
    }

    pub fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }

    pub fn is_allowed(&self) -> bool {
        self.refusal.is_none()
    }

    pub fn outcome(&self) -> Outcome {
        match &self.refusal {
            Some(refusal) if refusal.reason == "InvalidRequest" => Outcome::Invalid,
            Some(_) => Outcome::Denied,
            None if !self.warnings.is_empty() => Outcome::Warned,
            None => Outcome::Allowed,
        }
    }

    pub fn message(&self) -> Option<&str> {
        self.refusal
            .as_ref()
            .map(|refusal| refusal.message.as_str())
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
mod tests {
    use base64::Engine as _;

    use super::*;

    const NAMESPACE_CREATE: &str = r#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Namespace"},"resource":{"group":"","version":"v1","resource":"namespaces"},"name":"data-platform","namespace":"data-platform","operation":"CREATE","userInfo":{"username":"admin"},"object":{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"data-platform","labels":{"kubernetes.io/metadata.name":"data-platform"},"managedFields":[{"manager":"kubectl-create","fieldsV1":{"f:metadata":{}}}]},"spec":{},"status":{"phase":"Active"}},"oldObject":null,"dryRun":false,"options":{"kind":"CreateOptions"}}}"#;

    #[test]
    fn decodes_a_review_borrowing_its_strings() {
        let review = decode(NAMESPACE_CREATE.as_bytes()).unwrap();
        let request = &review.request;
        assert_eq!(review.api_version, API_VERSION_V1);
        assert!(matches!(request.uid, Cow::Borrowed("u-1")));
        assert!(matches!(request.name, Cow::Borrowed("data-platform")));
        assert_eq!(request.subject(), Subject::Namespace);
        assert_eq!(request.operation, Operation::Create);
        assert!(request.old_object.is_none());
        assert!(!request.dry_run);
        let head = ObjectHead::decode(request.object.unwrap()).unwrap();
        assert!(!head.is_terminating());
        let meta = head.metadata.as_ref().unwrap();
        assert_eq!(
            meta.labels.as_ref().unwrap()["kubernetes.io/metadata.name"],
            "data-platform"
        );
        assert!(meta.annotations.is_none());
    }

    #[test]
    fn reads_escaped_strings_and_nulls() {
        let body = NAMESPACE_CREATE
            .replace(r#""uid":"u-1""#, r#""uid":"u\u002d1""#)
            .replace(r#""dryRun":false"#, r#""dryRun":null"#)
            .replace(r#""userInfo":{"username":"admin"}"#, r#""userInfo":null"#);
        let review = decode(body.as_bytes()).unwrap();
        assert_eq!(review.request.uid, "u-1");
        assert!(!review.request.dry_run);
    }

    #[test]
    fn tells_json_that_is_not_a_review_from_text_that_is_not_json() {
        assert!(matches!(
            decode(b"{\"a\":1}"),
            Err(DecodeError::NotReview { .. })
        ));
        assert!(matches!(decode(b"[]"), Err(DecodeError::NotReview { .. })));
        assert!(matches!(decode(b"not json"), Err(DecodeError::NotJson(_))));
        assert!(matches!(
            decode(b"{\"request\":"),
            Err(DecodeError::NotJson(_))
        ));
        assert!(matches!(decode(b""), Err(DecodeError::NotJson(_))));
    }

    #[test]
    fn echoes_the_uid_of_a_malformed_request() {
        let body = NAMESPACE_CREATE.replace(r#""operation":"CREATE""#, r#""operation":7"#);
        match decode(body.as_bytes()) {
            Err(DecodeError::NotReview { uid, reason }) => {
                assert_eq!(uid, "u-1");
                assert!(reason.starts_with("not an AdmissionReview: "), "{reason}");
            }
            other => panic!("expected NotReview, got {other:?}"),
        }
    }

    #[test]
    fn refuses_other_api_versions_and_kinds() {
        let body = NAMESPACE_CREATE.replace("admission.k8s.io/v1", "admission.k8s.io/v2");
        assert!(
            matches!(decode(body.as_bytes()), Err(DecodeError::NotReview { uid, .. }) if uid == "u-1")
        );
        let body = NAMESPACE_CREATE.replace(r#""kind":"AdmissionReview""#, r#""kind":"Review""#);
        assert!(matches!(
            decode(body.as_bytes()),
            Err(DecodeError::NotReview { .. })
        ));
    }

    #[test]
    fn answers_a_v1beta1_review_in_its_own_version() {
        let body = NAMESPACE_CREATE.replace("admission.k8s.io/v1", API_VERSION_V1BETA1);
        let review = decode(body.as_bytes()).unwrap();
        assert_eq!(review.api_version, API_VERSION_V1BETA1);
        let answer: serde_json::Value =
            serde_json::from_slice(&encode(review.api_version, "u-1", &Decision::allow())).unwrap();
        assert_eq!(answer["apiVersion"], API_VERSION_V1BETA1);
    }

    #[test]
    fn rejects_a_body_that_is_not_utf8_as_not_json() {
        let mut body = NAMESPACE_CREATE.as_bytes().to_vec();
        let at = NAMESPACE_CREATE.find("CreateOptions").unwrap();
        body[at] = 0xff;
        assert!(matches!(decode(&body), Err(DecodeError::NotJson(_))));
    }

    #[test]
    fn keeps_unknown_operations() {
        let body = NAMESPACE_CREATE.replace(r#""operation":"CREATE""#, r#""operation":"PATCH""#);
        assert_eq!(
            decode(body.as_bytes()).unwrap().request.operation,
            Operation::Other
        );
    }

    #[test]
    fn encodes_an_allowed_answer_like_kube_rs() {
        let body = encode(API_VERSION_V1, "u-1", &Decision::allow());
        let parsed: kube::core::admission::AdmissionReview<kube::core::DynamicObject> =
            serde_json::from_slice(&body).unwrap();
        let response = parsed.response.unwrap();
        assert_eq!(response.uid, "u-1");
        assert!(response.allowed);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u-1","allowed":true,"status":{}}}"#
        );
    }

    #[test]
    fn encodes_a_denial_with_status_and_warnings() {
        let decision =
            Decision::deny("no schedule".to_string()).with_warnings(vec!["careful".to_string()]);
        let body: serde_json::Value =
            serde_json::from_slice(&encode(API_VERSION_V1, "u-2", &decision)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "response": {
                    "uid": "u-2",
                    "allowed": false,
                    "status": {"status": "Failure", "code": 403, "reason": "Forbidden", "message": "no schedule"},
                    "warnings": ["careful"],
                }
            })
        );
    }

    #[test]
    fn escapes_a_uid_and_message_that_are_not_plain_text() {
        let uid = "u\"1\\\n\u{1}é";
        let message = "namespace \"shop\"\tis not covered\n\u{7f}";
        let body: serde_json::Value = serde_json::from_slice(&encode(
            API_VERSION_V1,
            uid,
            &Decision::deny(message.to_string()),
        ))
        .unwrap();
        assert_eq!(body["response"]["uid"], uid);
        assert_eq!(body["response"]["status"]["message"], message);
    }

    #[test]
    fn encodes_the_patch_as_base64_json_patch() {
        let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
            {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}
        ]))
        .unwrap();
        let decision = Decision {
            patch: Some(patch),
            ..Decision::allow()
        };
        let body: serde_json::Value =
            serde_json::from_slice(&encode(API_VERSION_V1, "u-3", &decision)).unwrap();
        assert_eq!(body["response"]["patchType"], "JSONPatch");
        let bytes = BASE64
            .decode(body["response"]["patch"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"[{"op":"add","path":"/metadata/annotations","value":{"a":"b"}}]"#
        );
    }
}
