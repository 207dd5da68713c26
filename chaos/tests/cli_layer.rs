//! The kind/docker/velero layer against fake executables on PATH that record their argv:
//! what the harness runs, and what it makes of exit codes, output and hangs.
#![allow(clippy::unwrap_used)] // test helpers, outside #[test] functions, may unwrap

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use backstop_chaos::cluster::kind;
use backstop_chaos::error::{EXIT_BAD_INPUT, EXIT_INFRASTRUCTURE};
use backstop_chaos::exec::{Processes, Runner};
use tempfile::TempDir;

/// A PATH of fake tools; each appends its name and argv (one per line, then `--`) to `record`.
struct FakeTools {
    dir: TempDir,
    record: PathBuf,
}

impl FakeTools {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("argv.log");
        Self { dir, record }
    }

    /// A fake `name` that records its argv, then runs `body` (POSIX sh).
    fn tool(self, name: &str, body: &str) -> Self {
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

    fn path(&self) -> OsString {
        let mut path = self.dir.path().as_os_str().to_owned();
        path.push(":/usr/bin:/bin");
        path
    }

    fn runner(&self, log: &Path) -> Processes {
        Processes::new(log, Some(self.path())).unwrap()
    }

    /// Each recorded invocation as its argv.
    fn invocations(&self) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(&self.record).unwrap_or_default();
        text.split("--\n")
            .filter(|s| !s.is_empty())
            .map(|s| s.lines().map(str::to_owned).collect())
            .collect()
    }
}

fn log_lines(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_command_is_logged_with_argv_exit_status_and_duration() {
    let tools = FakeTools::new().tool("kind", "echo other-cluster");
    let run = tempfile::tempdir().unwrap();
    let log = run.path().join("commands.log");
    let runner = tools.runner(&log);
    kind::ensure_unused(&runner, "backstop-namespace-loss-0000002a").unwrap();
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["argv"],
        serde_json::json!(["kind", "get", "clusters"])
    );
    assert_eq!(lines[0]["exitStatus"], 0);
    assert!(lines[0]["durationMs"].is_u64());
    assert_eq!(tools.invocations(), vec![vec!["kind", "get", "clusters"]]);
}

#[test]
fn a_kind_cluster_whose_name_is_in_use_is_refused() {
    let tools = FakeTools::new().tool(
        "kind",
        "printf 'kind\\nbackstop-namespace-loss-0000002a\\n'",
    );
    let run = tempfile::tempdir().unwrap();
    let runner = tools.runner(&run.path().join("commands.log"));
    let name = kind::cluster_name("namespace-loss", 42);
    assert_eq!(name, "backstop-namespace-loss-0000002a");
    let err = kind::ensure_unused(&runner, &name).unwrap_err();
    assert_eq!(err.exit_code(), EXIT_BAD_INPUT);
    assert!(err.to_string().contains("exists already"), "{err}");
}

#[test]
fn the_cluster_is_created_and_deleted_with_the_run_directorys_kubeconfig() {
    let tools = FakeTools::new().tool("kind", "exit 0");
    let run = tempfile::tempdir().unwrap();
    let runner = tools.runner(&run.path().join("commands.log"));
    let kubeconfig = run.path().join("kubeconfig");
    let config = run.path().join("kind.yaml");
    kind::create(
        &runner,
        "backstop-x-1",
        "kindest/node:v1.33.1",
        &config,
        &kubeconfig,
    )
    .unwrap();
    kind::delete(&runner, "backstop-x-1", &kubeconfig).unwrap();
    let calls = tools.invocations();
    let kubeconfig = kubeconfig.display().to_string();
    for call in &calls {
        let at = call.iter().position(|a| a == "--kubeconfig").unwrap();
        assert_eq!(
            call[at + 1],
            kubeconfig,
            "never the user's kubeconfig: {call:?}"
        );
    }
    assert_eq!(&calls[0][..4], ["kind", "create", "cluster", "--name"]);
    assert!(calls[0].contains(&"kindest/node:v1.33.1".to_owned()));
    assert_eq!(&calls[1][..3], ["kind", "delete", "cluster"]);
}

#[test]
fn a_failing_command_names_itself_its_exit_code_and_its_stderr() {
    let tools = FakeTools::new().tool(
        "velero",
        "echo 'backup storage location not found' >&2; exit 3",
    );
    let run = tempfile::tempdir().unwrap();
    let log = run.path().join("commands.log");
    let runner = tools.runner(&log);
    let argv = vec!["velero".to_owned(), "version".to_owned()];
    let err = runner.checked(&argv, Duration::from_secs(20)).unwrap_err();
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    let text = err.to_string();
    assert!(text.contains("`velero version` exited 3"), "{text}");
    assert!(text.contains("backup storage location not found"), "{text}");
    assert_eq!(log_lines(&log)[0]["exitStatus"], 3);
}

#[test]
fn a_command_that_hangs_is_killed_at_its_timeout_and_logged_as_such() {
    let tools = FakeTools::new().tool("docker", "exec sleep 30");
    let run = tempfile::tempdir().unwrap();
    let log = run.path().join("commands.log");
    let runner = tools.runner(&log);
    let argv = vec!["docker".to_owned(), "info".to_owned()];
    let finished = runner.run(&argv, None, Duration::from_millis(300)).unwrap();
    assert!(finished.timed_out);
    assert!(finished.duration < Duration::from_secs(10));
    let line = &log_lines(&log)[0];
    assert_eq!(line["timedOut"], true);
    assert!(line["exitStatus"].is_null());
}

#[test]
fn a_missing_program_is_an_error_and_still_logged() {
    let tools = FakeTools::new();
    let run = tempfile::tempdir().unwrap();
    let log = run.path().join("commands.log");
    let runner = tools.runner(&log);
    let argv = vec!["no-such-tool-here".to_owned()];
    let err = runner.run(&argv, None, Duration::from_secs(5)).unwrap_err();
    assert!(err.to_string().contains("could not be started"), "{err}");
    assert_eq!(
        log_lines(&log)[0]["argv"],
        serde_json::json!(["no-such-tool-here"])
    );
}

#[test]
fn standard_input_reaches_the_command() {
    let tools = FakeTools::new().tool("kubectl", "cat");
    let run = tempfile::tempdir().unwrap();
    let runner = tools.runner(&run.path().join("commands.log"));
    let argv = vec![
        "kubectl".to_owned(),
        "apply".to_owned(),
        "-f".to_owned(),
        "-".to_owned(),
    ];
    let finished = runner
        .run(&argv, Some("kind: Namespace\n"), Duration::from_secs(20))
        .unwrap();
    assert_eq!(finished.stdout, "kind: Namespace\n");
}
