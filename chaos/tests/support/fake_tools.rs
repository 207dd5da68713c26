//! Fake executables on PATH that record their argv (one per line, then `--`) and then run a
//! POSIX sh body: the kind/docker/velero/kubectl layer is tested against them.

#![allow(dead_code, clippy::unwrap_used)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use backstop_chaos::exec::Processes;
use tempfile::TempDir;

/// A PATH of fake tools; each appends its name and argv to `record`.
pub struct FakeTools {
    dir: TempDir,
    record: PathBuf,
}

impl FakeTools {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("argv.log");
        Self { dir, record }
    }

    /// A fake `name` that records its argv, then runs `body` (POSIX sh, `$1`... are its args).
    pub fn tool(self, name: &str, body: &str) -> Self {
        let path = self.dir.path().join(name);
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$(basename \"$0\")\" \"$@\" -- >> '{}'\n{body}\n",
            self.record.display()
        );
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    /// The file every invocation is appended to.
    pub fn record(&self) -> &Path {
        &self.record
    }

    pub fn path(&self) -> OsString {
        let mut path = self.dir.path().as_os_str().to_owned();
        path.push(":/usr/bin:/bin");
        path
    }

    /// A runner that finds these tools first and logs to `log`.
    pub fn runner(&self, log: &Path) -> Processes {
        Processes::new(log, Some(self.path())).unwrap()
    }

    /// Each recorded invocation as its argv (the tool's name first).
    pub fn invocations(&self) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(&self.record).unwrap_or_default();
        text.split("--\n")
            .filter(|s| !s.is_empty())
            .map(|s| s.lines().map(str::to_owned).collect())
            .collect()
    }
}
