//! Any bytes as an AdmissionReview body: decoded, then decided by `/mutate` and `/validate`
//! (Schedule reviews included) against the platform index, and the answer encoded. Nothing may
//! panic, a decoded review always gets a JSON answer echoing its uid and verdict, and a patch
//! (only `/mutate` makes one) applies to the object it was made for, as the API server applies
//! it: a patch that does not would fail the write. The overload path's `review::probe` (the head
//! of a review shed past `--max-in-flight`) agrees with the full decode whenever both read one.

#![no_main]

use backstop_webhook::review::{self, DecodeError};
use backstop_webhook::{mutate, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let index = backstop_webhook_fuzz::platform_index();
    let head = review::probe(body);
    match review::decode(body) {
        Ok(review) => {
            let request = &review.request;
            if let Some(head) = head {
                assert_eq!(head.api_version, review.api_version);
                assert_eq!(head.uid, request.uid);
                assert_eq!(head.subject, request.subject());
                assert_eq!(head.operation, request.operation);
            }
            let mutated = mutate::decide(index, request);
            if let Some(patch) = &mutated.patch {
                let object = request.object.expect("a patch is made for an object");
                let mut object: serde_json::Value =
                    serde_json::from_str(object.get()).expect("the object is JSON");
                json_patch::patch(&mut object, patch).expect("the patch applies to the object");
            }
            let validated = validate::decide(index, request);
            assert!(validated.patch.is_none(), "/validate never patches");
            for decision in [mutated, validated] {
                let answer = review::encode(review.api_version, &request.uid, &decision);
                let parsed: serde_json::Value =
                    serde_json::from_slice(&answer).expect("the answer is JSON");
                assert_eq!(parsed["response"]["uid"], request.uid.as_ref());
                assert_eq!(parsed["response"]["allowed"], decision.is_allowed());
                assert_eq!(
                    parsed["response"]["patchType"].as_str(),
                    decision
                        .patch
                        .as_ref()
                        .filter(|patch| !patch.0.is_empty())
                        .map(|_| "JSONPatch")
                );
            }
        }
        Err(DecodeError::NotReview { uid, reason }) => {
            let answer = review::encode(
                review::API_VERSION_V1,
                &uid,
                &review::Decision::invalid(reason),
            );
            assert!(!answer.is_empty());
        }
        Err(DecodeError::NotJson(_)) => {}
    }
});
