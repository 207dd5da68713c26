//! `backstop-chaos drill`: refuse what is unsafe or contradictory before anything talks to a
//! cluster (exit 2), then run the drill.
//!
//! The live drill (listing Backups, creating and watching the Restore, the pods, the checks,
//! the cleanup) is built on the live run's Kubernetes and Velero calls, which this build does
//! not have yet: against a cluster it stops with exit 3 and says so.

use chrono::Utc;

use crate::command::Outcome;
use crate::drill::args::DrillArgs;
use crate::drill::restore::{self, Target};
use crate::error::Error;

pub fn drill(args: &DrillArgs) -> Result<Outcome, Error> {
    let target = settle(args, Utc::now())?;
    Err(Error::NotImplemented(format!(
        "the live drill is not built yet: `drill` would list the Backups of schedule {} \
         (label velero.io/schedule-name), restore the newest Completed one from namespace {} \
         into {}{}, and this build cannot talk to a cluster yet. Nothing was touched.",
        args.schedule,
        target.source,
        target.restore_namespace,
        if target.in_place() { " (in place)" } else { "" },
    )))
}

/// Where the drill restores, once the flags are known to be safe and consistent.
pub fn settle(args: &DrillArgs, now: chrono::DateTime<Utc>) -> Result<Target, Error> {
    let needs_wait = |flag: &str| Error::InvalidArgument {
        argument: flag.into(),
        message: format!(
            "{flag} needs --wait: it acts once the restore has finished, which only a drill that \
             waits for it knows"
        ),
    };
    if !args.wait && !args.checks.is_empty() {
        return Err(needs_wait("--check"));
    }
    if !args.wait && args.cleanup {
        return Err(needs_wait("--cleanup"));
    }
    if args.timeout.is_zero() {
        return Err(Error::InvalidArgument {
            argument: "--timeout".into(),
            message: "must be longer than zero".into(),
        });
    }
    restore::target(
        &args.namespace,
        args.restore_namespace.as_deref(),
        args.in_place,
        args.cleanup,
        now,
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::error::EXIT_BAD_INPUT;

    fn args(extra: &[&str]) -> DrillArgs {
        let mut argv = vec![
            "backstop-chaos",
            "drill",
            "--schedule",
            "daily",
            "--namespace",
            "data-platform",
        ];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Drill(a) => a,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn checks_and_cleanup_need_wait() {
        for extra in [&["--check", "web/healthz"][..], &["--cleanup"][..]] {
            let e = settle(&args(extra), Utc::now()).unwrap_err();
            assert_eq!(e.exit_code(), EXIT_BAD_INPUT);
            assert!(e.to_string().contains("needs --wait"), "{e}");
        }
    }

    #[test]
    fn the_source_namespace_is_refused_before_any_cluster_call() {
        let e = settle(&args(&["--restore-namespace", "data-platform"]), Utc::now()).unwrap_err();
        assert_eq!(e.exit_code(), EXIT_BAD_INPUT);
    }

    #[test]
    fn a_safe_drill_settles_on_a_scratch_namespace() {
        let t = settle(
            &args(&["--wait", "--cleanup", "--check", "web:8080/healthz"]),
            Utc::now(),
        )
        .unwrap();
        assert!(t.restore_namespace.starts_with("data-platform-drill-"));
    }
}
