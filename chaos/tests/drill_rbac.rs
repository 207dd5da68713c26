//! `deploy/drill/` against the drill's code: the RBAC grants exactly the API access the drill
//! makes (`drill::live::ACCESS`, which the live tests check every request against), the
//! CronJob runs a command line the drill accepts as that ServiceAccount, and the namespace
//! deletion policy names the same ServiceAccount and the drill's own namespace names.

#![allow(clippy::unwrap_used)] // test helpers, outside #[test] functions, may unwrap

use std::collections::BTreeSet;
use std::path::Path;

use backstop_chaos::cli::{Cli, Command};
use backstop_chaos::drill::live::{ACCESS, Scope};
use backstop_chaos::drill::restore::{DRILL_INFIX, VELERO_NAMESPACE, default_restore_namespace};
use clap::Parser;
use serde_json::Value;

const SERVICE_ACCOUNT: &str = "backstop-drill";
const NAMESPACE: &str = "backstop-system";

fn documents(file: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/drill")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    text.split("\n---\n")
        .map(|doc| serde_saphyr::from_str::<Value>(doc).unwrap())
        .filter(|doc| !doc.is_null())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter().find(|d| d["kind"] == kind).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

type Grant = (String, String, String);

fn granted(role: &Value) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        assert!(rule.get("resourceNames").is_none(), "{rule}");
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    assert_ne!(verb, "*", "{rule}");
                    out.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    out
}

fn needed(scope: Scope) -> BTreeSet<Grant> {
    ACCESS
        .iter()
        .filter(|(s, ..)| *s == scope)
        .flat_map(|(_, group, resource, verbs)| {
            verbs.iter().map(|verb| {
                (
                    (*group).to_owned(),
                    (*resource).to_owned(),
                    (*verb).to_owned(),
                )
            })
        })
        .collect()
}

#[test]
fn the_cluster_role_grants_exactly_the_drills_cluster_wide_access() {
    let docs = documents("rbac.yaml");
    assert_eq!(granted(find(&docs, "ClusterRole")), needed(Scope::Cluster));
}

#[test]
fn the_role_in_veleros_namespace_grants_exactly_the_drills_access_to_veleros_objects() {
    let docs = documents("rbac.yaml");
    let role = find(&docs, "Role");
    assert_eq!(role["metadata"]["namespace"], VELERO_NAMESPACE);
    assert_eq!(granted(role), needed(Scope::Velero));
    assert_eq!(
        find(&docs, "RoleBinding")["metadata"]["namespace"],
        VELERO_NAMESPACE
    );
}

#[test]
fn both_bindings_name_the_cronjobs_service_account() {
    let docs = documents("rbac.yaml");
    let sa = find(&docs, "ServiceAccount");
    assert_eq!(sa["metadata"]["name"], SERVICE_ACCOUNT);
    assert_eq!(sa["metadata"]["namespace"], NAMESPACE);
    for kind in ["ClusterRoleBinding", "RoleBinding"] {
        let subjects = find(&docs, kind)["subjects"].as_array().unwrap().clone();
        assert_eq!(subjects.len(), 1, "{kind}");
        assert_eq!(subjects[0]["kind"], "ServiceAccount");
        assert_eq!(subjects[0]["name"], SERVICE_ACCOUNT);
        assert_eq!(subjects[0]["namespace"], NAMESPACE);
    }
    let cron = &documents("cronjob.yaml")[0];
    assert_eq!(cron["metadata"]["namespace"], NAMESPACE);
    assert_eq!(
        cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"],
        SERVICE_ACCOUNT
    );
}

#[test]
fn the_cronjob_runs_a_drill_command_line_that_settles_safely() {
    let cron = &documents("cronjob.yaml")[0];
    assert_eq!(cron["spec"]["schedule"], "0 3 1 * *");
    let container = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "backstop-chaos");
    let mut argv = vec!["backstop-chaos".to_owned()];
    argv.extend(strings(&container["args"]));
    let Command::Drill(args) = Cli::try_parse_from(&argv).unwrap().command else {
        panic!("the CronJob does not run `drill`: {argv:?}")
    };
    let target = backstop_chaos::command::drill::settle(&args, chrono::Utc::now()).unwrap();
    assert!(!target.in_place());
    assert!(args.wait && args.cleanup);
    // The default restore namespace, which the deletion policy below lets it delete.
    assert!(args.restore_namespace.is_none());
}

#[test]
fn the_delete_policy_binds_the_drills_account_to_the_drills_namespace_names() {
    let docs = documents("namespace-delete-policy.yaml");
    let policy = find(&docs, "ValidatingAdmissionPolicy");
    let condition = policy["spec"]["matchConditions"][0]["expression"]
        .as_str()
        .unwrap();
    assert_eq!(
        condition,
        format!(
            "request.userInfo.username == \"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}\""
        )
    );
    let rule = &policy["spec"]["matchConstraints"]["resourceRules"][0];
    assert_eq!(strings(&rule["operations"]), ["DELETE"]);
    assert_eq!(strings(&rule["resources"]), ["namespaces"]);
    let expression = policy["spec"]["validations"][0]["expression"]
        .as_str()
        .unwrap();
    // The pattern's tail is the drill's own naming: <namespace>-drill-YYYYMMDD-HHMMSS.
    assert!(
        expression.ends_with(&format!("{DRILL_INFIX}[0-9]{{8}}-[0-9]{{6}}$')")),
        "{expression}"
    );
    let name = default_restore_namespace("data-platform", chrono::Utc::now());
    let stamp = name
        .strip_prefix(&format!("data-platform{DRILL_INFIX}"))
        .unwrap();
    let (date, time) = stamp.split_once('-').unwrap();
    assert!(date.len() == 8 && time.len() == 6, "{name}");
    assert!(
        date.chars().chain(time.chars()).all(|c| c.is_ascii_digit()),
        "{name}"
    );
    let binding = find(&docs, "ValidatingAdmissionPolicyBinding");
    assert_eq!(binding["spec"]["policyName"], policy["metadata"]["name"]);
    assert_eq!(strings(&binding["spec"]["validationActions"]), ["Deny"]);
}

/// `backstop-system` enforces the restricted Pod Security Standard (deploy/webhook labels it
/// `pod-security.kubernetes.io/enforce: restricted`): a pod that breaks it is never created,
/// and the drill would silently never run.
#[test]
fn the_cronjob_pod_meets_the_restricted_pod_security_standard() {
    let cron = &documents("cronjob.yaml")[0];
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert!(pod.get("hostNetwork").is_none() && pod.get("hostPID").is_none());
    for volume in pod["volumes"].as_array().unwrap() {
        assert!(volume.get("hostPath").is_none(), "{volume}");
    }
    for container in pod["containers"].as_array().unwrap() {
        let sc = &container["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{container}");
        assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"], "{container}");
        assert!(sc["capabilities"].get("add").is_none(), "{container}");
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{container}");
    }
}

/// The Job outlives the drill's own --timeout (the restore and pods) by enough for the
/// downloads, checks, comparison and cleanup, so a slow restore fails as a drill (exit 1,
/// with its report) and is not killed mid-way by Kubernetes.
#[test]
fn the_job_deadline_leaves_room_after_the_drills_timeout() {
    let cron = &documents("cronjob.yaml")[0];
    let deadline = cron["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]
        .as_u64()
        .unwrap();
    let container = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    let mut argv = vec!["backstop-chaos".to_owned()];
    argv.extend(strings(&container["args"]));
    let Command::Drill(args) = Cli::try_parse_from(&argv).unwrap().command else {
        panic!("not a drill: {argv:?}")
    };
    assert!(
        deadline >= args.timeout.as_secs() + 10 * 60,
        "activeDeadlineSeconds {deadline} vs --timeout {:?}",
        args.timeout
    );
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    assert_eq!(cron["spec"]["jobTemplate"]["spec"]["backoffLimit"], 0);
}
