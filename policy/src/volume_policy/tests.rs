//! Reading and matching volume policies, following Velero's own tests in
//! `internal/resourcepolicies/resource_policies_test.go` (`TestLoadResourcePolicies`,
//! `TestGetResourceMatchedAction`, `TestGetResourcePoliciesFromConfig`) and
//! `volume_resources_test.go` (`TestParseCapacity`, `TestCapacityIsInRange`,
//! `TestStorageClassConditionMatch`, `TestNFSConditionMatch`, `TestCSIConditionMatch`).

use std::collections::BTreeMap;

use super::*;
use crate::objects::Meta;
use crate::quantity::Quantity;

const V1_14: VeleroVersion = VeleroVersion::new(1, 14);
const V1_16: VeleroVersion = VeleroVersion::new(1, 16);
const V1_18: VeleroVersion = VeleroVersion::new(1, 18);

fn config_map(data: &[(&str, &str)]) -> ConfigMapFacts {
    ConfigMapFacts {
        metadata: Meta::namespaced("velero", "volume-policy"),
        data: data
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect(),
    }
}

fn read(yaml: &str, version: VeleroVersion) -> Result<VolumePolicies, String> {
    VolumePolicies::from_config_map(&config_map(&[("policy.yaml", yaml)]), version)
}

fn gib(n: i128) -> Quantity {
    Quantity::parse(&format!("{n}Gi")).unwrap()
}

fn csi_volume<'a>(
    capacity: Quantity,
    class: &'a str,
    driver: &'a str,
    attributes: &'a BTreeMap<String, String>,
) -> VolumeFacts<'a> {
    VolumeFacts {
        volume: Some(VolumeSide {
            capacity,
            storage_class: class,
            nfs: None,
            csi: Some((driver, attributes)),
            volume_type: "csi",
        }),
        claim: None,
    }
}

/// `TestLoadResourcePolicies`: unknown keys, duplicated keys and wrong shapes are refused.
#[test]
fn unknown_duplicated_or_misshapen_conditions_fail_the_backup() {
    for (name, yaml) in [
        (
            "unknown key",
            "version: v1\nvolumePolicies:\n- conditions:\n    capacity: '0,100Gi'\n    unknown: {}\n  action:\n    type: skip\n",
        ),
        (
            "duplicated key",
            "version: v1\nvolumePolicies:\n- conditions:\n    capacity: '0,100Gi'\n    capacity: '0,100Gi'\n  action:\n    type: skip\n",
        ),
        (
            "storageClass not a list",
            "version: v1\nvolumePolicies:\n- conditions:\n    storageClass: gp2\n  action:\n    type: skip\n",
        ),
        (
            "csi not a mapping",
            "version: v1\nvolumePolicies:\n- conditions:\n    csi: gp2\n  action:\n    type: skip\n",
        ),
        (
            "nfs not a mapping",
            "version: v1\nvolumePolicies:\n- conditions:\n    csi: {}\n    nfs: abc\n  action:\n    type: skip\n",
        ),
        (
            "pvcLabels not a mapping",
            "version: v1\nvolumePolicies:\n- conditions:\n    pvcLabels: production\n  action:\n    type: skip\n",
        ),
    ] {
        assert!(read(yaml, V1_18).is_err(), "{name}");
    }
}

/// `TestLoadResourcePolicies`, the supported formats.
#[test]
fn supported_condition_formats_are_read() {
    let policies = read(
        "version: v1\nvolumePolicies:\n  - conditions:\n      capacity: '0,100Gi'\n      csi:\n        driver: aws.efs.csi.driver\n        volumeAttributes: {key1: value1}\n    action:\n      type: skip\n  - conditions:\n      pvcLabels: {environment: production, app: database}\n    action:\n      type: snapshot\n",
        V1_18,
    )
    .unwrap();
    assert_eq!(policies.volume_policies.len(), 2);
    assert_eq!(policies.origin, "velero/volume-policy");
    let first = &policies.volume_policies[0];
    assert_eq!(first.action, VolumeAction::Skip);
    assert_eq!(first.conditions.capacity.upper, gib(100));
    assert_eq!(
        first.conditions.csi.as_ref().map(|csi| csi.driver.as_str()),
        Some("aws.efs.csi.driver")
    );
    assert_eq!(policies.volume_policies[1].conditions.pvc_labels.len(), 2);
}

/// Keys a release does not know fail its strict decoding: `pvcLabels` and `csi.volumeAttributes`
/// from 1.16, `pvcPhase` from 1.18, `includeExcludePolicy` from 1.17, the `custom` action,
/// `pvcVolumeMode` and `pvcAccessModes` only after 1.18.
#[test]
fn conditions_hold_from_the_release_that_added_them() {
    let labels = "version: v1\nvolumePolicies:\n- conditions: {pvcLabels: {app: db}}\n  action: {type: skip}\n";
    assert!(read(labels, V1_14).is_err());
    assert!(read(labels, V1_16).is_ok());
    let phase = "version: v1\nvolumePolicies:\n- conditions: {pvcPhase: [Pending]}\n  action: {type: skip}\n";
    assert!(read(phase, V1_16).is_err());
    assert!(read(phase, V1_18).is_ok());
    let include_exclude =
        "version: v1\nincludeExcludePolicy: {excludedNamespaceScopedResources: [secrets]}\n";
    assert!(read(include_exclude, V1_16).is_err());
    assert!(read(include_exclude, VeleroVersion::new(1, 17)).is_ok());
    for next_only in [
        "version: v1\nvolumePolicies:\n- conditions: {pvcVolumeMode: Block}\n  action: {type: skip}\n",
        "version: v1\nvolumePolicies:\n- conditions: {}\n  action: {type: custom}\n",
    ] {
        assert!(read(next_only, V1_18).is_err(), "{next_only}");
        assert!(
            read(next_only, VeleroVersion::UNRELEASED).is_ok(),
            "{next_only}"
        );
    }
}

/// `Policies.Validate`: the data version must be `v1`, the action type known, the capacity range
/// ordered.
#[test]
fn validation_refuses_wrong_version_action_or_capacity() {
    let error = read("version: v2\nvolumePolicies: []\n", V1_18).unwrap_err();
    assert!(error.contains("incompatible version number v2"), "{error}");
    let error = read("volumePolicies: []\n", V1_18).unwrap_err();
    assert!(
        error.contains("incompatible version number  with"),
        "{error}"
    );
    let error = read(
        "version: v1\nvolumePolicies:\n- conditions: {}\n  action: {type: copy}\n",
        V1_18,
    )
    .unwrap_err();
    assert_eq!(error, "invalid action type copy");
    let error = read(
        "version: v1\nvolumePolicies:\n- conditions: {capacity: '20Gi,10Gi'}\n  action: {type: skip}\n",
        V1_18,
    )
    .unwrap_err();
    assert!(error.contains("illegal values for capacity"), "{error}");
}

/// `getResourcePoliciesFromConfig`: a ConfigMap must hold exactly one data key.
#[test]
fn config_map_must_hold_exactly_one_key() {
    let two = config_map(&[("a", "version: v1\n"), ("b", "version: v1\n")]);
    let error = VolumePolicies::from_config_map(&two, V1_18).unwrap_err();
    assert!(error.contains("illegal resource policies velero/volume-policy configmap"));
    assert!(VolumePolicies::from_config_map(&config_map(&[]), V1_18).is_err());
}

/// `TestParseCapacity`.
#[test]
fn capacity_bounds_parse_as_velero_parses_them() {
    let both = Capacity::parse("10Gi,20Gi").unwrap();
    assert_eq!((both.lower, both.upper), (gib(10), gib(20)));
    let lower_only = Capacity::parse("10Gi,").unwrap();
    assert_eq!(
        (lower_only.lower, lower_only.upper),
        (gib(10), Quantity::ZERO)
    );
    assert_eq!(
        Capacity::parse("10Gi").unwrap_err(),
        "wrong format of Capacity 10Gi"
    );
    assert_eq!(Capacity::parse("").unwrap(), Capacity::default());
}

/// `TestGetResourceMatchedAction`: the first policy whose conditions all match decides.
#[test]
fn first_matching_policy_decides() {
    let policies = read(
        "version: v1
volumePolicies:
- conditions: {capacity: '0,10Gi', storageClass: [gp2, ebs-sc], csi: {driver: aws.efs.csi.driver}}
  action: {type: skip}
- conditions: {csi: {driver: files.csi.driver, volumeAttributes: {protocol: nfs}}}
  action: {type: skip}
- conditions: {capacity: '10,100Gi', storageClass: [gp2, ebs-sc], csi: {driver: aws.efs.csi.driver}}
  action: {type: snapshot}
- conditions: {storageClass: [gp2, ebs-sc], csi: {driver: aws.efs.csi.driver}}
  action: {type: fs-backup}
- conditions: {pvcLabels: {environment: production}}
  action: {type: snapshot}
",
        V1_18,
    )
    .unwrap();
    let none = BTreeMap::new();
    let nfs: BTreeMap<String, String> = [("protocol".to_string(), "nfs".to_string())].into();
    let action = |facts: VolumeFacts<'_>| {
        policies
            .matching(&facts)
            .map(|matched| matched.action.as_str())
    };
    assert_eq!(
        action(csi_volume(gib(5), "ebs-sc", "aws.efs.csi.driver", &none)),
        Some("skip")
    );
    assert_eq!(
        action(csi_volume(gib(5), "afs-nfs", "files.csi.driver", &nfs)),
        Some("skip")
    );
    assert_eq!(
        action(csi_volume(gib(5), "afs-smb", "files.csi.driver", &none)),
        None
    );
    assert_eq!(
        action(csi_volume(gib(50), "ebs-sc", "aws.efs.csi.driver", &none)),
        Some("snapshot")
    );
    let production: BTreeMap<String, String> = [
        ("environment".to_string(), "production".to_string()),
        ("team".to_string(), "backend".to_string()),
    ]
    .into();
    let staging: BTreeMap<String, String> =
        [("environment".to_string(), "staging".to_string())].into();
    let with_labels = |labels| VolumeFacts {
        volume: csi_volume(gib(5), "some-class", "other.csi", &none).volume,
        claim: Some(ClaimSide {
            labels,
            phase: "Bound",
            volume_mode: "Filesystem",
            access_modes: &[],
        }),
    };
    assert_eq!(action(with_labels(&production)), Some("snapshot"));
    assert_eq!(action(with_labels(&staging)), None);
    // TestGetResourceMatchedAction, "nil condition always match the action".
    let catch_all = read(
        "version: v1\nvolumePolicies:\n- conditions: {}\n  action: {type: skip}\n",
        V1_18,
    )
    .unwrap();
    assert!(catch_all.matching(&with_labels(&staging)).is_some());
}

/// `TestCapacityIsInRange`.
#[test]
fn capacity_range_contains_as_velero_counts() {
    let range = |text: &str| Capacity::parse(text).unwrap();
    let inside = |text: &str, size| {
        let conditions = Conditions {
            capacity: range(text),
            ..Conditions::default()
        };
        let none = BTreeMap::new();
        conditions.matches(&csi_volume(size, "", "d", &none))
    };
    assert!(inside("0,10Gi", gib(5)));
    assert!(!inside("0,10Gi", gib(15)));
    assert!(inside("20Gi,", gib(25)));
    assert!(!inside("20Gi,", gib(15)));
    assert!(inside("10Gi,20Gi", gib(15)));
    assert!(!inside("10Gi,20Gi", gib(5)));
    assert!(!inside("10Gi,20Gi", gib(25)));
    assert!(inside("0,0", gib(5)));
}

/// `TestStorageClassConditionMatch`, `TestNFSConditionMatch`, `TestCSIConditionMatch`.
#[test]
fn storage_class_nfs_and_csi_conditions_match_as_velero_matches_them() {
    let none = BTreeMap::new();
    let classes = |list: &[&str]| Conditions {
        storage_classes: list.iter().map(|s| s.to_string()).collect(),
        ..Conditions::default()
    };
    assert!(classes(&["gp2", "ebs-sc"]).matches(&csi_volume(gib(0), "gp2", "d", &none)));
    assert!(!classes(&["gp2"]).matches(&csi_volume(gib(0), "ebs-sc", "d", &none)));
    assert!(classes(&[]).matches(&csi_volume(gib(0), "ebs-sc", "d", &none)));
    assert!(!classes(&["gp2"]).matches(&csi_volume(gib(0), "", "d", &none)));

    let nfs_volume = |server, path| VolumeFacts {
        volume: Some(VolumeSide {
            capacity: Quantity::ZERO,
            storage_class: "",
            nfs: Some((server, path)),
            csi: None,
            volume_type: "nfs",
        }),
        claim: None,
    };
    let nfs = |server: &str, path: &str| Conditions {
        nfs: Some(NfsCondition {
            server: server.to_string(),
            path: path.to_string(),
        }),
        ..Conditions::default()
    };
    assert!(nfs("192.168.10.20", "").matches(&nfs_volume("192.168.10.20", "")));
    assert!(nfs("", "").matches(&nfs_volume("192.168.10.20", "")));
    assert!(!nfs("192.168.10.20", "").matches(&nfs_volume("", "")));
    assert!(nfs("", "/mnt/data").matches(&nfs_volume("192.168.10.20", "/mnt/data")));
    assert!(!nfs("192.168.10.20", "").matches(&csi_volume(gib(0), "", "d", &none)));

    let csi = |driver: &str, attributes: &[(&str, &str)]| Conditions {
        csi: Some(CsiCondition {
            driver: driver.to_string(),
            volume_attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }),
        ..Conditions::default()
    };
    let nfs_attribute: BTreeMap<String, String> =
        [("protocol".to_string(), "nfs".to_string())].into();
    let blank_attribute: BTreeMap<String, String> =
        [("protocol".to_string(), String::new())].into();
    assert!(csi("test", &[]).matches(&csi_volume(gib(0), "", "test", &none)));
    assert!(!csi("test", &[]).matches(&csi_volume(gib(0), "", "", &none)));
    assert!(csi("", &[]).matches(&csi_volume(gib(0), "", "other", &none)));
    assert!(csi("test", &[("protocol", "nfs")]).matches(&csi_volume(
        gib(0),
        "",
        "test",
        &nfs_attribute
    )));
    assert!(csi("test", &[]).matches(&csi_volume(gib(0), "", "test", &nfs_attribute)));
    assert!(!csi("test", &[("protocol", "nfs")]).matches(&csi_volume(
        gib(0),
        "",
        "test",
        &blank_attribute
    )));
    assert!(!csi("test", &[("protocol", "nfs")]).matches(&csi_volume(gib(0), "", "test", &none)));
}

/// `csiCondition.validate` (1.16+): attributes without a driver are refused.
#[test]
fn csi_attributes_need_a_driver() {
    let error = read(
        "version: v1\nvolumePolicies:\n- conditions: {csi: {volumeAttributes: {a: b}}}\n  action: {type: skip}\n",
        V1_18,
    )
    .unwrap_err();
    assert!(error.contains("csi driver should not be empty"), "{error}");
}

/// After 1.18: `parameters.snapshotClass` names the class of a `snapshot` action only.
#[test]
fn snapshot_class_parameter_is_read_after_1_18() {
    let yaml = "version: v1\nvolumePolicies:\n- conditions: {}\n  action: {type: snapshot, parameters: {snapshotClass: gold}}\n";
    let policies = read(yaml, VeleroVersion::UNRELEASED).unwrap();
    assert_eq!(
        policies.volume_policies[0].action,
        VolumeAction::Snapshot {
            snapshot_class: Some("gold".to_string())
        }
    );
    // 1.18 does not read parameters: the snapshot uses the usual class choice.
    assert_eq!(
        read(yaml, V1_18).unwrap().volume_policies[0].action,
        VolumeAction::Snapshot {
            snapshot_class: None
        }
    );
    let misplaced = "version: v1\nvolumePolicies:\n- conditions: {}\n  action: {type: skip, parameters: {snapshotClass: gold}}\n";
    assert!(read(misplaced, VeleroVersion::UNRELEASED).is_err());
}
