//! `backstop-webhook audit`: the coverage verdict of every protected Namespace and PVC found in
//! manifests, as a terminal table, JSON or Markdown. A CI gate: exit 1 when anything has a gap.

mod cluster;
mod evidence;
mod render;

use std::process::ExitCode;
use std::sync::Arc;

use policy::{CoverageIndex, Inventory};

use crate::WebhookError;
use crate::args::{AuditArgs, AuditOutput};
use crate::error::EXIT_GAPS;
use crate::manifests::{load_inventory, load_policy};

pub use cluster::{
    ClusterRecords, client as cluster_client, load_inventory as load_cluster_inventory,
    load_records as load_cluster_records,
};
pub use render::{AuditReport, ScheduleSummary};

pub fn run(args: &AuditArgs) -> ExitCode {
    match audit(args) {
        Ok((report, rendered)) => {
            print!("{rendered}");
            if report.has_gaps() {
                ExitCode::from(EXIT_GAPS)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("backstop-webhook audit: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn audit(args: &AuditArgs) -> Result<(AuditReport, String), WebhookError> {
    let policy = Arc::new(load_policy(&args.policy)?);
    let mut inventory = if args.cluster {
        read_cluster(
            args.context.as_deref(),
            &policy.velero_namespace,
            args.verify_backups,
        )?
    } else {
        load_inventory(&args.manifests)?
    };
    let records = evidence::take_records(&mut inventory);
    let index = CoverageIndex::build(policy, inventory);
    let mut report = AuditReport::new(&index);
    if args.verify_backups {
        let now = args.now.unwrap_or_else(k8s_openapi::jiff::Timestamp::now);
        let evidence = records.judge(&index, &report.objects, now);
        report = report.with_evidence(evidence);
    }
    let rendered = match args.output {
        AuditOutput::Table => report.table(),
        AuditOutput::Json => report.json(),
        AuditOutput::Markdown => report.markdown(),
    };
    Ok((report, rendered))
}

fn read_cluster(
    context: Option<&str>,
    velero_namespace: &str,
    with_records: bool,
) -> Result<Inventory, WebhookError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| WebhookError::Start {
            what: "the async runtime",
            source,
        })?;
    runtime.block_on(async {
        let client = cluster::client(context).await?;
        let mut inventory = cluster::load_inventory(client.clone(), velero_namespace).await?;
        if with_records {
            let records = cluster::load_records(client, velero_namespace).await?;
            inventory.backups = records.backups;
            inventory.pod_volume_backups = records.pod_volume_backups;
            inventory.data_uploads = records.data_uploads;
        }
        Ok(inventory)
    })
}
