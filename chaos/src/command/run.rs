//! `backstop-chaos run`: with `--plan`, print what a run would do; without it, live through
//! it: provider checks and tools first (before anything is touched), then the engine over
//! the real world, with Ctrl-C as its interrupt.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cli::RunArgs;
use crate::cluster::kind;
use crate::command::Outcome;
use crate::error::Error;
use crate::plan::{self, Context, Workload};
use crate::preflight;
use crate::run::engine;
use crate::run::progress::Progress;
use crate::run::real::{Cluster, LedgerImage, RealWorld, Setup};
use crate::run::rundir::RunDir;
use crate::run::{Config, Timeouts};
use crate::scenario::{self, Provider, Scenario};
use crate::verdict::Verdict;
use crate::workload;

pub fn run(args: &RunArgs) -> Result<Outcome, Error> {
    let scenario = scenario::load(&args.scenario)?;
    let seed = args.seed.or(scenario.seed).unwrap_or_else(fresh_seed);
    let (cluster, image) = if args.plan {
        plan_target(args, &scenario, seed)?
    } else {
        let cluster = cluster_of(args, &scenario, seed)?;
        let image = ledger_image(args, &cluster)?;
        (cluster, image)
    };
    let ctx = Context {
        scenario_file: args.scenario.clone(),
        seed,
        workdir: args
            .workdir
            .clone()
            .unwrap_or_else(|| PathBuf::from("out/chaos").join(&scenario.name)),
        workloads: load_workloads(&scenario, &args.scenario, args.workloads.as_deref())?,
        keep: args.keep,
        cluster,
        image,
    };
    // A workload manifest the run could not create is bad input, refused before anything.
    let workloads = workload::prepare(
        &ctx.workloads,
        plan::NAMESPACE,
        ctx.image.reference(),
        &plan::run_id(&scenario, seed),
    )?;
    if !args.plan {
        return live(args, scenario, &ctx, workloads);
    }
    print!("{}", plan::render(&plan::build(&scenario, &ctx)));
    Ok(Outcome::Pass)
}

/// What `--plan` shows: the flags the live run would refuse without are placeholders here
/// (a plan touches nothing).
fn plan_target(
    args: &RunArgs,
    scenario: &Scenario,
    seed: u64,
) -> Result<(Cluster, LedgerImage), Error> {
    let cluster = match scenario.cluster.provider {
        Provider::Kind => cluster_of(args, scenario, seed)?,
        Provider::Existing => Cluster::Existing {
            kubeconfig: user_kubeconfig().unwrap_or_else(|| PathBuf::from("<kubeconfig>")),
            context: args.context.clone().unwrap_or_else(|| "<--context>".into()),
        },
    };
    let image = match (&cluster, &args.ledger_image) {
        (_, Some(image)) => LedgerImage::Given(image.clone()),
        (Cluster::Existing { .. }, None) => LedgerImage::Given("<--ledger-image>".into()),
        (Cluster::Kind { .. }, None) => LedgerImage::Build {
            context: args.build_context.clone(),
        },
    };
    Ok((cluster, image))
}

/// The live run: everything that can be refused is refused before anything is touched.
fn live(
    args: &RunArgs,
    scenario: Scenario,
    ctx: &Context,
    workloads: Vec<workload::Object>,
) -> Result<Outcome, Error> {
    let (cluster, image) = (ctx.cluster.clone(), ctx.image.clone());
    let path = std::env::var_os("PATH").unwrap_or_default();
    preflight::check(
        match cluster {
            Cluster::Kind { .. } => preflight::KIND_RUN,
            Cluster::Existing { .. } => preflight::EXISTING_RUN,
        },
        &path,
    )?;
    let dir = RunDir::create(&ctx.workdir)?;
    eprintln!(
        "backstop-chaos: running {} with seed {} (replay with --seed {}); files in {}",
        scenario.name,
        ctx.seed,
        ctx.seed,
        dir.root().display()
    );
    let config = Config {
        scenario: scenario.clone(),
        scenario_file: args.scenario.clone(),
        seed: ctx.seed,
        keep: args.keep,
        timeouts: Timeouts::default(),
        poll_interval: Duration::from_secs(1),
    };
    let world = RealWorld::new(Setup {
        scenario,
        seed: ctx.seed,
        dir: dir.clone(),
        cluster,
        image,
        workloads,
        path: None,
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            path: dir.root().to_owned(),
            source,
        })?;
    let progress = Progress::stderr();
    let result = runtime.block_on(engine::run(&world, &config, &dir, &progress, interrupted()))?;
    Ok(match result.verdict {
        Verdict::Pass => Outcome::Pass,
        Verdict::Fail => Outcome::Fail,
    })
}

/// Where the ledger image comes from: built from the repository on kind unless
/// `--ledger-image` names one; on an existing cluster `--ledger-image` is required (the
/// cluster pulls it from a registry). Exit 2 naming the flag otherwise.
fn ledger_image(args: &RunArgs, cluster: &Cluster) -> Result<LedgerImage, Error> {
    match (cluster, &args.ledger_image) {
        (_, Some(image)) => Ok(LedgerImage::Given(image.clone())),
        (Cluster::Existing { .. }, None) => Err(Error::InvalidArgument {
            argument: "--ledger-image".into(),
            message: "an existing cluster pulls the ledger image: build chaos/Dockerfile, push \
                      it to a registry the cluster can pull from, and name it here"
                .into(),
        }),
        (Cluster::Kind { .. }, None) => {
            let dockerfile = args.build_context.join(workload::DOCKERFILE);
            if !dockerfile.is_file() {
                return Err(Error::InvalidArgument {
                    argument: "--build-context".into(),
                    message: format!(
                        "{} does not exist: run from the repository's root, point \
                         --build-context at it, or give a built image with --ledger-image",
                        dockerfile.display()
                    ),
                });
            }
            Ok(LedgerImage::Build {
                context: args.build_context.clone(),
            })
        }
    }
}

/// Resolves at Ctrl-C (never, when the signal cannot be listened for). The run then tears
/// down; a second Ctrl-C stops at once, leaving what exists standing (exit 3).
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "backstop-chaos: second Ctrl-C: stopping now; the run's cluster, MinIO container \
                 and namespaces may be left (named backstop-<scenario>-<seed>)"
            );
            std::process::exit(i32::from(crate::error::EXIT_INFRASTRUCTURE));
        }
    });
}

/// The cluster the scenario and flags name; exit 2 for a flag that does not fit.
fn cluster_of(args: &RunArgs, scenario: &Scenario, seed: u64) -> Result<Cluster, Error> {
    match scenario.cluster.provider {
        Provider::Kind => {
            if let Some(context) = &args.context {
                return Err(Error::InvalidArgument {
                    argument: "--context".into(),
                    message: format!(
                        "the scenario runs on its own kind cluster (cluster.provider: kind); \
                         --context {context} is for cluster.provider: existing"
                    ),
                });
            }
            Ok(Cluster::Kind {
                name: kind::cluster_name(&scenario.name, seed),
            })
        }
        Provider::Existing => {
            let context = crate::cluster::existing::admit(
                args.allow_existing_cluster,
                args.context.as_deref(),
            )?;
            // The user's kubeconfig is only read, never written.
            let kubeconfig = user_kubeconfig().ok_or_else(|| Error::InvalidArgument {
                argument: "--context".into(),
                message: "no kubeconfig: set KUBECONFIG or HOME".into(),
            })?;
            Ok(Cluster::Existing {
                kubeconfig,
                context,
            })
        }
    }
}

/// The user's kubeconfig: the first file of `KUBECONFIG`, else `~/.kube/config` (only read).
fn user_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("KUBECONFIG")
        .and_then(|k| std::env::split_paths(&k).next())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube/config")))
}

/// Reads `<dir>/<name>.yaml` for every workload the scenario names.
fn load_workloads(
    scenario: &Scenario,
    scenario_path: &Path,
    dir: Option<&Path>,
) -> Result<Vec<Workload>, Error> {
    let dir = dir.map_or_else(
        || scenario::default_workloads_dir(scenario_path),
        Path::to_owned,
    );
    scenario
        .workloads
        .iter()
        .map(|name| {
            let path = dir.join(format!("{name}.yaml"));
            let manifest = std::fs::read_to_string(&path).map_err(|source| Error::ReadInput {
                path: path.clone(),
                source,
            })?;
            Ok(Workload {
                name: name.clone(),
                path,
                manifest,
            })
        })
        .collect()
}

/// A seed for a run that was given none (printed in the plan, so it can be replayed).
fn fresh_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() ^ u64::from(d.subsec_nanos()) << 20)
}
