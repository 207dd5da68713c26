//! The ledger writer: appends a record, makes it durable, and only then acknowledges it.
//!
//! This is the storage half; [`crate::command::ledger`] puts it behind HTTP.
//! On start it never destroys what it finds: a non-empty file is first copied to
//! `<file>.found-at-start.<start id>` (what the harness verifies after a restore, before
//! any new record is appended), then, if it is not exactly a clean chain (torn tail,
//! damage, duplicates), rewritten as its chain-valid prefix; the writer continues
//! from there.
//!
//! The start id names the start whose evidence it is (in the workload, the pod's UID,
//! from the downward API). Evidence is written once per id and never rewritten: a
//! container restarted in the same pod keeps its pod's first evidence, and a later pod
//! (a new UID) adds its own beside it. So the bytes as restored survive a restart of the
//! restored pod, and the harness asks for them by the UID of the first pod it saw.

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
    /// The start id this evidence is filed under.
    pub start_id: StartId,
    /// Where the bytes found at start are kept (`None` when the file was new or empty).
    pub preserved_as: Option<PathBuf>,
    /// Whether that evidence was already there from an earlier start with the same id
    /// (a restarted container), and was kept as it was.
    pub kept_earlier_evidence: bool,
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

/// The name a start files its evidence under: 1 to 128 ASCII letters, digits, `-`, `_`
/// or `.`, not starting with `.` (a pod UID qualifies; a path does not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct StartId(String);

impl StartId {
    pub fn parse(text: &str) -> Result<Self, String> {
        let valid = !text.is_empty()
            && text.len() <= 128
            && !text.starts_with('.')
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "start id {text:?} must be 1 to 128 of A-Z a-z 0-9 - _ . and not start with ."
            ))
        }
    }

    /// A fresh id for a start that was given none (unique per start: the time in nanoseconds).
    pub fn fresh(unix_nanos: u64) -> Self {
        Self(format!("t{unix_nanos}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Path of the copy of the ledger kept at the start named `id`.
pub fn preserved_path(path: &Path, id: &StartId) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".found-at-start.");
    name.push(&id.0);
    PathBuf::from(name)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

impl Ledger {
    /// Opens (or creates) a ledger, repairing it to its chain-valid prefix if needed, and
    /// files what it found under `start_id` unless that start already did.
    pub fn open(path: &Path, start_id: StartId) -> Result<(Self, Startup), Error> {
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
        let keep = preserved_path(path, &start_id);
        let kept_earlier_evidence = keep.exists();
        let mut preserved_as = kept_earlier_evidence.then(|| keep.clone());
        if !kept_earlier_evidence && !bytes.is_empty() {
            write_synced(&keep, bytes)?;
            sync_parent(&keep)?;
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
                start_id,
                preserved_as,
                kept_earlier_evidence,
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

    fn id(text: &str) -> StartId {
        StartId::parse(text).unwrap()
    }

    #[test]
    fn appends_records_that_verify_as_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.log");
        let (mut ledger, startup) = Ledger::open(&path, id("pod-a")).unwrap();
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
        let (mut ledger, startup) = Ledger::open(&path, id("pod-a")).unwrap();
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

        let (mut ledger, startup) = Ledger::open(&path, id("pod-a")).unwrap();
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

    #[test]
    fn a_restarted_container_keeps_its_pods_first_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.log");
        let restored = encode_all(&chain(3, 10, 10));
        fs::write(&path, &restored).unwrap();
        let (mut first, _) = Ledger::open(&path, id("uid-restored")).unwrap();
        first.append(99).unwrap();
        drop(first);

        let (_, again) = Ledger::open(&path, id("uid-restored")).unwrap();
        assert!(again.kept_earlier_evidence);
        assert_eq!(fs::read(again.preserved_as.unwrap()).unwrap(), restored);
    }

    #[test]
    fn a_new_pod_files_its_evidence_beside_the_restored_pods() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.log");
        let restored = encode_all(&chain(3, 10, 10));
        fs::write(&path, &restored).unwrap();
        let (mut first, _) = Ledger::open(&path, id("uid-restored")).unwrap();
        first.append(99).unwrap();
        drop(first);

        let (_, later) = Ledger::open(&path, id("uid-replacement")).unwrap();
        assert!(!later.kept_earlier_evidence);
        assert_eq!(
            verify(&fs::read(later.preserved_as.unwrap()).unwrap()).records,
            4
        );
        let restored_evidence = preserved_path(&path, &id("uid-restored"));
        assert_eq!(fs::read(restored_evidence).unwrap(), restored);
    }

    #[test]
    fn start_ids_are_file_names_not_paths() {
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(StartId::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(StartId::parse("6f1c2a8e-97b3-4c43-9d55-0f0e0f6c3b21").is_ok());
    }
}
