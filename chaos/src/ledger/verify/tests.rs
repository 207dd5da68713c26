use super::*;
use crate::ledger::{chain, encode_all};

const START: u64 = 1_750_000_000_000_000_000;
const STEP: u64 = 1_000_000_000;

fn healthy(count: u64) -> Vec<u8> {
    encode_all(&chain(count, START, STEP))
}

fn offset_of(seq: u64) -> usize {
    (seq as usize - 1) * RECORD_LEN
}

#[test]
fn an_intact_chain_verifies_with_every_record_counted() {
    let v = verify(&healthy(100));
    assert!(v.is_intact());
    assert_eq!(v.records, 100);
    assert_eq!(v.chain_valid_records, 100);
    assert_eq!(v.newest_valid_seq, Some(100));
    assert_eq!(v.newest_valid_unix_nanos, Some(START + 99 * STEP));
    assert!(v.problems.is_empty() && v.torn_tail.is_none() && v.duplicates.is_empty());
}

#[test]
fn an_empty_file_is_intact_and_holds_no_record() {
    let v = verify(&[]);
    assert!(v.is_intact());
    assert_eq!(v.records, 0);
    assert_eq!(v.newest_valid_seq, None);
}

#[test]
fn detects_flipped_byte_at_its_sequence() {
    for (byte_in_record, what) in [(6, "seq"), (15, "timestamp"), (30, "prev"), (70, "check")] {
        let mut bytes = healthy(100);
        bytes[offset_of(40) + byte_in_record] ^= 0x20;
        let v = verify(&bytes);
        assert_eq!(v.first_broken_seq, Some(40), "flip in {what}");
        assert_eq!(v.newest_valid_seq, Some(39), "flip in {what}");
        assert_eq!(v.records, 99, "flip in {what}");
        assert_eq!(
            v.problems,
            vec![Problem::Damaged {
                seq: 40,
                last_seq: Some(40),
                offset: offset_of(40) as u64,
                bytes: RECORD_LEN as u64,
            }],
            "flip in {what}"
        );
    }
}

#[test]
fn detects_flipped_byte_in_the_newest_record_as_damage_not_a_torn_write() {
    let mut bytes = healthy(10);
    bytes[offset_of(10) + 10] ^= 0xff;
    let v = verify(&bytes);
    assert_eq!(v.first_broken_seq, Some(10));
    assert_eq!(v.newest_valid_seq, Some(9));
    assert!(v.torn_tail.is_none());
    assert!(matches!(
        v.problems[..],
        [Problem::DamagedTail { seq: 10, .. }]
    ));
}

#[test]
fn a_torn_last_record_is_reported_and_not_counted() {
    let mut bytes = healthy(10);
    bytes.extend_from_slice(&chain(11, START, STEP)[10].encode()[..37]);
    let v = verify(&bytes);
    assert!(v.is_intact());
    assert_eq!(v.records, 10);
    assert_eq!(v.newest_valid_seq, Some(10));
    assert_eq!(
        v.torn_tail,
        Some(TornTail {
            offset: offset_of(11) as u64,
            bytes: 37,
            seq: 11
        })
    );
}

#[test]
fn a_torn_record_padded_with_zeros_is_a_torn_write() {
    let mut bytes = healthy(10);
    let mut slot = [0u8; RECORD_LEN];
    slot[..20].copy_from_slice(&chain(11, START, STEP)[10].encode()[..20]);
    bytes.extend_from_slice(&slot);
    bytes.extend_from_slice(&[0u8; 4096]);
    let v = verify(&bytes);
    assert!(v.is_intact());
    assert_eq!(v.torn_tail.map(|t| t.seq), Some(11));
    assert_eq!(v.newest_valid_seq, Some(10));
}

#[test]
fn detects_truncation_in_the_middle_of_a_record_at_the_next_sequence() {
    let bytes = healthy(100);
    let v = verify(&bytes[..offset_of(56) + RECORD_LEN / 2]);
    assert_eq!(v.newest_valid_seq, Some(55));
    assert_eq!(v.torn_tail.map(|t| t.seq), Some(56));
    assert_eq!(v.records, 55);
}

#[test]
fn detects_deleted_middle_range_at_its_first_missing_sequence() {
    let bytes = healthy(100);
    let mut cut = bytes[..offset_of(30)].to_vec();
    cut.extend_from_slice(&bytes[offset_of(40)..]);
    let v = verify(&cut);
    assert_eq!(v.first_broken_seq, Some(30));
    assert_eq!(v.newest_valid_seq, Some(29));
    assert_eq!(v.records, 90);
    assert_eq!(
        v.problems,
        vec![Problem::Missing {
            from: 30,
            to: 39,
            offset: offset_of(30) as u64
        }]
    );
}

#[test]
fn detects_deleted_range_not_aligned_to_records_at_the_first_damaged_sequence() {
    let bytes = healthy(100);
    let mut cut = bytes[..offset_of(30) + 50].to_vec();
    cut.extend_from_slice(&bytes[offset_of(39) + 11..]);
    let v = verify(&cut);
    assert_eq!(v.first_broken_seq, Some(30));
    assert_eq!(v.newest_valid_seq, Some(29));
    assert!(matches!(
        v.problems[..],
        [Problem::Damaged {
            seq: 30,
            last_seq: Some(39),
            ..
        }]
    ));
    assert_eq!(v.records, 29 + 61, "1..=29 and 40..=100 are intact");
}

#[test]
fn a_repeated_record_is_a_duplicate_and_does_not_break_the_chain() {
    let bytes = healthy(50);
    let mut doubled = bytes[..offset_of(21)].to_vec();
    doubled.extend_from_slice(&bytes[offset_of(20)..offset_of(21)]);
    doubled.extend_from_slice(&bytes[offset_of(21)..]);
    let v = verify(&doubled);
    assert!(v.is_intact());
    assert_eq!(v.duplicates, vec![20]);
    assert_eq!(v.records, 50);
    assert_eq!(v.newest_valid_seq, Some(50));
}

#[test]
fn a_record_copied_again_later_is_a_duplicate() {
    let mut bytes = healthy(30);
    let again = bytes[offset_of(3)..offset_of(6)].to_vec();
    bytes.extend_from_slice(&again);
    let v = verify(&bytes);
    assert_eq!(v.duplicates, vec![3, 4, 5]);
    assert!(v.is_intact());
}

#[test]
fn swapped_records_break_the_chain_where_the_first_one_belongs() {
    let bytes = healthy(20);
    let mut swapped = bytes[..offset_of(10)].to_vec();
    swapped.extend_from_slice(&bytes[offset_of(11)..offset_of(12)]);
    swapped.extend_from_slice(&bytes[offset_of(10)..offset_of(11)]);
    swapped.extend_from_slice(&bytes[offset_of(12)..]);
    let v = verify(&swapped);
    assert_eq!(v.first_broken_seq, Some(10));
    assert_eq!(v.newest_valid_seq, Some(9));
    assert!(
        v.problems
            .iter()
            .any(|p| matches!(p, Problem::OutOfOrder { seq: 10, .. }))
    );
}

#[test]
fn a_self_consistent_record_with_a_wrong_link_is_a_broken_link() {
    let mut records = chain(10, START, STEP);
    records[6].prev = [7; 32];
    let v = verify(&encode_all(&records));
    assert_eq!(v.first_broken_seq, Some(7));
    assert_eq!(
        v.problems.first(),
        Some(&Problem::BrokenLink {
            seq: 7,
            offset: offset_of(7) as u64
        })
    );
}

#[test]
fn a_file_that_starts_mid_chain_is_missing_its_first_records() {
    let bytes = healthy(20);
    let v = verify(&bytes[offset_of(5)..]);
    assert_eq!(v.first_broken_seq, Some(1));
    assert_eq!(v.newest_valid_seq, None);
    assert_eq!(v.records, 16);
}

#[test]
fn inserted_garbage_is_damage_with_no_record_missing() {
    let bytes = healthy(20);
    let mut spliced = bytes[..offset_of(8)].to_vec();
    spliced.extend_from_slice(b"not a ledger record");
    spliced.extend_from_slice(&bytes[offset_of(8)..]);
    let v = verify(&spliced);
    assert_eq!(v.first_broken_seq, Some(8));
    assert!(matches!(
        v.problems[..],
        [Problem::Damaged {
            seq: 8,
            last_seq: None,
            bytes: 19,
            ..
        }]
    ));
    assert_eq!(v.records, 20);
}

#[test]
fn finds_the_newest_valid_record_at_or_below_a_sequence() {
    let v = verify(&healthy(10));
    assert_eq!(v.newest_valid_at_or_below(4).map(|r| r.seq), Some(4));
    assert_eq!(v.newest_valid_at_or_below(99).map(|r| r.seq), Some(10));
    assert_eq!(v.newest_valid_at_or_below(0), None);
}

#[test]
fn the_json_report_names_the_documented_fields() {
    let json = serde_json::to_value(verify(&healthy(3))).unwrap();
    for field in [
        "records",
        "newestValidSeq",
        "firstBrokenSeq",
        "tornTail",
        "duplicates",
    ] {
        assert!(json.get(field).is_some(), "missing {field}");
    }
    assert_eq!(json["firstBrokenSeq"], serde_json::Value::Null);
}
