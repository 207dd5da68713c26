use std::time::Duration;

use super::*;

const VALID: &str = "\
name: pvc-corruption
cluster: { provider: kind, workers: 2, kubernetes: v1.33.1 }
store: { kind: minio }
velero: { version: v1.16, fsBackup: kopia }
workloads: [ledger]
backup: { schedule: \"*/5 * * * *\" }
fault: { kind: pvc-corruption, target: ledger, after: 12m }
targets: { rto: 1h, rpo: 15m }
";

fn parse_text(text: &str) -> Result<Scenario, Error> {
    parse(Path::new("fixtures/scenarios/x.yaml"), text)
}

/// The error for VALID with one line replaced (matched by its key).
fn error_with(line_start: &str, replacement: &str) -> String {
    let text: String = VALID
        .lines()
        .map(|l| {
            if l.starts_with(line_start) {
                replacement.to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    match parse_text(&text) {
        Ok(_) => panic!("{replacement:?} should be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_design_example_parses_with_defaults_filled_in() {
    let s = parse_text(VALID).unwrap();
    assert_eq!(s.fault.kind, FaultKind::PvcCorruption);
    assert_eq!(s.fault.after, HumanDuration(Duration::from_secs(720)));
    assert_eq!(s.targets.rpo, HumanDuration(Duration::from_secs(900)));
    assert_eq!(s.store.bucket, "backstop");
    assert_eq!(s.backup.ttl, HumanDuration(Duration::from_secs(86_400)));
    assert_eq!(s.fault.corruption_bytes(), DEFAULT_CORRUPTION_BYTES);
}

#[test]
fn validation_errors_name_the_file_and_the_field() {
    let cases = [
        (
            "unknown key",
            "fault:",
            "fault: { kind: pvc-corruption, target: ledger, after: 12m, when: now }",
            "fixtures/scenarios/x.yaml: fault.when: ",
        ),
        (
            "bad duration",
            "fault:",
            "fault: { kind: pvc-corruption, target: ledger, after: 12x }",
            "fixtures/scenarios/x.yaml: fault.after: invalid duration \"12x\"",
        ),
        (
            "unknown fault kind",
            "fault:",
            "fault: { kind: disk-full, target: ledger, after: 12m }",
            "fixtures/scenarios/x.yaml: fault.kind: ",
        ),
        (
            "wrong type",
            "cluster:",
            "cluster: { provider: kind, workers: two, kubernetes: v1.33.1 }",
            "fixtures/scenarios/x.yaml: cluster.workers: ",
        ),
        (
            "target not a workload",
            "fault:",
            "fault: { kind: pvc-corruption, target: postgres, after: 12m }",
            "fixtures/scenarios/x.yaml: fault.target: \"postgres\" is not one of",
        ),
        (
            "minor-only kubernetes",
            "cluster:",
            "cluster: { provider: kind, workers: 2, kubernetes: v1.33 }",
            "fixtures/scenarios/x.yaml: cluster.kubernetes: \"v1.33\" is not a version like v1.33.1",
        ),
        (
            "unsupported velero",
            "velero:",
            "velero: { version: v1.9, fsBackup: kopia }",
            "fixtures/scenarios/x.yaml: velero.version: v1.9 is not supported",
        ),
        (
            "unknown fs-backup engine",
            "velero:",
            "velero: { version: v1.16, fsBackup: tar }",
            "fixtures/scenarios/x.yaml: velero.fsBackup: ",
        ),
        (
            "four-field cron",
            "backup:",
            "backup: { schedule: \"*/5 * * *\" }",
            "fixtures/scenarios/x.yaml: backup.schedule: invalid schedule \"*/5 * * *\": expected exactly 5 fields",
        ),
        (
            "zero target",
            "targets:",
            "targets: { rto: 0s, rpo: 15m }",
            "fixtures/scenarios/x.yaml: targets.rto: must be positive",
        ),
        (
            "bytes on the wrong fault",
            "fault:",
            "fault: { kind: namespace-loss, target: ledger, after: 12m, bytes: 10 }",
            "fixtures/scenarios/x.yaml: fault.bytes: only applies to pvc-corruption",
        ),
        (
            "mode on the wrong fault",
            "fault:",
            "fault: { kind: node-loss, target: ledger, after: 12m, mode: corrupt-repository }",
            "fixtures/scenarios/x.yaml: fault.mode: only applies to storage-loss",
        ),
        (
            "bad name",
            "name:",
            "name: PVC_Corruption",
            "fixtures/scenarios/x.yaml: name: \"PVC_Corruption\" must be",
        ),
        (
            "workload listed twice",
            "workloads:",
            "workloads: [ledger, ledger]",
            "fixtures/scenarios/x.yaml: workloads[1]: \"ledger\" is listed twice",
        ),
    ];
    for (what, key, replacement, expected) in cases {
        let message = error_with(key, replacement);
        assert!(
            message.starts_with(expected),
            "{what}: got {message:?}, expected it to start with {expected:?}"
        );
    }
}

#[test]
fn a_missing_section_is_named() {
    let text: String = VALID
        .lines()
        .filter(|l| !l.starts_with("targets:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let message = parse_text(&text).unwrap_err().to_string();
    assert!(message.contains("targets"), "{message}");
    assert!(
        message.starts_with("fixtures/scenarios/x.yaml: "),
        "{message}"
    );
}

#[test]
fn a_yaml_syntax_error_says_where() {
    let message = parse_text("name: [unclosed\n").unwrap_err().to_string();
    assert!(
        message.starts_with("fixtures/scenarios/x.yaml: "),
        "{message}"
    );
    assert!(message.contains("line "), "{message}");
}

#[test]
fn node_loss_needs_a_second_worker() {
    let one_worker = VALID
        .replace("workers: 2", "workers: 1")
        .replace("kind: pvc-corruption", "kind: node-loss");
    let message = parse_text(&one_worker).unwrap_err().to_string();
    assert!(
        message.starts_with("fixtures/scenarios/x.yaml: cluster.workers: node-loss needs"),
        "{message}"
    );
}

#[test]
fn a_missing_file_is_bad_input_naming_the_path() {
    let err = load(Path::new("/nonexistent/scenario.yaml")).unwrap_err();
    assert_eq!(err.exit_code(), crate::error::EXIT_BAD_INPUT);
    assert!(err.to_string().starts_with("/nonexistent/scenario.yaml: "));
}

#[test]
fn versions_parse_with_and_without_patch() {
    assert_eq!(parse_version("v1.16"), Some((1, 16, None)));
    assert_eq!(parse_version("v1.33.1"), Some((1, 33, Some(1))));
    for bad in ["1.16", "v1", "v1.16.", "v1.x", "v1.2.3.4", "v1.+2"] {
        assert_eq!(parse_version(bad), None, "{bad}");
    }
}

#[test]
fn schedules_accept_descriptors_and_time_zones() {
    for ok in [
        "@hourly",
        "@every 5m",
        "CRON_TZ=Europe/Paris 0 2 * * *",
        "0 3 * * 0",
    ] {
        assert_eq!(check_schedule(ok), Ok(()), "{ok}");
    }
    // Velero rounds `@every 0s` up to one second, so it is valid (if unwise).
    assert_eq!(check_schedule("@every 0s"), Ok(()));
    for bad in [
        "@often",
        "@every",
        "* * * * * *",
        "",
        "0 0 30 2 *",
        "0 0 * * 7",
    ] {
        assert!(check_schedule(bad).is_err(), "{bad}");
    }
}

/// VALID on an existing cluster, with the `velero:` line replaced.
fn existing_with_velero(velero: &str) -> Result<Scenario, Error> {
    let text = VALID
        .replace("provider: kind", "provider: existing")
        .replace("velero: { version: v1.16, fsBackup: kopia }", velero);
    parse_text(&text)
}

#[test]
fn an_existing_cluster_may_name_the_backup_storage_location_already_there() {
    let s = existing_with_velero(
        "velero: { version: v1.16, fsBackup: kopia, install: false, backupStorageLocation: primary }",
    )
    .unwrap();
    assert_eq!(s.cluster.provider, Provider::Existing);
    assert!(!s.velero.install);
    assert_eq!(s.velero.backup_storage_location(), "primary");
}

#[test]
fn an_existing_cluster_is_not_given_a_velero_install() {
    let text = existing_with_velero("velero: { version: v1.16, fsBackup: kopia }")
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("velero.install: an existing cluster uses the Velero already installed"),
        "{text}"
    );
}

#[test]
fn velero_is_installed_by_default_with_the_location_velero_install_creates() {
    let s = parse_text(VALID).unwrap();
    assert!(s.velero.install);
    assert_eq!(s.velero.backup_storage_location(), "default");
    assert_eq!(s.store.image(), DEFAULT_MINIO_IMAGE);
}

#[test]
fn not_installing_velero_needs_an_existing_cluster_and_a_location() {
    let on_kind = error_with(
        "velero:",
        "velero: { version: v1.16, fsBackup: kopia, install: false, backupStorageLocation: x }",
    );
    assert!(
        on_kind.contains("velero.install: false only applies to an existing cluster"),
        "{on_kind}"
    );
    let unnamed =
        existing_with_velero("velero: { version: v1.16, fsBackup: kopia, install: false }")
            .unwrap_err()
            .to_string();
    assert!(
        unnamed.contains("velero.backupStorageLocation: name the BackupStorageLocation"),
        "{unnamed}"
    );
    let needless = error_with(
        "velero:",
        "velero: { version: v1.16, fsBackup: kopia, backupStorageLocation: x }",
    );
    assert!(
        needless.contains("only applies with install: false"),
        "{needless}"
    );
}

#[test]
fn restic_is_refused_from_velero_v1_17_which_removed_it() {
    // Velero v1.17 release notes (changelogs/CHANGELOG-1.17.md, "Deprecation of Restic"; PR
    // #9069): `--uploader-type=restic` is no longer a valid installation configuration.
    let text = error_with("velero:", "velero: { version: v1.17.1, fsBackup: restic }");
    assert!(
        text.contains("velero.fsBackup: restic cannot back up on Velero v1.17.1"),
        "{text}"
    );
    let s = parse_text(&VALID.replace(
        "velero: { version: v1.16, fsBackup: kopia }",
        "velero: { version: v1.16, fsBackup: restic }",
    ))
    .unwrap();
    assert_eq!(s.velero.fs_backup, FsBackup::Restic);
}

#[test]
fn the_minio_image_may_be_chosen_but_must_be_a_reference() {
    let s = parse_text(&VALID.replace(
        "store: { kind: minio }",
        "store: { kind: minio, image: \"minio/minio:RELEASE.2025-09-07T16-13-09Z\" }",
    ))
    .unwrap();
    assert_eq!(s.store.image(), "minio/minio:RELEASE.2025-09-07T16-13-09Z");
    let text = error_with("store:", "store: { kind: minio, image: \"a b\" }");
    assert!(
        text.contains("store.image: \"a b\" is not an image reference"),
        "{text}"
    );
}

#[test]
fn node_loss_and_cluster_loss_never_strike_a_cluster_the_harness_did_not_create() {
    for (kind, words) in [
        ("node-loss", "stops a kind node's container"),
        ("cluster-loss", "deletes the whole cluster"),
    ] {
        let text = VALID
            .replace("provider: kind", "provider: existing")
            .replace(
                "velero: { version: v1.16, fsBackup: kopia }",
                "velero: { version: v1.16, fsBackup: kopia, install: false, backupStorageLocation: primary }",
            )
            .replace("kind: pvc-corruption", &format!("kind: {kind}"));
        let message = parse_text(&text).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!(
                "fixtures/scenarios/x.yaml: fault.kind: {kind} {words}"
            )),
            "{message}"
        );
        assert!(message.contains("needs provider: kind"), "{message}");
        let on_kind = VALID.replace("kind: pvc-corruption", &format!("kind: {kind}"));
        assert!(parse_text(&on_kind).is_ok(), "{kind} on kind");
    }
}

#[test]
fn storage_loss_never_touches_a_backup_store_that_was_there_before() {
    let text = VALID
        .replace("provider: kind", "provider: existing")
        .replace(
            "velero: { version: v1.16, fsBackup: kopia }",
            "velero: { version: v1.16, fsBackup: kopia, install: false, backupStorageLocation: primary }",
        )
        .replace("kind: pvc-corruption", "kind: storage-loss");
    let message = parse_text(&text).unwrap_err().to_string();
    assert!(
        message
            .contains("fault.kind: storage-loss deletes or overwrites objects in the backup store"),
        "{message}"
    );
}
