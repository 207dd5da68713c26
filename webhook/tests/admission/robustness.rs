//! Robustness: mangled variants of every fixture never panic and never get a wrong status.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// Values a field is replaced with.
fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        json!(0),
        json!(-1.5e300),
        json!(""),
        json!("\u{0}~/\u{1F4A5}"),
        json!(true),
        json!([]),
        json!([null, {}]),
        json!({}),
        json!({"": {"": []}}),
    ]
}

/// Every variant: each field of `request`, of `object`/`oldObject` and of their `metadata`
/// removed or replaced, plus the top level broken.
fn variants(body: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut vary = |pointer: &str| {
        let Some(target) = body.pointer(pointer).and_then(Value::as_object) else {
            return;
        };
        for key in target.keys() {
            let mut removed = body.clone();
            removed
                .pointer_mut(pointer)
                .and_then(Value::as_object_mut)
                .unwrap()
                .remove(key);
            out.push(removed);
            for replacement in replacements() {
                let mut replaced = body.clone();
                replaced
                    .pointer_mut(pointer)
                    .and_then(Value::as_object_mut)
                    .unwrap()
                    .insert(key.clone(), replacement);
                out.push(replaced);
            }
        }
    };
    for pointer in [
        "",
        "/request",
        "/request/kind",
        "/request/object",
        "/request/object/metadata",
        "/request/object/spec",
        "/request/object/spec/template",
        "/request/oldObject",
        "/request/oldObject/metadata",
        "/request/oldObject/spec",
    ] {
        vary(pointer);
    }
    out
}

/// A tiny deterministic generator for byte-level damage.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % below.max(1)
    }
}

#[tokio::test]
async fn survives_thousands_of_mangled_reviews_without_a_panic_or_a_wrong_status() {
    let router = platform();
    let mut random = Lcg(0x5eed);
    let mut sent = 0usize;
    for (name, body) in all_fixtures() {
        let endpoints = ["mutate", "validate"];
        for variant in variants(&body) {
            let bytes = serde_json::to_vec(&variant).unwrap();
            let endpoint = endpoints[random.next(2)];
            let (status, answer) = send(
                &router,
                post(
                    &format!("/{endpoint}?timeout=10s"),
                    "application/json",
                    bytes,
                ),
            )
            .await;
            sent += 1;
            assert_eq!(status, StatusCode::OK, "{name}: {variant}");
            let answer = Answer::parse(&answer);
            assert!(
                !answer.message.contains("failed internally"),
                "{name}: {variant}"
            );
            if let Some(uid) = variant.pointer("/request/uid").and_then(Value::as_str)
                && answer.raw["response"]["status"]["reason"] != "InvalidRequest"
            {
                assert_eq!(answer.uid, uid, "{name}");
            }
        }
        // Byte-level damage: truncation, flipped bytes, inserted junk.
        let original = serde_json::to_vec(&body).unwrap();
        for _ in 0..40 {
            let mut bytes = original.clone();
            match random.next(3) {
                0 => bytes.truncate(random.next(bytes.len())),
                1 => {
                    let at = random.next(bytes.len());
                    bytes[at] = random.next(256) as u8;
                }
                _ => {
                    let at = random.next(bytes.len());
                    let junk = [b'"', b'{', b'}', b'[', b',', b'\\', 0xff, b'0'];
                    bytes.insert(at, junk[random.next(junk.len())]);
                }
            }
            let is_json = serde_json::from_slice::<Value>(&bytes).is_ok();
            let (status, answer) = send(
                &router,
                post("/validate", "application/json", bytes.clone()),
            )
            .await;
            sent += 1;
            let expected = if is_json {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            };
            assert_eq!(
                status,
                expected,
                "{name}: {}",
                String::from_utf8_lossy(&bytes)
            );
            if is_json {
                Answer::parse(&answer);
            }
        }
    }
    assert!(sent > 3000, "only {sent} variants");
}
