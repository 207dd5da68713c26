//! `backstop-chaos simulate`: load the policy and the Schedules (manifests or a cluster), pick the
//! objects and their covering schedules from the policy crate's coverage index, simulate, print.

use std::sync::Arc;
use std::time::Duration;

use backstop_webhook::audit::{cluster_client, load_cluster_inventory};
use backstop_webhook::manifests::{load_inventory, load_policy};
use kube::Client;
use policy::velero::Backup;
use policy::{CoverageIndex, Inventory};

use crate::command::Outcome;
use crate::error::Error;
use crate::simulate::args::{SimulateArgs, SimulateOutput};
use crate::simulate::cluster::list_backups;
use crate::simulate::durations::{Measured, measure};
use crate::simulate::objects::{objects_to_simulate, schedules_covering};
use crate::simulate::{DurationFrom, Settings, render, simulate as run_simulation};

pub fn simulate(args: &SimulateArgs) -> Result<Outcome, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            path: "tokio runtime".into(),
            source,
        })?;
    let rendered = runtime.block_on(async {
        let client = if needs_cluster(args) {
            Some(
                cluster_client(args.context.as_deref())
                    .await
                    .map_err(Error::ClusterRead)?,
            )
        } else {
            None
        };
        render_report(args, client).await
    })?;
    print!("{rendered}");
    Ok(Outcome::Pass)
}

/// `--context` reads everything from the cluster; `--durations-from-cluster` reads Backups from
/// it (the default context's, with `--manifests`).
pub fn needs_cluster(args: &SimulateArgs) -> bool {
    args.context.is_some() || args.durations_from_cluster
}

/// The rendered report; `client` is the cluster's, required when [`needs_cluster`].
pub async fn render_report(args: &SimulateArgs, client: Option<Client>) -> Result<String, Error> {
    let settings = settings(args)?;
    let policy = Arc::new(load_policy(&args.policy).map_err(Error::LoadInput)?);
    let (inventory, backups) = read_inputs(
        args,
        client,
        &policy.velero_namespace,
        &policy.velero_deployment,
    )
    .await?;
    let index = CoverageIndex::build(policy, inventory);
    let objects = objects_to_simulate(&index);
    let measured = backups.as_deref().map(measure);
    let fixed = args.backup_duration.unwrap_or(Duration::ZERO);
    let schedules = schedules_covering(&index, &objects, |name| {
        duration_of(name, measured.as_ref(), fixed)
    });
    let report = run_simulation(&schedules, &objects, &settings);
    Ok(match args.output {
        SimulateOutput::Table => render::table(&report),
        SimulateOutput::Json => render::json(&report),
        SimulateOutput::Markdown => render::markdown(&report),
    })
}

fn settings(args: &SimulateArgs) -> Result<Settings, Error> {
    if args.samples == 0 {
        return Err(Error::InvalidArgument {
            argument: "--samples".into(),
            message: "must be at least 1".into(),
        });
    }
    if args.horizon < Duration::from_secs(1) {
        return Err(Error::InvalidArgument {
            argument: "--horizon".into(),
            message: "must be at least 1s".into(),
        });
    }
    Ok(Settings {
        samples: args.samples,
        seed: args.seed,
        start: Settings::default_start(),
        horizon: args.horizon,
    })
}

/// The schedule's median measured duration with `--durations-from-cluster`, else the flag's.
fn duration_of(
    name: &str,
    measured: Option<&std::collections::BTreeMap<String, Measured>>,
    fixed: Duration,
) -> (Duration, DurationFrom) {
    match measured {
        None => (fixed, DurationFrom::Flag),
        Some(measured) => match measured.get(name) {
            Some(figures) => (figures.median, DurationFrom::Cluster(*figures)),
            None => (Duration::ZERO, DurationFrom::ClusterHasNone),
        },
    }
}

/// The inventory (from manifests or the cluster) and, with `--durations-from-cluster`, the
/// Velero namespace's Backups.
async fn read_inputs(
    args: &SimulateArgs,
    client: Option<Client>,
    velero_namespace: &str,
    velero_deployment: &str,
) -> Result<(Inventory, Option<Vec<Backup>>), Error> {
    let client = match (client, needs_cluster(args)) {
        (_, false) => {
            let inventory = load_inventory(&args.manifests).map_err(Error::LoadInput)?;
            return Ok((inventory, None));
        }
        (Some(client), true) => client,
        (None, true) => {
            return Err(Error::InvalidArgument {
                argument: "--context".into(),
                message: "reading the cluster needs a Kubernetes client".into(),
            });
        }
    };
    let inventory = if args.context.is_some() {
        load_cluster_inventory(client.clone(), velero_namespace, velero_deployment)
            .await
            .map_err(Error::ClusterRead)?
    } else {
        load_inventory(&args.manifests).map_err(Error::LoadInput)?
    };
    let backups = if args.durations_from_cluster {
        Some(list_backups(client, velero_namespace).await?)
    } else {
        None
    };
    Ok((inventory, backups))
}
