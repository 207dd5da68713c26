use chrono::TimeZone;

use super::*;
use crate::error::EXIT_BAD_INPUT;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 14, 30, 5).unwrap()
}

fn scratch() -> Target {
    target("data-platform", None, false, true, now()).unwrap()
}

/// The Restore as YAML must equal `fixtures/chaos/drill/restores/<name>.yaml`, which
/// `ci/validate-manifests.sh` validates strictly against Velero's Restore CRD schema
/// (`ci/schemas/velero.io/restore_v1.json`, unknown fields are errors). Set
/// `BACKSTOP_UPDATE_FIXTURES=1` to rewrite the file instead.
fn assert_matches_validated_fixture(restore: &Restore, name: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/chaos/drill/restores")
        .join(format!("{name}.yaml"));
    let text = format!(
        "# Written by chaos/src/drill/restore/tests.rs; validated by ci/validate-manifests.sh.\n{}",
        manifest(restore)
    );
    if std::env::var_os("BACKSTOP_UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "{}",
        path.display()
    );
}

#[test]
fn the_default_restore_namespace_is_the_source_with_drill_and_the_utc_time() {
    assert_eq!(
        scratch().restore_namespace,
        "data-platform-drill-20261203-143005"
    );
    assert!(!scratch().in_place());
}

#[test]
fn the_restore_maps_the_source_namespace_to_the_scratch_one() {
    let r = restore(&scratch(), "daily-20261202020000", true);
    assert_eq!(r.spec.backup_name.as_deref(), Some("daily-20261202020000"));
    assert_eq!(
        r.spec.included_namespaces,
        Some(vec!["data-platform".to_owned()])
    );
    assert_eq!(
        r.spec.namespace_mapping,
        Some(BTreeMap::from([(
            "data-platform".to_owned(),
            "data-platform-drill-20261203-143005".to_owned()
        )]))
    );
    assert_eq!(r.spec.restore_p_vs, Some(true));
    assert_eq!(r.metadata.namespace.as_deref(), Some("velero"));
    assert_eq!(
        r.metadata.name.as_deref(),
        Some("drill-data-platform-drill-20261203-143005")
    );
    assert_matches_validated_fixture(&r, "mapped-with-pvs");
}

#[test]
fn without_restore_pvs_the_restore_says_so() {
    let r = restore(&scratch(), "daily-20261202020000", false);
    assert_eq!(r.spec.restore_p_vs, Some(false));
    assert_matches_validated_fixture(&r, "mapped-without-pvs");
}

#[test]
fn a_named_restore_namespace_is_used_as_given() {
    let t = target("data-platform", Some("dp-dr"), false, true, now()).unwrap();
    assert_eq!(t.restore_namespace, "dp-dr");
    assert_eq!(restore_name(&t), "drill-dp-dr");
}

#[test]
fn restoring_into_the_source_namespace_is_refused_without_in_place() {
    let e = target("data-platform", Some("data-platform"), false, false, now()).unwrap_err();
    assert_eq!(e.exit_code(), EXIT_BAD_INPUT);
    let text = e.to_string();
    assert!(text.contains("writes over its live objects"), "{text}");
    assert!(text.contains("--in-place"), "{text}");
}

#[test]
fn in_place_restores_into_the_source_without_a_mapping() {
    let t = target("data-platform", None, true, false, now()).unwrap();
    assert!(t.in_place());
    let r = restore(&t, "daily-20261202020000", true);
    assert_eq!(r.spec.namespace_mapping, None);
    assert_eq!(r.spec.existing_resource_policy.as_deref(), Some("none"));
    assert_matches_validated_fixture(&r, "in-place");
}

#[test]
fn in_place_with_another_namespace_is_a_contradiction() {
    let e = target("data-platform", Some("dp-dr"), true, false, now()).unwrap_err();
    assert_eq!(e.exit_code(), EXIT_BAD_INPUT);
    assert!(e.to_string().contains("--in-place"), "{e}");
}

#[test]
fn cleanup_of_an_in_place_drill_is_refused_it_would_delete_the_live_namespace() {
    let e = target("data-platform", None, true, true, now()).unwrap_err();
    assert_eq!(e.exit_code(), EXIT_BAD_INPUT);
    assert!(
        e.to_string().contains("live namespace data-platform"),
        "{e}"
    );
}

#[test]
fn a_default_namespace_too_long_for_kubernetes_asks_for_a_shorter_one() {
    let long = "a".repeat(50);
    let e = target(&long, None, false, false, now()).unwrap_err();
    assert_eq!(e.exit_code(), EXIT_BAD_INPUT);
    assert!(
        e.to_string()
            .contains("shorter one with --restore-namespace"),
        "{e}"
    );
}

#[test]
fn names_that_are_not_namespaces_are_refused() {
    for bad in ["", "Data", "-x", "x-", "a_b", "a.b"] {
        assert!(
            target(bad, None, false, false, now()).is_err(),
            "{bad:?} accepted"
        );
    }
}

#[test]
fn restore_names_fit_a_label_value() {
    let t = target("a", Some(&"b".repeat(63)), false, false, now()).unwrap();
    let name = restore_name(&t);
    assert!(name.len() <= 63, "{name}");
    assert!(name.starts_with("drill-b"), "{name}");
}

#[test]
fn velero_s_restore_results_become_messages_saying_where_they_apply() {
    // The shape the restore controller's putResults writes (results.Result per kind).
    let results: BTreeMap<String, VeleroResult> = serde_json::from_str(
        r#"{"errors": {"namespaces": {"dp-drill": ["error restoring pods/dp-drill/web-1: admission webhook denied"]}},
            "warnings": {"velero": ["resource list not found"], "cluster": ["could not restore, CustomResourceDefinition \"x\" already exists"],
                         "namespaces": {"dp-drill": ["could not restore, ConfigMap \"kube-root-ca.crt\" already exists"]}}}"#,
    )
    .unwrap();
    let m = messages(&results);
    assert_eq!(
        m.errors,
        ["dp-drill: error restoring pods/dp-drill/web-1: admission webhook denied"]
    );
    assert_eq!(
        m.warnings,
        [
            "Velero: resource list not found",
            "Cluster: could not restore, CustomResourceDefinition \"x\" already exists",
            "dp-drill: could not restore, ConfigMap \"kube-root-ca.crt\" already exists",
        ]
    );
    assert_eq!(messages(&BTreeMap::new()), Messages::default());
}
