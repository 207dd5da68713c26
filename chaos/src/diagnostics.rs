//! What a failed run leaves in `diagnostics/`: the workload's pods and events, Velero's
//! pods, logs and objects (the Schedule's Backups, the Restore, the pod volume backups and
//! restores, the storage locations), and for the backup and the restore of the run
//! `velero … describe --details` and `velero … logs` (which fetch from the backup store
//! through a DownloadRequest). Each is one command whose output becomes one file; a command
//! that fails leaves its stderr in the file and its status in `index.txt`, and the next
//! one still runs.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::exec::Runner;
use crate::velero::restore::VELERO_NAMESPACE;

/// The longest one capture may take.
const CAPTURE_TIMEOUT: Duration = Duration::from_secs(60);

/// How the run reaches the cluster (its own kubeconfig on kind, the user's, only read, on an
/// existing cluster).
#[derive(Debug, Clone)]
pub struct Access<'a> {
    pub kubeconfig: &'a str,
    pub context: &'a str,
}

/// What the run got as far as: the names the Velero captures need.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub schedule: Option<String>,
    pub backup: Option<String>,
    pub restore: Option<String>,
}

/// One file of `diagnostics/` and the command that writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub file: String,
    pub argv: Vec<String>,
}

fn kubectl(access: &Access<'_>, args: &[&str]) -> Vec<String> {
    let mut argv: Vec<String> = vec![
        "kubectl".into(),
        "--kubeconfig".into(),
        access.kubeconfig.into(),
        "--context".into(),
        access.context.into(),
    ];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    argv
}

fn velero(access: &Access<'_>, args: &[&str]) -> Vec<String> {
    let mut argv: Vec<String> = vec!["velero".into()];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    argv.extend([
        "--kubeconfig".into(),
        access.kubeconfig.into(),
        "--kubecontext".into(),
        access.context.into(),
    ]);
    argv
}

fn capture(file: impl Into<String>, argv: Vec<String>) -> Capture {
    Capture {
        file: file.into(),
        argv,
    }
}

/// Every capture for a run, in order. `namespace` is the workload's, when the run may look
/// into it: a namespace the run created, or any on a kind cluster it created. A namespace of
/// that name it found already there on an existing cluster is not its business (`None`).
pub fn captures(access: &Access<'_>, namespace: Option<&str>, known: &Known) -> Vec<Capture> {
    let mut out = namespace.map_or_else(Vec::new, |namespace| workload(access, namespace));
    out.extend(velero_captures(access, known));
    out
}

/// The workload's pods, events, objects and log.
fn workload(access: &Access<'_>, namespace: &str) -> Vec<Capture> {
    vec![
        capture(
            "pods.txt",
            kubectl(access, &["describe", "pods", "--namespace", namespace]),
        ),
        capture(
            "events.txt",
            kubectl(
                access,
                &[
                    "get",
                    "events",
                    "--namespace",
                    namespace,
                    "--sort-by=.lastTimestamp",
                ],
            ),
        ),
        capture(
            "workload.yaml",
            kubectl(
                access,
                &[
                    "get",
                    "statefulsets,services,persistentvolumeclaims,jobs",
                    "--namespace",
                    namespace,
                    "--output=yaml",
                ],
            ),
        ),
        capture(
            "ledger.log",
            kubectl(
                access,
                &[
                    "logs",
                    "--namespace",
                    namespace,
                    "statefulset/ledger",
                    "--all-containers",
                ],
            ),
        ),
    ]
}

/// Velero's pods, events, logs and objects, and the run's backup and restore once known.
fn velero_captures(access: &Access<'_>, known: &Known) -> Vec<Capture> {
    let v = VELERO_NAMESPACE;
    let mut out = vec![
        capture(
            "velero-pods.txt",
            kubectl(access, &["describe", "pods", "--namespace", v]),
        ),
        capture(
            "velero-events.txt",
            kubectl(
                access,
                &[
                    "get",
                    "events",
                    "--namespace",
                    v,
                    "--sort-by=.lastTimestamp",
                ],
            ),
        ),
        capture(
            "velero-server.log",
            kubectl(
                access,
                &[
                    "logs",
                    "--namespace",
                    v,
                    "deployment/velero",
                    "--all-containers",
                ],
            ),
        ),
        capture(
            "node-agent.log",
            kubectl(
                access,
                &[
                    "logs",
                    "--namespace",
                    v,
                    "daemonset/node-agent",
                    "--all-containers",
                ],
            ),
        ),
        capture(
            "backupstoragelocations.yaml",
            kubectl(
                access,
                &[
                    "get",
                    "backupstoragelocations.velero.io",
                    "--namespace",
                    v,
                    "--output=yaml",
                ],
            ),
        ),
        capture(
            "podvolumebackups.yaml",
            kubectl(
                access,
                &[
                    "get",
                    "podvolumebackups.velero.io",
                    "--namespace",
                    v,
                    "--output=yaml",
                ],
            ),
        ),
        capture(
            "podvolumerestores.yaml",
            kubectl(
                access,
                &[
                    "get",
                    "podvolumerestores.velero.io",
                    "--namespace",
                    v,
                    "--output=yaml",
                ],
            ),
        ),
    ];
    if let Some(schedule) = &known.schedule {
        out.push(capture(
            "backups.yaml",
            kubectl(
                access,
                &[
                    "get",
                    "backups.velero.io",
                    "--namespace",
                    v,
                    &format!("--selector=velero.io/schedule-name={schedule}"),
                    "--output=yaml",
                ],
            ),
        ));
    }
    if let Some(backup) = &known.backup {
        out.push(capture(
            format!("backup-{backup}.describe.txt"),
            velero(access, &["backup", "describe", backup, "--details"]),
        ));
        out.push(capture(
            format!("backup-{backup}.log"),
            velero(access, &["backup", "logs", backup]),
        ));
    }
    if let Some(restore) = &known.restore {
        out.push(capture(
            format!("restore-{restore}.yaml"),
            kubectl(
                access,
                &[
                    "get",
                    "restores.velero.io",
                    restore,
                    "--namespace",
                    v,
                    "--output=yaml",
                ],
            ),
        ));
        out.push(capture(
            format!("restore-{restore}.describe.txt"),
            velero(access, &["restore", "describe", restore, "--details"]),
        ));
        out.push(capture(
            format!("restore-{restore}.log"),
            velero(access, &["restore", "logs", restore]),
        ));
    }
    out
}

/// Runs every capture into `dir`, each to its own file (stdout, then stderr if it failed),
/// and writes `index.txt`: one line per file with how its command ended. A capture not
/// started by `deadline` is skipped (and says so in the index). Only a file that cannot be
/// written stops it.
pub fn collect(
    runner: &dyn Runner,
    dir: &Path,
    captures: &[Capture],
    deadline: Instant,
) -> Result<(), Error> {
    let mut index = String::new();
    for c in captures {
        let path = dir.join(&c.file);
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            index.push_str(&format!(
                "{}\tskipped: the diagnostics' time ran out\t{}\n",
                c.file,
                crate::plan::shell_line(&c.argv)
            ));
            continue;
        }
        let (text, ended) = match runner.run(&c.argv, None, CAPTURE_TIMEOUT.min(left)) {
            Ok(f) if f.succeeded() => (f.stdout, "ok".to_owned()),
            Ok(f) => {
                let ended = match (f.timed_out, f.status) {
                    (true, _) => "killed at its timeout".to_owned(),
                    (false, Some(code)) => format!("exited {code}"),
                    (false, None) => "ended by a signal".to_owned(),
                };
                (format!("{}\n--- stderr ---\n{}", f.stdout, f.stderr), ended)
            }
            Err(e) => (format!("{e}\n"), "could not be run".to_owned()),
        };
        std::fs::write(&path, text).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        index.push_str(&format!(
            "{}\t{ended}\t{}\n",
            c.file,
            crate::plan::shell_line(&c.argv)
        ));
    }
    let path = dir.join("index.txt");
    std::fs::write(&path, index).map_err(|source| Error::Io { path, source })
}

/// `index.txt` when there is nothing the run may look at (it made no cluster, or never
/// reached the one it was allowed onto): the reason, and no command run.
pub fn nothing(dir: &Path, why: &str) -> Result<(), Error> {
    let path = dir.join("index.txt");
    std::fs::write(&path, format!("nothing collected: {why}\n"))
        .map_err(|source| Error::Io { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCESS: Access<'static> = Access {
        kubeconfig: "/run/kubeconfig",
        context: "kind-x",
    };

    #[test]
    fn every_capture_names_the_run_s_kubeconfig_and_context() {
        let known = Known {
            schedule: Some("s".into()),
            backup: Some("s-1".into()),
            restore: Some("r".into()),
        };
        for c in captures(&ACCESS, Some("backstop-chaos"), &known) {
            let line = c.argv.join(" ");
            assert!(line.contains("--kubeconfig /run/kubeconfig"), "{line}");
            assert!(
                line.contains("--context kind-x") || line.contains("--kubecontext kind-x"),
                "{line}"
            );
        }
    }

    /// A runner that must not be asked to run anything.
    struct Refusing;

    impl Runner for Refusing {
        fn run(
            &self,
            argv: &[String],
            _stdin: Option<&str>,
            _timeout: Duration,
        ) -> Result<crate::exec::Finished, Error> {
            panic!("ran {argv:?} after the deadline");
        }
    }

    #[test]
    fn captures_past_the_deadline_are_skipped_and_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let all = captures(&ACCESS, Some("ns"), &Known::default());
        collect(&Refusing, dir.path(), &all, Instant::now()).unwrap();
        let index = std::fs::read_to_string(dir.path().join("index.txt")).unwrap();
        assert_eq!(index.lines().count(), all.len());
        assert!(
            index
                .lines()
                .all(|l| l.contains("\tskipped: the diagnostics' time ran out\t")),
            "{index}"
        );
    }

    #[test]
    fn the_backup_and_restore_captures_come_only_once_their_names_are_known() {
        let files = |known: &Known| -> Vec<String> {
            captures(&ACCESS, Some("ns"), known)
                .into_iter()
                .map(|c| c.file)
                .collect()
        };
        let early = files(&Known::default());
        assert!(early.contains(&"pods.txt".to_owned()) && early.contains(&"events.txt".to_owned()));
        assert!(
            !early
                .iter()
                .any(|f| f.starts_with("backup-") || f.starts_with("restore-"))
        );
        let late = files(&Known {
            schedule: Some("s".into()),
            backup: Some("s-1".into()),
            restore: Some("r".into()),
        });
        for f in [
            "backups.yaml",
            "backup-s-1.log",
            "backup-s-1.describe.txt",
            "restore-r.log",
            "restore-r.yaml",
        ] {
            assert!(late.contains(&f.to_owned()), "{f} missing: {late:?}");
        }
    }

    #[test]
    fn a_namespace_that_is_not_the_run_s_is_not_looked_into() {
        let all = captures(&ACCESS, None, &Known::default());
        assert!(!all.is_empty(), "Velero's captures remain");
        for c in &all {
            let line = c.argv.join(" ");
            assert!(
                line.contains(&format!("--namespace {VELERO_NAMESPACE}")),
                "{line}"
            );
        }
    }

    #[test]
    fn nothing_to_collect_is_said_in_the_index() {
        let dir = tempfile::tempdir().unwrap();
        nothing(dir.path(), "the run made no cluster").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("index.txt")).unwrap(),
            "nothing collected: the run made no cluster\n"
        );
    }
}
