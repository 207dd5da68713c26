//! The run directory: every file a run leaves, named once.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Error;
use crate::report::{self, Format};
use crate::result::RunResult;

/// The files of one run, under its root.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Creates the directory (and its parents).
    pub fn create(root: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(root).map_err(|source| Error::Io {
            path: root.to_owned(),
            source,
        })?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn result(&self) -> PathBuf {
        self.root.join("result.json")
    }
    /// The ground truth, JSON Lines, appended as it is gathered.
    pub fn ground_truth(&self) -> PathBuf {
        self.root.join("ground-truth.jsonl")
    }
    pub fn commands_log(&self) -> PathBuf {
        self.root.join("commands.log")
    }
    pub fn diagnostics(&self) -> PathBuf {
        self.root.join("diagnostics")
    }
    /// The kind cluster's kubeconfig (the user's own is never written).
    pub fn kubeconfig(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }
    pub fn kind_config(&self) -> PathBuf {
        self.root.join("kind.yaml")
    }
    /// The backup the restore used: its name, start and completion.
    pub fn backup(&self) -> PathBuf {
        self.root.join("backup.json")
    }

    /// Writes `result.json` and its three renderings.
    pub fn write_result(&self, result: &RunResult) -> Result<(), Error> {
        self.write_json(&self.result(), result)?;
        for (name, format) in [
            ("report.md", Format::Markdown),
            ("junit.xml", Format::Junit),
            ("report.html", Format::Html),
        ] {
            self.write(&self.root.join(name), &report::render(result, format))?;
        }
        Ok(())
    }

    pub fn write_json(&self, path: &Path, value: &impl Serialize) -> Result<(), Error> {
        let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::Io {
            path: path.to_owned(),
            source: std::io::Error::other(e),
        })?;
        text.push('\n');
        self.write(path, &text)
    }

    pub fn write(&self, path: &Path, text: &str) -> Result<(), Error> {
        std::fs::write(path, text).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })
    }
}
