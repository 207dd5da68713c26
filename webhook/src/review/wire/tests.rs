//! Decoding reviews as the apiserver sends them, and encoding answers as kube-rs reads them.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::*;
use crate::review::object::ObjectHead;

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
