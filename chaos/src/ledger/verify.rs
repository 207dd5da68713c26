//! Reading a ledger back: the newest chain-valid record, the first broken link,
//! a torn trailing record and duplicates. Pure: it works on bytes.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{GENESIS_PREV, RECORD_LEN, Record};

/// What a ledger file holds, as far as its own bytes can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// Size of the file.
    pub bytes: u64,
    /// Distinct intact records found (chain-valid or not); a torn tail and duplicates are not counted.
    pub records: u64,
    /// Records in the chain-valid prefix: seq 1 up to the first problem.
    pub chain_valid_records: u64,
    /// Sequence number of the newest record of the chain-valid prefix.
    pub newest_valid_seq: Option<u64>,
    /// Writer timestamp of that record.
    pub newest_valid_unix_nanos: Option<u64>,
    /// Sequence number at which the chain first breaks; `None` when it is intact.
    pub first_broken_seq: Option<u64>,
    /// Every problem found, in file order.
    pub problems: Vec<Problem>,
    /// A partially written last record (never acknowledged, not counted), if any.
    pub torn_tail: Option<TornTail>,
    /// Sequence numbers of records that appear again, byte for byte, after their first copy.
    pub duplicates: Vec<u64>,
    /// The chain-valid prefix itself, for measurement.
    #[serde(skip)]
    pub chain: Vec<RecordHead>,
}

/// The part of a record measurement needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHead {
    pub seq: u64,
    pub unix_nanos: u64,
}

/// Trailing bytes that are the start of a record whose write did not finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TornTail {
    pub offset: u64,
    pub bytes: u64,
    /// The sequence number the torn record would have had.
    pub seq: u64,
}

/// One way the chain is broken, located by byte offset and sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum Problem {
    /// Bytes that are not an intact record (flipped bytes, overwritten or shifted data)
    /// where record `seq` should start. `lastSeq` is the last record they stand in for,
    /// known from the next intact record (`None` if no record is missing: bytes inserted).
    Damaged {
        seq: u64,
        last_seq: Option<u64>,
        offset: u64,
        bytes: u64,
    },
    /// Records `from..=to` are absent: the next intact record skips them.
    Missing { from: u64, to: u64, offset: u64 },
    /// Record `seq` is intact but does not carry the hash of the record before it.
    BrokenLink { seq: u64, offset: u64 },
    /// Record `seq` appears where `expected` should be, and is not a copy of an earlier record.
    OutOfOrder {
        seq: u64,
        expected: u64,
        offset: u64,
    },
    /// Bytes at the end that are neither intact records nor a torn write: damage to
    /// the newest record(s), from `seq` on.
    DamagedTail { seq: u64, offset: u64, bytes: u64 },
}

impl Problem {
    /// The first sequence number this problem makes unverifiable.
    pub fn seq(&self) -> u64 {
        match self {
            Self::Damaged { seq, .. }
            | Self::BrokenLink { seq, .. }
            | Self::DamagedTail { seq, .. } => *seq,
            Self::Missing { from, .. } => *from,
            Self::OutOfOrder { expected, .. } => *expected,
        }
    }
}

impl Verification {
    /// The chain verifies: every intact record links to the one before it from seq 1 on.
    /// A torn tail does not break it (that record was never acknowledged).
    pub fn is_intact(&self) -> bool {
        self.first_broken_seq.is_none()
    }

    /// The newest chain-valid record at or below `seq`.
    pub fn newest_valid_at_or_below(&self, seq: u64) -> Option<RecordHead> {
        let index = self.chain.partition_point(|r| r.seq <= seq);
        index
            .checked_sub(1)
            .and_then(|i| self.chain.get(i))
            .copied()
    }
}

/// Where the verifier is in the file, and what it has learnt so far.
struct Scan {
    /// Last intact, non-duplicate record read, and whether its hash can be trusted
    /// to check the next link (false right after damaged bytes).
    last: Option<Record>,
    link_known: bool,
    /// Sequence number the next record should carry.
    expected: u64,
    seen: HashSet<[u8; 32]>,
    records: u64,
    chain: Vec<RecordHead>,
    problems: Vec<Problem>,
    duplicates: Vec<u64>,
}

impl Scan {
    fn accept(&mut self, record: Record, offset: u64) {
        if !self.seen.insert(record.hash()) {
            self.duplicates.push(record.seq);
            return;
        }
        self.records += 1;
        let expected_prev = self.last.map_or(GENESIS_PREV, |r| r.hash());
        if !self.link_known
            && let Some(Problem::Damaged { last_seq, .. }) = self.problems.last_mut()
        {
            *last_seq = (record.seq > self.expected).then(|| record.seq - 1);
        }
        if record.seq > self.expected {
            if self.link_known {
                self.problems.push(Problem::Missing {
                    from: self.expected,
                    to: record.seq - 1,
                    offset,
                });
            }
        } else if record.seq < self.expected {
            self.problems.push(Problem::OutOfOrder {
                seq: record.seq,
                expected: self.expected,
                offset,
            });
        } else if self.link_known && record.prev != expected_prev {
            self.problems.push(Problem::BrokenLink {
                seq: record.seq,
                offset,
            });
        }
        if self.problems.is_empty() {
            self.chain.push(RecordHead {
                seq: record.seq,
                unix_nanos: record.unix_nanos,
            });
        }
        self.expected = record.seq.max(self.expected.saturating_sub(1)) + 1;
        self.last = Some(record);
        self.link_known = true;
    }
}

/// Verifies a ledger's bytes.
pub fn verify(bytes: &[u8]) -> Verification {
    let mut scan = Scan {
        last: None,
        link_known: true,
        expected: 1,
        seen: HashSet::new(),
        records: 0,
        chain: Vec::new(),
        problems: Vec::new(),
        duplicates: Vec::new(),
    };
    let mut torn_tail = None;
    let mut pos = 0usize;
    while pos < bytes.len() {
        if let Some(record) = record_at(bytes, pos) {
            scan.accept(record, pos as u64);
            pos += RECORD_LEN;
            continue;
        }
        match next_record_start(bytes, pos + 1) {
            Some(next) => {
                scan.problems.push(Problem::Damaged {
                    seq: scan.expected,
                    last_seq: None,
                    offset: pos as u64,
                    bytes: (next - pos) as u64,
                });
                // The next intact record's seq says which records the damaged bytes
                // held, so no separate `Missing` follows; its link cannot be checked.
                scan.link_known = false;
                pos = next;
            }
            None => {
                let tail = &bytes[pos..];
                if is_torn_write(tail) {
                    torn_tail = Some(TornTail {
                        offset: pos as u64,
                        bytes: tail.len() as u64,
                        seq: scan.expected,
                    });
                } else {
                    scan.problems.push(Problem::DamagedTail {
                        seq: scan.expected,
                        offset: pos as u64,
                        bytes: tail.len() as u64,
                    });
                }
                break;
            }
        }
    }
    let newest = scan.chain.last().copied();
    Verification {
        bytes: bytes.len() as u64,
        records: scan.records,
        chain_valid_records: scan.chain.len() as u64,
        newest_valid_seq: newest.map(|r| r.seq),
        newest_valid_unix_nanos: newest.map(|r| r.unix_nanos),
        first_broken_seq: scan.problems.first().map(Problem::seq),
        problems: scan.problems,
        torn_tail,
        duplicates: scan.duplicates,
        chain: scan.chain,
    }
}

fn record_at(bytes: &[u8], pos: usize) -> Option<Record> {
    let slot: &[u8; RECORD_LEN] = bytes.get(pos..pos + RECORD_LEN)?.try_into().ok()?;
    Record::decode(slot).ok()
}

/// The next offset at or after `from` where an intact record starts.
fn next_record_start(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len().saturating_sub(RECORD_LEN - 1))
        .filter(|&p| bytes[p..].starts_with(&super::MAGIC))
        .find(|&p| record_at(bytes, p).is_some())
}

/// A write the crash interrupted: shorter than a record, or the start of one followed
/// only by zeros (what a file extended but not yet written to reads back as).
fn is_torn_write(tail: &[u8]) -> bool {
    if tail.len() < RECORD_LEN {
        return true;
    }
    let written = tail.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    written < RECORD_LEN && tail.starts_with(&super::MAGIC[..written.min(4)])
}

#[cfg(test)]
mod tests;
