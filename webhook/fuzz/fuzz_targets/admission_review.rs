//! Any bytes as an AdmissionReview body: decoded, then decided by `/mutate` and `/validate`
//! (Schedule reviews included) against the platform index, and the answer encoded. Nothing may
//! panic, and a decoded review always gets a JSON answer echoing its uid.

#![no_main]

use backstop_webhook::review::{self, DecodeError};
use backstop_webhook::{mutate, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let index = backstop_webhook_fuzz::platform_index();
    match review::decode(body) {
        Ok(review) => {
            let request = &review.request;
            for decision in [
                mutate::decide(index, request),
                validate::decide(index, request),
            ] {
                let answer = review::encode(review.api_version, &request.uid, &decision);
                let parsed: serde_json::Value =
                    serde_json::from_slice(&answer).expect("the answer is JSON");
                assert_eq!(parsed["response"]["uid"], request.uid.as_ref());
                assert_eq!(parsed["response"]["allowed"], decision.is_allowed());
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
