//! `backstop-chaos drill`: refuse what is unsafe or contradictory before anything talks to a
//! cluster (exit 2), then run the drill ([`crate::drill::live`]) and write its evidence:
//! `result.json`, `report.md`, `junit.xml` and `report.html` in the output directory, the
//! Markdown report on stdout. Exit 0 when the drill passes, 1 when it fails, 3 when it could not judge.

use std::path::{Path, PathBuf};

use ::kube::Client;
use ::kube::config::{KubeConfigOptions, Kubeconfig};
use chrono::Utc;

use crate::command::Outcome;
use crate::drill::args::DrillArgs;
use crate::drill::live;
use crate::drill::restore::{self, Target};
use crate::error::Error;
use crate::report::{self, Format};
use crate::verdict::Verdict;

pub fn drill(args: &DrillArgs) -> Result<Outcome, Error> {
    let target = settle(args, Utc::now())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Unavailable(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(async {
        let clients = clients(args).await?;
        live::drill(&clients, args, &target, stopped()).await
    })?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out/drill").join(&target.restore_namespace));
    write(
        &out,
        "result.json",
        &(serde_json::to_string_pretty(&result).unwrap_or_default() + "\n"),
    )?;
    let markdown = report::render_drill(&result, Format::Markdown);
    write(&out, "report.md", &markdown)?;
    write(
        &out,
        "junit.xml",
        &report::render_drill(&result, Format::Junit),
    )?;
    write(
        &out,
        "report.html",
        &report::render_drill(&result, Format::Html),
    )?;
    print!("{markdown}");
    eprintln!(
        "backstop-chaos: drill {}: {} (evidence in {})",
        target.restore_namespace,
        result.verdict,
        out.display()
    );
    Ok(match result.verdict {
        Verdict::Pass => Outcome::Pass,
        Verdict::Fail => Outcome::Fail,
    })
}

/// Resolves at Ctrl-C or SIGTERM (what a Job's pod gets at its deadline); never when neither
/// can be listened for.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                result = tokio::signal::ctrl_c() => {
                    if result.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
            return;
        }
    }
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: dir.join(name),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(dir.join(name), text).map_err(io)
}

/// The clients: the `--kubeconfig` file, else kube-rs' own reading of `$KUBECONFIG` (a list
/// of files, merged) or `~/.kube/config`, with `--context`; else kube-rs' inference (those,
/// then the pod's ServiceAccount in a cluster).
/// The kubeconfig is only read; nobody's current context changes.
async fn clients(args: &DrillArgs) -> Result<live::Clients, Error> {
    crate::kube::client::install_crypto_provider();
    let options = KubeConfigOptions {
        context: args.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig_error = |source| Error::Kubeconfig {
                path: path.clone(),
                source: Box::new(source),
            };
            let kubeconfig = Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
            ::kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(kubeconfig_error)?
        }
        None if args.context.is_some() => ::kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| Error::Unavailable(format!("no kubeconfig for --context: {e}")))?,
        None => ::kube::Config::infer().await.map_err(|e| {
            Error::Unavailable(format!(
                "no cluster to talk to (no kubeconfig, not in a pod): {e}"
            ))
        })?,
    };
    let url = config.cluster_url.clone();
    let build = |config: ::kube::Config| {
        Client::try_from(config).map_err(|source| Error::Kube {
            action: format!("build a client for {url}"),
            source: Box::new(source),
        })
    };
    let mut no_retry = config.clone();
    no_retry.default_retry = false;
    Ok(live::Clients {
        api: build(config)?,
        checks: build(no_retry)?,
    })
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
