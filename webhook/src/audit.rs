//! `backstop-webhook audit` (and `kubectl backstop`): the coverage verdict of every protected
//! Namespace and PVC found in manifests or a cluster, as a terminal table, JSON, Markdown,
//! SARIF or GitHub annotations. A CI gate: exit 1 when anything has a gap.

mod cluster;
mod evidence;
mod findings;
mod github;
mod render;
mod sarif;

use std::process::ExitCode;
use std::sync::Arc;

use policy::consistency::Databases;
use policy::{CoverageIndex, Inventory};

use crate::WebhookError;
use crate::args::{AuditArgs, AuditInput, AuditOutput};
use crate::error::EXIT_GAPS;
use crate::manifests::{ManifestSources, load_policy, load_sources};

pub use cluster::{
    ClusterRecords, client as cluster_client, load_inventory as load_cluster_inventory,
    load_records as load_cluster_records,
};
pub use findings::Finding;
pub use render::{AuditReport, ScheduleSummary};

/// `backstop-webhook audit`: manifests or `--cluster` must be named.
pub fn run(args: &AuditArgs) -> ExitCode {
    run_with(args, None, "backstop-webhook audit")
}

/// `kubectl backstop`: the cluster of the current context unless manifests are named.
pub fn run_plugin(args: &AuditArgs) -> ExitCode {
    run_with(args, Some(AuditInput::Cluster), "kubectl backstop")
}

fn run_with(args: &AuditArgs, default: Option<AuditInput>, name: &str) -> ExitCode {
    match audit(args, default) {
        Ok((report, rendered)) => {
            print!("{rendered}");
            if matches!(args.output, AuditOutput::Sarif) {
                warn_of_results_without_file(report.sarif_results_without_file(), name);
            }
            if report.has_gaps() {
                ExitCode::from(EXIT_GAPS)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("{name}: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// A SARIF log whose results do not all point into a file is valid SARIF, but GitHub code
/// scanning refuses all of it: say so where the CI log shows it.
fn warn_of_results_without_file(count: usize, name: &str) {
    if count > 0 {
        eprintln!(
            "{name}: warning: {count} SARIF result(s) have no file to point into (read from standard input, a rendered kustomization or a cluster), and GitHub code scanning refuses a log that holds one; for code scanning, audit files (`helm template ... --output-dir DIR`, `kubectl kustomize DIR > FILE`)"
        );
    }
}

fn audit(
    args: &AuditArgs,
    default: Option<AuditInput>,
) -> Result<(AuditReport, String), WebhookError> {
    let input = args.input(default).map_err(WebhookError::Usage)?;
    let policy = Arc::new(load_policy(&args.policy)?);
    let mut inventory = match input {
        AuditInput::Cluster => read_cluster(args.context.as_deref(), &policy, args.verify_backups)?,
        AuditInput::Manifests => load_sources(&ManifestSources {
            paths: &args.manifests,
            kustomizations: &args.kustomize,
            kubectl: args.kubectl.as_deref(),
        })?,
    };
    let records = evidence::take_records(&mut inventory);
    let origins = std::mem::take(&mut inventory.origins);
    let notes = std::mem::take(&mut inventory.notes);
    let databases = Databases::find(&inventory, &policy.velero_namespace);
    let index = CoverageIndex::build(policy, inventory);
    // What could not be read about the Velero server (an image without a release, no
    // Deployment), or where the policy disagrees with it: judged anyway, and said.
    for note in &index.server_view().notes {
        eprintln!("backstop-webhook audit: note: {note}");
    }
    let mut report = AuditReport::new(&index);
    let consistency = databases.judge(&index, &report.objects);
    report = report
        .with_consistency(consistency)
        .with_origins(origins, notes);
    if args.verify_backups {
        let now = args.now.unwrap_or_else(k8s_openapi::jiff::Timestamp::now);
        let evidence = records.judge(&index, &report.objects, now);
        report = report.with_evidence(evidence);
    }
    let rendered = match args.output {
        AuditOutput::Table => report.table(),
        AuditOutput::Json => report.json(),
        AuditOutput::Markdown => report.markdown(),
        AuditOutput::Sarif => report.sarif(),
        AuditOutput::Github => report.github(),
    };
    Ok((report, rendered))
}

fn read_cluster(
    context: Option<&str>,
    policy: &policy::Policy,
    with_records: bool,
) -> Result<Inventory, WebhookError> {
    let velero_namespace = policy.velero_namespace.as_str();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| WebhookError::Start {
            what: "the async runtime",
            source,
        })?;
    runtime.block_on(async {
        let client = cluster::client(context).await?;
        let mut inventory =
            cluster::load_inventory(client.clone(), velero_namespace, &policy.velero_deployment)
                .await?;
        if with_records {
            let records = cluster::load_records(client, velero_namespace).await?;
            inventory.backups = records.backups;
            inventory.pod_volume_backups = records.pod_volume_backups;
            inventory.data_uploads = records.data_uploads;
        }
        Ok(inventory)
    })
}
