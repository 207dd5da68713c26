//! The harness-side log of acknowledged writes: what the harness saw the writer
//! acknowledge (`GET /last`), stamped with the harness's own clock. It lives
//! outside the cluster, so it survives every fault.
//!
//! The writer acknowledges in sequence order, so an observation of `seq = N`
//! means records 1..=N were all acknowledged by then.
//!
//! On disk it is JSON Lines, one observation per line:
//! `{"seq":812,"unixNanos":1750000812000000000,"seen":{"wall":"…","monoNanos":…}}`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::clock::{RunClock, Stamp};
use crate::error::Error;

/// One answer of the writer's `GET /last`: the newest record on stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastAck {
    pub seq: u64,
    pub unix_nanos: u64,
}

/// One answer of the writer's `GET /last`, as the harness received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ack {
    /// Newest acknowledged sequence number.
    pub seq: u64,
    /// The writer's timestamp of that record.
    pub unix_nanos: u64,
    /// When the harness received the answer.
    pub seen: Stamp,
}

/// Reads a ground-truth log.
pub fn load(path: &Path) -> Result<Vec<Ack>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadInput {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Parses a ground-truth log; errors name the file and line.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Ack>, Error> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| Error::invalid(path, format!("line {}", i + 1), e.to_string()))
        })
        .collect()
}

/// Appends observations to the ground-truth log as they happen, stamped with the
/// run's clock, flushing each line so a harness crash loses at most the last one.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    file: File,
    clock: RunClock,
}

impl Recorder {
    pub fn create(path: &Path, clock: RunClock) -> Result<Self, Error> {
        let file = File::create(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            path: path.to_owned(),
            file,
            clock,
        })
    }

    /// Records that the writer answered `seq`/`unix_nanos` just now.
    pub fn observe(&mut self, seq: u64, unix_nanos: u64) -> Result<Ack, Error> {
        let ack = Ack {
            seq,
            unix_nanos,
            seen: self.clock.now(),
        };
        let mut line = serde_json::to_vec(&ack).map_err(|e| Error::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })?;
        Ok(ack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_observations_parse_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acks.jsonl");
        let mut recorder = Recorder::create(&path, RunClock::start()).unwrap();
        let first = recorder.observe(1, 100).unwrap();
        let second = recorder.observe(2, 200).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(parse(&path, &text).unwrap(), vec![first, second]);
        assert!(second.seen.mono_nanos >= first.seen.mono_nanos);
    }

    #[test]
    fn a_bad_line_is_reported_with_its_number() {
        let text = "\n{\"seq\":1,\"unixNanos\":5,\"seen\":{\"wall\":\"2025-01-01T00:00:00Z\",\"monoNanos\":0}}\n{\"seq\":\"two\"}\n";
        let err = parse(Path::new("acks.jsonl"), text).unwrap_err();
        assert!(err.to_string().starts_with("acks.jsonl: line 3: "), "{err}");
    }
}
