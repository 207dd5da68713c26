//! The ledger: the workload's append-only file of chained, acknowledged records.
//!
//! # Record format (version 1)
//!
//! A ledger file is a sequence of fixed-size 84-byte records, nothing else:
//!
//! | offset | size | field                                                       |
//! |-------:|-----:|-------------------------------------------------------------|
//! |      0 |    4 | magic `BSL1`                                                |
//! |      4 |    8 | `seq`, big-endian u64; the first record is 1, then +1 each  |
//! |     12 |    8 | `unixNanos`, big-endian u64: writer's wall clock at append  |
//! |     20 |   32 | `prev`: SHA-256 of the previous record's 84 bytes (zeros for seq 1) |
//! |     52 |   32 | `check`: SHA-256 of bytes 0..52 of this record              |
//!
//! `prev` chains each record to the one before it, so a missing, reordered or
//! altered record breaks the chain at the next one; `check` lets the verifier
//! pin damage on the record that carries it rather than on its successor. The
//! fixed size lets the verifier find record boundaries after damage (it
//! resynchronises on the next offset that holds a self-consistent record).

pub mod server;
pub mod verify;
pub mod writer;

use sha2::{Digest, Sha256};

/// Bytes at the start of every record.
pub const MAGIC: [u8; 4] = *b"BSL1";
/// Size of one encoded record.
pub const RECORD_LEN: usize = 84;
/// `prev` of the first record.
pub const GENESIS_PREV: [u8; 32] = [0; 32];

const CHECKED_LEN: usize = 52;

/// One ledger record, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub unix_nanos: u64,
    pub prev: [u8; 32],
}

/// Why a slot of [`RECORD_LEN`] bytes is not a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The slot does not start with [`MAGIC`].
    BadMagic,
    /// The slot's `check` does not match its content.
    BadCheck,
}

impl Record {
    /// The record that follows `previous` (or the first record when `previous` is `None`).
    pub fn next(previous: Option<&Record>, unix_nanos: u64) -> Self {
        match previous {
            Some(p) => Self {
                seq: p.seq + 1,
                unix_nanos,
                prev: p.hash(),
            },
            None => Self {
                seq: 1,
                unix_nanos,
                prev: GENESIS_PREV,
            },
        }
    }

    /// The 84 bytes written to the file.
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut out = [0u8; RECORD_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4..12].copy_from_slice(&self.seq.to_be_bytes());
        out[12..20].copy_from_slice(&self.unix_nanos.to_be_bytes());
        out[20..52].copy_from_slice(&self.prev);
        let check: [u8; 32] = Sha256::digest(&out[..CHECKED_LEN]).into();
        out[52..].copy_from_slice(&check);
        out
    }

    /// Decodes one slot, checking its magic and its own checksum.
    pub fn decode(slot: &[u8; RECORD_LEN]) -> Result<Self, Malformed> {
        if slot[0..4] != MAGIC {
            return Err(Malformed::BadMagic);
        }
        let check: [u8; 32] = Sha256::digest(&slot[..CHECKED_LEN]).into();
        if slot[52..] != check {
            return Err(Malformed::BadCheck);
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&slot[4..12]);
        let mut nanos = [0u8; 8];
        nanos.copy_from_slice(&slot[12..20]);
        let mut prev = [0u8; 32];
        prev.copy_from_slice(&slot[20..52]);
        Ok(Self {
            seq: u64::from_be_bytes(seq),
            unix_nanos: u64::from_be_bytes(nanos),
            prev,
        })
    }

    /// SHA-256 of the encoded record: the `prev` of the record after it.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.encode()).into()
    }
}

/// Encodes records back to back, as the writer would have written them.
pub fn encode_all<'a>(records: impl IntoIterator<Item = &'a Record>) -> Vec<u8> {
    records.into_iter().flat_map(|r| r.encode()).collect()
}

/// A well-formed chain of `count` records, the first written at `start_nanos` and
/// one every `step_nanos`: what a healthy writer leaves behind.
pub fn chain(count: u64, start_nanos: u64, step_nanos: u64) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for i in 0..count {
        let record = Record::next(out.last(), start_nanos + i * step_nanos);
        out.push(record);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_through_its_encoding() {
        let first = Record::next(None, 1_700_000_000_000_000_000);
        let second = Record::next(Some(&first), 1_700_000_001_000_000_000);
        for r in [first, second] {
            assert_eq!(Record::decode(&r.encode()), Ok(r));
        }
        assert_eq!(first.seq, 1);
        assert_eq!(first.prev, GENESIS_PREV);
        assert_eq!(second.seq, 2);
        assert_eq!(second.prev, first.hash());
    }

    #[test]
    fn a_flipped_bit_anywhere_is_caught_by_the_record_itself() {
        let encoded = Record::next(None, 42).encode();
        for i in 0..RECORD_LEN {
            let mut damaged = encoded;
            damaged[i] ^= 0x01;
            assert!(Record::decode(&damaged).is_err(), "flip at byte {i}");
        }
    }

    #[test]
    fn a_slot_without_magic_is_not_a_record() {
        let mut slot = Record::next(None, 42).encode();
        slot[0] = b'X';
        assert_eq!(Record::decode(&slot), Err(Malformed::BadMagic));
    }

    #[test]
    fn chain_links_each_record_to_its_predecessor() {
        let records = chain(5, 1_000, 10);
        assert_eq!(records.len(), 5);
        for pair in records.windows(2) {
            assert_eq!(pair[1].prev, pair[0].hash());
            assert_eq!(pair[1].seq, pair[0].seq + 1);
            assert_eq!(pair[1].unix_nanos, pair[0].unix_nanos + 10);
        }
    }
}
