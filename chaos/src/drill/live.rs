//! The live drill against a cluster: the thin shell around the pure decisions of
//! [`super`], in the order of the DR guide's manual drill. Every step is stamped on the
//! run clock; what a step saw goes into the result, and a failed step is a failed check,
//! not an error. Errors are what stops the drill from judging at all: the API server cannot
//! be reached, Velero is not installed, a call is refused.
//!
//! - [`backups`]: the schedule's Backups; [`contents`]: both sides of the comparison;
//!   [`pods`]: the restored pods to Ready; [`proxy`]: `--check` through the service proxy.

pub mod backups;
pub mod contents;
pub mod pods;
pub mod proxy;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ::kube::api::DeleteParams;
use ::kube::{Api, Client};
use k8s_openapi::api::core::v1::Namespace;
use policy::velero::Restore;

use super::args::DrillArgs;
use super::backup::{self, Choice};
use super::compare;
use super::record::{Cleanup, DrillRecord};
use super::restore::{self as drill_restore, Messages, Target, VELERO_NAMESPACE};
use super::result::DrillResult;
use crate::clock::RunClock;
use crate::error::Error;
use crate::kube::namespace;
use crate::outcome::{PodsOutcome, RestoreOutcome, RestorePhase};
use crate::result::Versions;
use crate::timeline::{Mark, Phase, Timeline};
use crate::velero::restore as velero_restore;

/// Where a grant of [`ACCESS`] applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Velero's namespace only (a Role there).
    Velero,
    /// Every namespace, or cluster-scoped objects (a ClusterRole): the restore namespace's
    /// name is only known when the drill runs, and RBAC cannot grant by name prefix.
    Cluster,
}

/// Every API access the drill makes, as RBAC names it: `(scope, apiGroup, resource, verbs)`.
/// `deploy/drill/rbac.yaml` grants exactly these (`tests/drill_rbac.rs`), and the live tests
/// check every request the drill sends is one of them. The `list`-only core, apps, batch,
/// networking, policy and rbac kinds are what the comparison lists in the restore namespace;
/// a kind the backup holds beyond them (Secrets among them) is reported as not compared.
pub const ACCESS: &[(Scope, &str, &str, &[&str])] = &[
    (Scope::Velero, "velero.io", "backups", &["list"]),
    (
        Scope::Velero,
        "velero.io",
        "restores",
        &["create", "get", "list", "watch", "delete"],
    ),
    (
        Scope::Velero,
        "velero.io",
        "downloadrequests",
        &["create", "list", "watch", "delete"],
    ),
    (Scope::Velero, "velero.io", "podvolumebackups", &["list"]),
    (Scope::Velero, "velero.io", "podvolumerestores", &["list"]),
    (Scope::Cluster, "", "namespaces", &["get", "delete"]),
    (Scope::Cluster, "", "pods", &["list", "watch"]),
    (Scope::Cluster, "", "services/proxy", &["get"]),
    (Scope::Cluster, "", "persistentvolumeclaims", &["list"]),
    (Scope::Cluster, "", "configmaps", &["list"]),
    (Scope::Cluster, "", "serviceaccounts", &["list"]),
    (Scope::Cluster, "", "services", &["list"]),
    (Scope::Cluster, "apps", "deployments", &["list"]),
    (Scope::Cluster, "apps", "statefulsets", &["list"]),
    (Scope::Cluster, "apps", "daemonsets", &["list"]),
    (Scope::Cluster, "apps", "replicasets", &["list"]),
    (Scope::Cluster, "batch", "jobs", &["list"]),
    (Scope::Cluster, "batch", "cronjobs", &["list"]),
    (Scope::Cluster, "networking.k8s.io", "ingresses", &["list"]),
    (
        Scope::Cluster,
        "networking.k8s.io",
        "networkpolicies",
        &["list"],
    ),
    (Scope::Cluster, "policy", "poddisruptionbudgets", &["list"]),
    (
        Scope::Cluster,
        "rbac.authorization.k8s.io",
        "roles",
        &["list"],
    ),
    (
        Scope::Cluster,
        "rbac.authorization.k8s.io",
        "rolebindings",
        &["list"],
    ),
];

/// How long one `--check` may take at most (within what is left of `--timeout`).
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one of Velero's downloads (the backup's resource list, the restore's resource list
/// and results) may take to arrive (Velero answers in seconds).
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// A kube-rs error as the crate's error, naming the action.
pub(crate) fn api_error(action: String, source: ::kube::Error) -> Error {
    Error::Kube {
        action,
        source: Box::new(source),
    }
}

/// The drill's two clients for one cluster: `api` for the API calls (kube-rs retries 429,
/// 503 and 504 with backoff), `checks` for `--check` without retries, so a check records
/// the status the service proxy answered instead of retrying a 503 until the timeout.
pub struct Clients {
    pub api: Client,
    pub checks: Client,
}

/// Runs the drill into `target` (already settled by [`crate::command::drill::settle`]).
/// `interrupt` resolving (Ctrl-C, or the SIGTERM a Job gets at its deadline) stops it: with
/// `--cleanup`, what it made is deleted first, and the drill ends with
/// [`Error::Interrupted`] saying what became of it.
pub async fn drill(
    clients: &Clients,
    args: &DrillArgs,
    target: &Target,
    interrupt: impl Future<Output = ()>,
) -> Result<DrillResult, Error> {
    let clock = RunClock::start();
    let made = AtomicBool::new(false);
    tokio::select! {
        result = steps(clients, args, target, &clock, &made) => result,
        () = interrupt => {
            let restore_name = drill_restore::restore_name(target);
            let restore = format!("Restore {VELERO_NAMESPACE}/{restore_name}");
            let what = if !made.load(Ordering::SeqCst) {
                "it had created nothing yet".to_owned()
            } else if target.in_place() {
                // The restore namespace is the source: never deleted, with or without --cleanup.
                format!("{restore} is left (an in-place drill deletes nothing)")
            } else if args.cleanup {
                delete_made(&clients.api, target, &restore_name, &clock).await.detail
            } else {
                format!(
                    "{restore} and namespace {} are left (no --cleanup)",
                    target.restore_namespace
                )
            };
            Err(Error::Interrupted(format!("the drill was stopped; {what}")))
        }
    }
}

/// The drill's steps, in order; `made` turns true once the Restore exists.
async fn steps(
    clients: &Clients,
    args: &DrillArgs,
    target: &Target,
    clock: &RunClock,
    made: &AtomicBool,
) -> Result<DrillResult, Error> {
    let client = &clients.api;
    let started = clock.now();
    let deadline = Instant::now() + args.timeout;
    let left = || deadline.saturating_duration_since(Instant::now());
    let mut marks: Vec<Mark> = Vec::new();
    let mark = |phase: Phase, marks: &mut Vec<Mark>| {
        marks.push(Mark {
            phase,
            at: clock.now(),
        });
    };

    let kubernetes = client
        .apiserver_version()
        .await
        .map_err(|e| match e {
            // It answered: the kubeconfig's credentials or the drill's access are wrong
            // (capture 17: 401 for a bad token, 403 for the anonymous user).
            ::kube::Error::Api(status) => Error::Unavailable(format!(
                "the Kubernetes API server refused the drill: {} {} ({}); check the \
                 kubeconfig's credentials, or the ServiceAccount in a pod",
                status.code, status.reason, status.message
            )),
            e => Error::Unavailable(format!("the Kubernetes API server cannot be reached: {e}")),
        })?
        .git_version;

    let listed = backups::of_schedule(client, &args.schedule).await?;
    let Choice { chosen, skipped } = backup::choose(&args.schedule, &listed);
    mark(Phase::Backups, &mut marks);

    let mut record = DrillRecord {
        schedule: args.schedule.clone(),
        source_namespace: target.source.clone(),
        restore_namespace: target.restore_namespace.clone(),
        in_place: target.in_place(),
        restore_pvs: args.restore_pvs,
        wait: args.wait,
        timeout_ms: u64::try_from(args.timeout.as_millis()).unwrap_or(u64::MAX),
        backup: chosen.clone(),
        skipped_backups: skipped,
        checks_requested: args.checks.iter().map(ToString::to_string).collect(),
        service_checks: Vec::new(),
        comparison: None,
        why_not_compared: None,
        cleanup_requested: args.cleanup,
        cleanup: None,
    };
    let versions = Versions {
        kubernetes,
        kind: "none (existing cluster)".to_owned(),
        velero: "not asked (the drill reads Velero's objects only)".to_owned(),
        backstop: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let finish = |record: DrillRecord, marks: Vec<Mark>, restore, pods| {
        DrillResult::assemble(
            record,
            versions.clone(),
            &Timeline { started, marks },
            restore,
            pods,
        )
    };

    let Some(chosen) = chosen else {
        record.why_not_compared = Some("no Completed backup to restore".to_owned());
        let pods = not_waited("no Restore was created (no Completed backup)");
        return Ok(finish(record, marks, None, pods));
    };

    if !target.in_place() {
        refuse_existing(client, &target.restore_namespace).await?;
    }
    let restore = drill_restore::restore(target, &chosen.name, args.restore_pvs);
    let restore_name = drill_restore::restore_name(target);
    // Set before the call: an interrupt while it is on its way cleans up what may exist.
    made.store(true, Ordering::SeqCst);
    velero_restore::create(client, &drill_restore::manifest(&restore)).await?;
    mark(Phase::RestoreStart, &mut marks);

    if !args.wait {
        record.why_not_compared = Some("--wait not given".to_owned());
        let created = RestoreOutcome {
            name: restore_name,
            backup: chosen.name.clone(),
            phase: RestorePhase::New,
            warnings: Vec::new(),
            errors: Vec::new(),
        };
        return Ok(finish(
            record,
            marks,
            Some(created),
            not_waited("--wait not given"),
        ));
    }

    let finished = match velero_restore::wait_finished(client, &restore_name, left()).await {
        Ok(finished) => Some(finished),
        Err(Error::Timeout { last_seen, .. }) => {
            record.why_not_compared = Some(format!(
                "the Restore did not finish within {:?} (last seen: {last_seen})",
                args.timeout
            ));
            None
        }
        Err(e) => return Err(e),
    };
    let Some(finished) = finished else {
        let outcome = unfinished(client, &restore_name, &chosen.name).await;
        let pods = not_waited("the Restore did not finish");
        cleanup(client, args, target, &restore_name, clock, &mut record).await;
        if record.cleanup.is_some() {
            mark(Phase::Teardown, &mut marks);
        }
        return Ok(finish(record, marks, Some(outcome), pods));
    };
    mark(Phase::RestoreComplete, &mut marks);
    let ns2 = target.restore_namespace.as_str();
    let download_timeout = || left().min(DOWNLOAD_TIMEOUT);
    // Velero's record of the restore: its messages for the evidence, and the pods it restored,
    // which are the ones to wait for. A restore that failed validation never ran: Velero wrote
    // nothing to read.
    let ran = finished.phase != RestorePhase::FailedValidation;
    let messages = if ran {
        contents::restore_messages(client, &restore_name, ns2, download_timeout())
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("{e}; the restore's messages are left to `velero restore describe`");
                Messages::default()
            })
    } else {
        Messages::default()
    };
    let outcome = velero_restore::outcome(
        &restore_name,
        &chosen.name,
        &finished,
        &messages.warnings,
        &messages.errors,
    );
    let velero_record = if ran {
        contents::velero_record(client, &restore_name, ns2, download_timeout()).await
    } else {
        Err(Error::Unavailable(
            "the Restore failed validation: Velero restored nothing".to_owned(),
        ))
    };
    let expected_pods = velero_record.as_ref().map_or(0, compare::pods_restored);
    let backup_contents = contents::of_backup(
        client,
        &chosen.name,
        &target.source,
        &restore_name,
        ns2,
        download_timeout(),
    )
    .await;

    let pods = if matches!(
        finished.phase,
        RestorePhase::Failed | RestorePhase::FailedValidation
    ) {
        not_waited(&format!("the Restore {}", finished.phase.name()))
    } else {
        pods::wait_ready(client, &target.restore_namespace, expected_pods, left()).await
    };
    if pods.ready {
        mark(Phase::PodsReady, &mut marks);
    }

    if pods.ready {
        for check in &args.checks {
            let seen = proxy::check(
                &clients.checks,
                &target.restore_namespace,
                check,
                left().min(CHECK_TIMEOUT),
                clock,
            )
            .await;
            record.service_checks.push(seen);
        }
    }
    match (backup_contents, velero_record) {
        (Ok(backup_contents), Ok(velero_record)) => {
            match contents::of_restore(
                client,
                ns2,
                &restore_name,
                backup_contents.items.keys(),
                velero_record,
            )
            .await
            {
                Ok(restored) => {
                    record.comparison = Some(compare::compare(
                        &backup_contents,
                        &restored,
                        args.restore_pvs,
                    ));
                }
                Err(e) => record.why_not_compared = Some(e.to_string()),
            }
        }
        (Err(e), _) | (_, Err(e)) => record.why_not_compared = Some(e.to_string()),
    }
    if pods.ready && record.comparison.is_some() {
        mark(Phase::DataVerified, &mut marks);
    }

    cleanup(client, args, target, &restore_name, clock, &mut record).await;
    if record.cleanup.is_some() {
        mark(Phase::Teardown, &mut marks);
    }
    Ok(finish(record, marks, Some(outcome), pods))
}

/// Refuses (exit 2) a restore namespace that already exists: the drill would restore into
/// someone's objects, and `--cleanup` would delete a namespace it did not create. A 404
/// (capture 03, exchange 5) is the answer wanted.
async fn refuse_existing(client: &Client, namespace: &str) -> Result<(), Error> {
    let api: Api<Namespace> = Api::all(client.clone());
    match api.get_opt(namespace).await {
        Ok(None) => Ok(()),
        Ok(Some(_)) => Err(Error::InvalidArgument {
            argument: "--restore-namespace".into(),
            message: format!(
                "namespace {namespace} already exists: a drill restores into a namespace of its \
                 own, which Velero creates (and --cleanup deletes). Name one that does not \
                 exist, or leave --restore-namespace out for a fresh one"
            ),
        }),
        Err(e) => Err(api_error(format!("get namespace {namespace}"), e)),
    }
}

fn not_waited(why: &str) -> PodsOutcome {
    PodsOutcome {
        ready: false,
        detail: format!("not waited for: {why}"),
    }
}

/// The Restore as it stands after a wait that ran out of time.
async fn unfinished(client: &Client, name: &str, backup: &str) -> RestoreOutcome {
    let api: Api<Restore> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    let status = api.get(name).await.ok().and_then(|r| r.status);
    let phase = status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .and_then(velero_restore::phase_named)
        .unwrap_or(RestorePhase::New);
    RestoreOutcome {
        name: name.to_owned(),
        backup: backup.to_owned(),
        phase,
        warnings: Vec::new(),
        errors: vec![format!(
            "still {} when the drill's timeout ran out",
            phase.name()
        )],
    }
}

/// `--cleanup`: deletes what the drill made, and records what the API server said.
async fn cleanup(
    client: &Client,
    args: &DrillArgs,
    target: &Target,
    restore_name: &str,
    clock: &RunClock,
    record: &mut DrillRecord,
) {
    if !args.cleanup || target.in_place() {
        return;
    }
    record.cleanup = Some(delete_made(client, target, restore_name, clock).await);
}

/// Deletes the restore namespace and the Restore. A namespace that does not exist (Velero
/// never created it) is nothing to delete.
async fn delete_made(
    client: &Client,
    target: &Target,
    restore_name: &str,
    clock: &RunClock,
) -> Cleanup {
    let ns = &target.restore_namespace;
    let (namespace_deleted, ns_detail) = match namespace::delete(client, ns).await {
        Ok(()) => (true, format!("namespace {ns} Terminating")),
        Err(Error::Kube { source, .. }) if matches!(source.as_ref(), ::kube::Error::Api(s) if s.code == 404) => {
            (true, format!("namespace {ns} did not exist"))
        }
        Err(e) => (false, format!("namespace {ns} not deleted: {e}")),
    };
    let api: Api<Restore> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    let (restore_deleted, restore_detail) =
        match api.delete(restore_name, &DeleteParams::background()).await {
            // Capture 22: a Status Success without finalizers, the object with one.
            Ok(answer) if answer.is_right() => (
                true,
                format!("Restore {VELERO_NAMESPACE}/{restore_name} deleted"),
            ),
            Ok(_) => (
                true,
                format!(
                    "Restore {VELERO_NAMESPACE}/{restore_name} deletion requested (Velero's \
                     finalizer removes it)"
                ),
            ),
            Err(e) => (
                false,
                format!("Restore {VELERO_NAMESPACE}/{restore_name} not deleted: {e}"),
            ),
        };
    Cleanup {
        namespace_deleted,
        restore_deleted,
        detail: format!("{ns_detail}; {restore_detail}"),
        at: clock.now(),
    }
}
