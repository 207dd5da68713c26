//! The ledger writer: appends a record, makes it durable, and only then acknowledges it.
//!
//! This is the storage half; [`crate::command::ledger`] puts it behind HTTP.
//! On start it never destroys what it finds: a non-empty file is first copied to
//! `<file>.found-at-start` (what the harness verifies after a restore, before any
//! new record is appended), then, if it is not exactly a clean chain (torn tail,
//! damage, duplicates), rewritten as its chain-valid prefix; the writer continues
//! from there.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::verify::{Verification, verify};
use super::{Record, encode_all};
use crate::error::Error;

/// What the writer found in its file when it started.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Startup {
    /// Verification of the file as found, before anything was written.
    pub found: Verification,
    /// Where the bytes found at start were kept (`None` when the file was new or empty).
    pub preserved_as: Option<PathBuf>,
    /// Whether the file had to be rewritten as its chain-valid prefix.
    pub repaired: bool,
}

/// An open ledger file that is appended to and synced record by record.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    file: File,
    last: Option<Record>,
}

/// Path of the copy of a damaged ledger kept at start.
pub fn preserved_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".found-at-start");
    PathBuf::from(name)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

impl Ledger {
    /// Opens (or creates) a ledger, repairing it to its chain-valid prefix if needed.
    pub fn open(path: &Path) -> Result<(Self, Startup), Error> {
        let existing = match fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let bytes = existing.as_deref().unwrap_or_default();
        let found = verify(bytes);
        let chain = rebuild_chain(&found);
        let clean = encode_all(&chain);
        let mut preserved_as = None;
        if !bytes.is_empty() {
            let keep = preserved_path(path);
            write_synced(&keep, bytes)?;
            preserved_as = Some(keep);
        }
        let repaired = existing.is_some() && clean != bytes;
        if repaired {
            replace_atomically(path, &clean)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io(path))?;
        if existing.is_none() {
            file.sync_all().map_err(io(path))?;
            sync_parent(path)?;
        }
        let ledger = Self {
            path: path.to_owned(),
            file,
            last: chain.last().copied(),
        };
        Ok((
            ledger,
            Startup {
                found,
                preserved_as,
                repaired,
            },
        ))
    }

    /// Appends the next record and returns it once it is on stable storage
    /// (`sync_data`): only then may it be acknowledged.
    pub fn append(&mut self, unix_nanos: u64) -> Result<Record, Error> {
        let record = Record::next(self.last.as_ref(), unix_nanos);
        self.file
            .write_all(&record.encode())
            .and_then(|()| self.file.sync_data())
            .map_err(io(&self.path))?;
        self.last = Some(record);
        Ok(record)
    }

    /// The newest durable record.
    pub fn last(&self) -> Option<Record> {
        self.last
    }
}

/// The chain-valid prefix as full records (their hashes are recomputed from seq and time).
fn rebuild_chain(found: &Verification) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::with_capacity(found.chain.len());
    for head in &found.chain {
        let record = Record::next(out.last(), head.unix_nanos);
        out.push(record);
    }
    out
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut file = File::create(path).map_err(io(path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(path))
}

fn replace_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    write_synced(&tmp, bytes)?;
    fs::rename(&tmp, path).map_err(io(path))?;
    sync_parent(path)
}

/// Makes a created or renamed directory entry durable.
fn sync_parent(path: &Path) -> Result<(), Error> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io(parent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{RECORD_LEN, chain};

    #[test]
    fn appends_records_that_verify_as_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.log");
        let (mut ledger, startup) = Ledger::open(&path).unwrap();
        assert_eq!(startup.found.records, 0);
        assert!(startup.preserved_as.is_none());
        for t in 0..5 {
            ledger.append(1_000 + t).unwrap();
        }
        let v = verify(&fs::read(&path).unwrap());
        assert!(v.is_intact());
        assert_eq!(v.newest_valid_seq, Some(5));
        assert_eq!(ledger.last().map(|r| r.seq), Some(5));
    }

    #[test]
    fn keeps_a_copy_of_a_clean_file_and_continues_its_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.log");
        fs::write(&path, encode_all(&chain(3, 10, 10))).unwrap();
        let (mut ledger, startup) = Ledger::open(&path).unwrap();
        assert!(!startup.repaired);
        assert_eq!(
            fs::read(startup.preserved_as.unwrap()).unwrap(),
            encode_all(&chain(3, 10, 10))
        );
        assert_eq!(ledger.append(99).unwrap().seq, 4);
        let v = verify(&fs::read(&path).unwrap());
        assert!(v.is_intact());
        assert_eq!(v.records, 4);
    }

    #[test]
    fn keeps_a_copy_of_a_torn_file_before_repairing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.log");
        let mut bytes = encode_all(&chain(3, 10, 10));
        bytes.extend_from_slice(&chain(4, 10, 10)[3].encode()[..RECORD_LEN / 2]);
        fs::write(&path, &bytes).unwrap();

        let (mut ledger, startup) = Ledger::open(&path).unwrap();
        assert_eq!(startup.found.torn_tail.map(|t| t.seq), Some(4));
        assert!(startup.repaired);
        let kept = startup.preserved_as.unwrap();
        assert_eq!(fs::read(kept).unwrap(), bytes);

        assert_eq!(ledger.append(99).unwrap().seq, 4);
        let v = verify(&fs::read(&path).unwrap());
        assert!(v.is_intact());
        assert!(v.torn_tail.is_none());
        assert_eq!(v.newest_valid_seq, Some(4));
    }
}
