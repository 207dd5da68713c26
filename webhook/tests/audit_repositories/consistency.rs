//! `no-consistency-hook`: a database backed up by volume without a Velero pre-backup hook is a
//! warning (never a failure), and a hook on the pod template or in the Schedule silences it. The
//! databases' claims are snapshotted by CSI, so the Velero server runs with `EnableCSI`.

use crate::*;

#[test]
fn postgres_statefulset_without_a_hook_is_warned_about_and_still_passes() {
    let (output, report) = report_under(
        POLICY_CSI,
        &[
            "--manifests",
            &fixture("postgres-statefulset-without-hook.yaml"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "a warning fails nothing");
    let claim = object(
        &report,
        "PersistentVolumeClaim",
        "team-db",
        "pgdata-orders-db-0",
    );
    assert_eq!(claim["coveredBy"][0], "daily-snapshots");
    assert_eq!(gap_codes(claim), ["no-consistency-hook"]);
    let gap = &claim["gaps"][0];
    assert_eq!(gap["severity"], "warning");
    let message = gap["message"].as_str().unwrap();
    for expected in [
        "pod orders-db-0 runs PostgreSQL (image docker.io/library/postgres:16.4)",
        "schedule daily-snapshots backs it up with no pre-backup hook",
        "pre.hook.backup.velero.io/container: postgres",
        "pg_dumpall",
        "/var/lib/postgresql/data/velero-pre-backup.sql",
    ] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|finding| finding["code"] == "no-consistency-hook")
        .unwrap();
    assert_eq!(finding["source"]["predictedFrom"]["path"], "spec.template");
    assert_eq!(
        finding["source"]["line"], 34,
        "the StatefulSet that runs the pod"
    );
}

#[test]
fn postgres_statefulset_with_a_pre_hook_on_its_template_gets_no_warning() {
    let (output, report) = report_under(
        POLICY_CSI,
        &[
            "--manifests",
            &fixture("postgres-statefulset-with-hook.yaml"),
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    let claim = object(
        &report,
        "PersistentVolumeClaim",
        "team-db",
        "pgdata-orders-db-0",
    );
    assert!(gap_codes(claim).is_empty(), "{claim:#}");
}

#[test]
fn postgres_statefulset_with_a_hook_in_the_schedule_template_gets_no_warning() {
    let (output, report) = report_under(
        POLICY_CSI,
        &[
            "--manifests",
            &fixture("postgres-statefulset-with-schedule-hook.yaml"),
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    let claim = object(
        &report,
        "PersistentVolumeClaim",
        "team-db",
        "pgdata-orders-db-0",
    );
    assert!(gap_codes(claim).is_empty(), "{claim:#}");
}
