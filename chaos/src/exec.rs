//! External commands (`kind`, `docker`, `velero`, `kubectl`): run by argv, never through a
//! shell, each recorded in the run's `commands.log` as one JSON line with its argv, exit
//! status and duration, whether it succeeded or not.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::Error;

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The exit code; `None` when a signal ended it or the harness killed it at its timeout.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
    pub timed_out: bool,
    /// The harness stopped it ([`Processes::stop_running`]: the run was interrupted).
    pub stopped: bool,
}

impl Finished {
    pub fn succeeded(&self) -> bool {
        self.status == Some(0)
    }
}

/// The seam between the run and the processes it starts: the live run uses [`Processes`],
/// sequencing tests a fake.
pub trait Runner: Send + Sync {
    /// Runs `argv` (with `stdin`, if any) to the end or to `timeout`.
    fn run(
        &self,
        argv: &[String],
        stdin: Option<&str>,
        timeout: Duration,
    ) -> Result<Finished, Error>;

    /// Runs `argv` and fails with [`Error::Command`] unless it exits 0.
    fn checked(&self, argv: &[String], timeout: Duration) -> Result<Finished, Error> {
        let finished = self.run(argv, None, timeout)?;
        if finished.succeeded() {
            Ok(finished)
        } else {
            Err(command_failed(argv, &finished))
        }
    }
}

/// The error for a command that did not exit 0.
pub fn command_failed(argv: &[String], finished: &Finished) -> Error {
    let outcome = match (finished.timed_out, finished.status) {
        _ if finished.stopped => "was stopped: the run was interrupted".to_owned(),
        (true, _) => format!("was killed at its timeout after {:?}", finished.duration),
        (false, Some(code)) => format!("exited {code}"),
        (false, None) => "was ended by a signal".to_owned(),
    };
    Error::Command {
        command: crate::plan::shell_line(argv),
        outcome,
        stderr: finished.stderr.clone(),
    }
}

/// One line of `commands.log`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LogLine<'a> {
    argv: &'a [String],
    exit_status: Option<i32>,
    timed_out: bool,
    duration_ms: u64,
}

/// Real processes, found on `path` (the PATH to search; the process's own when `None`).
#[derive(Debug)]
pub struct Processes {
    log: Mutex<File>,
    log_path: PathBuf,
    path: Option<OsString>,
    /// Bumped by [`Processes::stop_running`]: a command started before the bump is killed.
    generation: AtomicU64,
}

impl Processes {
    /// Appends to `log` (created if absent).
    pub fn new(log: &Path, path: Option<OsString>) -> Result<Self, Error> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|source| Error::Io {
                path: log.to_owned(),
                source,
            })?;
        Ok(Self {
            log: Mutex::new(file),
            log_path: log.to_owned(),
            path,
            generation: AtomicU64::new(0),
        })
    }

    /// Kills every command running now (Ctrl-C: a `kind create cluster` must not go on
    /// while the run tears down). Commands started afterwards run normally.
    pub fn stop_running(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn record(&self, line: &LogLine<'_>) -> Result<(), Error> {
        let mut text = serde_json::to_string(line).unwrap_or_default();
        text.push('\n');
        let mut file = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(text.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|source| Error::Io {
                path: self.log_path.clone(),
                source,
            })
    }
}

impl Runner for Processes {
    fn run(
        &self,
        argv: &[String],
        stdin: Option<&str>,
        timeout: Duration,
    ) -> Result<Finished, Error> {
        let Some((program, args)) = argv.split_first() else {
            return Err(Error::InvalidArgument {
                argument: "argv".into(),
                message: "empty command".into(),
            });
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(path) = &self.path {
            command.env("PATH", path);
        }
        let started = Instant::now();
        let generation = self.generation.load(Ordering::SeqCst);
        let spawned = command.spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                self.record(&LogLine {
                    argv,
                    exit_status: None,
                    timed_out: false,
                    duration_ms: 0,
                })?;
                return Err(Error::Command {
                    command: crate::plan::shell_line(argv),
                    outcome: format!("could not be started: {e}"),
                    stderr: String::new(),
                });
            }
        };
        if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
            let _ = input.write_all(text.as_bytes());
        }
        let stdout = child.stdout.take().map(read_all);
        let stderr = child.stderr.take().map(read_all);
        let mut timed_out = false;
        let mut stopped = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) if started.elapsed() >= timeout => {
                    let _ = child.kill();
                    timed_out = true;
                    break child.wait().ok().and_then(|s| s.code());
                }
                Ok(None) if self.generation.load(Ordering::SeqCst) != generation => {
                    let _ = child.kill();
                    stopped = true;
                    break child.wait().ok().and_then(|s| s.code());
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(_) => break None,
            }
        };
        let duration = started.elapsed();
        let join = |h: Option<std::thread::JoinHandle<String>>| {
            h.and_then(|h| h.join().ok()).unwrap_or_default()
        };
        let finished = Finished {
            status: if timed_out || stopped { None } else { status },
            stdout: join(stdout),
            stderr: join(stderr),
            duration,
            timed_out,
            stopped,
        };
        self.record(&LogLine {
            argv,
            exit_status: finished.status,
            timed_out,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        })?;
        Ok(finished)
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
