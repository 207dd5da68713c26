//! Which VolumeSnapshotClass Velero uses for a claim's CSI snapshot (`pkg/util/csi/
//! volume_snapshot.go`, `GetVolumeSnapshotClass`), in its order:
//!
//! 1. the claim's `velero.io/csi-volumesnapshot-class` annotation naming a class of its driver;
//! 2. after 1.18, the `snapshotClass` parameter of the volume policy that chose `snapshot`;
//! 3. the Backup's `velero.io/csi-volumesnapshot-class_<driver>` annotation;
//! 4. a class of the driver carrying the `velero.io/csi-volumesnapshot-class` label (any value);
//! 5. from 1.17, a class of the driver carrying the Kubernetes default-class annotation;
//! 6. the only class of the driver.
//!
//! A name that finds no class of the driver is passed over (Velero logs it at debug level and
//! goes on); with no class at all the CSI action fails and the claim is not snapshotted.

use crate::velero::keys::CSI_SNAPSHOT_CLASS;
use crate::versions::{VeleroVersion, VersionedRule};

use super::storage::SnapshotClass;

/// How the class was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClassSource {
    ClaimAnnotation,
    VolumePolicy,
    BackupAnnotation,
    VeleroLabel,
    KubernetesDefault,
    OnlyClassOfDriver,
}

/// No class fits the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoClass {
    pub driver: String,
    /// Classes of the driver (none labelled or, from 1.17, annotated default; more than one).
    pub of_driver: usize,
    /// A name the claim, the volume policy or the Backup gave that matched no class of the driver.
    pub passed_over: Vec<String>,
}

/// The inputs of the choice besides the classes.
pub(crate) struct Request<'a> {
    /// The StorageClass's provisioner (Velero matches it against each class's `driver`).
    pub provisioner: &'a str,
    pub claim_annotation: Option<&'a str>,
    pub policy_class: Option<&'a str>,
    /// The Backup's per-driver annotations (driver as written after the `_` → class).
    pub backup_annotations: &'a std::collections::BTreeMap<String, String>,
    pub version: VeleroVersion,
}

pub(crate) fn choose<'c>(
    classes: &'c [SnapshotClass],
    request: &Request<'_>,
) -> Result<(&'c SnapshotClass, ClassSource), NoClass> {
    let provisioner = request.provisioner;
    let mut passed_over = Vec::new();
    // Steps 1 to 3: a class named by name (case-insensitive), whose driver must equal the
    // provisioner (case-insensitive too).
    let named = |name: &str| {
        classes.iter().find(|class| {
            class.name.eq_ignore_ascii_case(name) && class.driver.eq_ignore_ascii_case(provisioner)
        })
    };
    let backup_annotation = request
        .backup_annotations
        .get(&provisioner.to_lowercase())
        .map(String::as_str);
    for (name, source) in [
        (request.claim_annotation, ClassSource::ClaimAnnotation),
        (request.policy_class, ClassSource::VolumePolicy),
        (backup_annotation, ClassSource::BackupAnnotation),
    ] {
        let Some(name) = name else { continue };
        match named(name) {
            Some(class) => return Ok((class, source)),
            None => passed_over.push(name.to_string()),
        }
    }
    let of_driver = || classes.iter().filter(|class| class.driver == provisioner);
    if let Some(class) = of_driver().find(|class| class.labelled) {
        return Ok((class, ClassSource::VeleroLabel));
    }
    if request
        .version
        .has(VersionedRule::DefaultSnapshotClassFallback)
        && let Some(class) = of_driver().find(|class| class.default)
    {
        return Ok((class, ClassSource::KubernetesDefault));
    }
    let mut candidates = of_driver();
    match (candidates.next(), candidates.next()) {
        (Some(only), None) => Ok((only, ClassSource::OnlyClassOfDriver)),
        _ => Err(NoClass {
            driver: provisioner.to_string(),
            of_driver: of_driver().count(),
            passed_over,
        }),
    }
}

impl NoClass {
    /// The sentence a gap message uses: what is missing and how to fix it.
    pub fn describe(&self, version: VeleroVersion) -> String {
        let passed = if self.passed_over.is_empty() {
            String::new()
        } else {
            format!(
                " (the name{} {} given for it match{} no class of that driver)",
                if self.passed_over.len() == 1 { "" } else { "s" },
                self.passed_over
                    .iter()
                    .map(|name| format!("{name:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if self.passed_over.len() == 1 {
                    "es"
                } else {
                    ""
                },
            )
        };
        let default_note = if version.has(VersionedRule::DefaultSnapshotClassFallback) {
            " or the snapshot.storage.kubernetes.io/is-default-class annotation".to_string()
        } else {
            format!(
                " (Velero {version} does not fall back to the Kubernetes default class; {} does)",
                VersionedRule::DefaultSnapshotClassFallback.since()
            )
        };
        match self.of_driver {
            0 => format!(
                "no VolumeSnapshotClass exists for its CSI driver {}{passed}; create one for that driver",
                self.driver
            ),
            count => format!(
                "{count} VolumeSnapshotClasses exist for its CSI driver {} and none carries the {CSI_SNAPSHOT_CLASS} label{default_note}{passed}, so Velero cannot choose one; label the one to use",
                self.driver
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn class(name: &str, driver: &str, labelled: bool, default: bool) -> SnapshotClass {
        SnapshotClass {
            name: name.to_string(),
            driver: driver.to_string(),
            labelled,
            default,
        }
    }

    fn request<'a>(
        annotations: &'a BTreeMap<String, String>,
        claim: Option<&'a str>,
        version: VeleroVersion,
    ) -> Request<'a> {
        // Every case below is about one driver.
        Request {
            provisioner: "hostpath.csi.k8s.io",
            claim_annotation: claim,
            policy_class: None,
            backup_annotations: annotations,
            version,
        }
    }

    const V1_16: VeleroVersion = VeleroVersion::new(1, 16);
    const V1_17: VeleroVersion = VeleroVersion::new(1, 17);

    /// `pkg/util/csi/volume_snapshot_test.go`, `TestGetVolumeSnapshotClass`: the same classes,
    /// claims, Backups and expectations, case by case.
    #[test]
    fn follows_velero_get_volume_snapshot_class_cases() {
        let classes = [
            class("bar", "bar.csi.k8s.io", true, false),
            class("bar2", "bar.csi.k8s.io", true, false),
            class("foo", "foo.csi.k8s.io", true, false),
            class("foowithoutlabel", "foo.csi.k8s.io", false, false),
            class("hostpath", "hostpath.csi.k8s.io", true, false),
        ];
        let backup = |driver: &str, class: &str| -> BTreeMap<String, String> {
            [(driver.to_string(), class.to_string())].into()
        };
        let backup_none = BTreeMap::new();
        let backup_foo = backup("foo.csi.k8s.io", "foowithoutlabel");
        let backup_foo2 = backup("foo.csi.k8s.io", "foo2");
        let backup_bar2 = backup("bar.csi.k8s.io", "bar2");
        // (case, driver, claim annotation, Backup annotations, expected class)
        type Case<'a> = (
            &'a str,
            &'a str,
            Option<&'a str>,
            &'a BTreeMap<String, String>,
            Option<&'a str>,
        );
        let cases: [Case<'_>; 8] = [
            (
                "no annotations: the labelled class",
                "hostpath.csi.k8s.io",
                None,
                &backup_none,
                Some("hostpath"),
            ),
            (
                "claim annotation",
                "foo.csi.k8s.io",
                Some("foowithoutlabel"),
                &backup_none,
                Some("foowithoutlabel"),
            ),
            (
                "claim annotation of another driver: labels",
                "bar.csi.k8s.io",
                Some("foowithoutlabel"),
                &backup_none,
                Some("bar"),
            ),
            (
                "claim annotation of another driver: Backup annotation",
                "bar.csi.k8s.io",
                Some("foowithoutlabel"),
                &backup_bar2,
                Some("bar2"),
            ),
            (
                "Backup annotation",
                "foo.csi.k8s.io",
                None,
                &backup_foo,
                Some("foowithoutlabel"),
            ),
            (
                "Backup annotation for another driver: labels",
                "bar.csi.k8s.io",
                None,
                &backup_foo,
                Some("bar"),
            ),
            (
                "no class for the driver",
                "blah.csi.k8s.io",
                None,
                &backup_none,
                None,
            ),
            (
                "names that exist nowhere: labels",
                "foo.csi.k8s.io",
                Some("foo2"),
                &backup_foo2,
                Some("foo"),
            ),
        ];
        for (name, driver, claim, annotations, expected) in cases {
            let request = Request {
                provisioner: driver,
                claim_annotation: claim,
                policy_class: None,
                backup_annotations: annotations,
                version: V1_16,
            };
            let chosen = choose(&classes, &request)
                .ok()
                .map(|(class, _)| class.name.as_str());
            assert_eq!(chosen, expected, "{name}");
        }
    }

    /// `GetVolumeSnapshotClassForStorageClass`: the label's presence counts, whatever its value.
    #[test]
    fn label_counts_by_its_presence() {
        let classes = [
            class("a", "hostpath.csi.k8s.io", false, false),
            class("b", "hostpath.csi.k8s.io", true, false),
        ];
        let none = BTreeMap::new();
        let (chosen, _) = choose(&classes, &request(&none, None, V1_16)).unwrap();
        assert_eq!(chosen.name, "b");
    }

    /// From 1.17 the Kubernetes default class of the driver is the fallback; before, two
    /// unlabelled classes leave Velero without a class.
    #[test]
    fn default_class_fallback_holds_from_1_17() {
        let classes = [
            class("a", "hostpath.csi.k8s.io", false, false),
            class("b", "hostpath.csi.k8s.io", false, true),
        ];
        let none = BTreeMap::new();
        let miss = choose(&classes, &request(&none, None, V1_16)).unwrap_err();
        assert_eq!(miss.of_driver, 2);
        assert!(
            miss.describe(V1_16).contains("does not fall back"),
            "{}",
            miss.describe(V1_16)
        );
        let (chosen, source) = choose(&classes, &request(&none, None, V1_17)).unwrap();
        assert_eq!(
            (chosen.name.as_str(), source),
            ("b", ClassSource::KubernetesDefault)
        );
    }

    /// The only class of the driver is used without label or annotation.
    #[test]
    fn only_class_of_the_driver_is_used() {
        let classes = [
            class("only", "hostpath.csi.k8s.io", false, false),
            class("other", "other.csi.k8s.io", true, false),
        ];
        let none = BTreeMap::new();
        assert_eq!(
            choose(&classes, &request(&none, None, V1_16))
                .map(|(class, source)| (class.name.as_str(), source)),
            Ok(("only", ClassSource::OnlyClassOfDriver))
        );
        let miss = choose(&classes[1..], &request(&none, Some("missing"), V1_16)).unwrap_err();
        assert_eq!(miss.of_driver, 0);
        assert_eq!(miss.passed_over, ["missing"]);
    }
}
