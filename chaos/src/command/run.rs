//! `backstop-chaos run`: with `--plan`, print what a run would do; live runs are not built yet.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::RunArgs;
use crate::command::Outcome;
use crate::error::Error;
use crate::plan::{self, Context, Workload};
use crate::scenario::{self, Scenario};

pub fn run(args: &RunArgs) -> Result<Outcome, Error> {
    let scenario = scenario::load(&args.scenario)?;
    if !args.plan {
        return Err(Error::NotImplemented(format!(
            "live execution is not implemented yet: `run` without --plan would create a kind \
             cluster and inject a {} fault, and this build cannot do that. Use \
             `backstop-chaos run --scenario {} --plan` to see every step it would take.",
            scenario.fault.kind,
            args.scenario.display()
        )));
    }
    let ctx = Context {
        scenario_file: args.scenario.clone(),
        seed: args.seed.or(scenario.seed).unwrap_or_else(fresh_seed),
        workdir: args
            .workdir
            .clone()
            .unwrap_or_else(|| PathBuf::from("out/chaos").join(&scenario.name)),
        workloads: load_workloads(&scenario, &args.scenario, args.workloads.as_deref())?,
        keep: args.keep,
    };
    print!("{}", plan::render(&plan::build(&scenario, &ctx)));
    Ok(Outcome::Pass)
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
