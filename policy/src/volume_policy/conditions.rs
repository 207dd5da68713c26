//! A volume policy's conditions and what they match (`internal/resourcepolicies/
//! volume_resources.go`, `volume_types_conditions.go`): every condition of a policy must match.

use std::collections::BTreeMap;

use crate::quantity::Quantity;

/// A volume as Velero's `structuredVolume` sees it: what `parsePV` reads from the
/// PersistentVolume and what `parsePVC` reads from the claim, each present only when Velero
/// passes it (the VolumeSnapshotLocation path passes no claim; an unbound claim has no volume).
#[derive(Debug, Clone, Copy, Default)]
pub struct VolumeFacts<'a> {
    pub volume: Option<VolumeSide<'a>>,
    pub claim: Option<ClaimSide<'a>>,
}

/// `parsePV`: the PersistentVolume's capacity, class, NFS or CSI source and source type.
#[derive(Debug, Clone, Copy)]
pub struct VolumeSide<'a> {
    pub capacity: Quantity,
    /// `spec.storageClassName` of the PersistentVolume (not the claim's).
    pub storage_class: &'a str,
    /// `(server, path)` of an NFS source.
    pub nfs: Option<(&'a str, &'a str)>,
    /// `(driver, volumeAttributes)` of a CSI source.
    pub csi: Option<(&'a str, &'a BTreeMap<String, String>)>,
    /// The source's type as Velero names it (`csi`, `nfs`, `hostPath`, `local`, ...); empty
    /// when unknown.
    pub volume_type: &'a str,
}

/// `parsePVC`: the claim's labels, phase, volume mode and access modes.
#[derive(Debug, Clone, Copy)]
pub struct ClaimSide<'a> {
    pub labels: &'a BTreeMap<String, String>,
    pub phase: &'a str,
    pub volume_mode: &'a str,
    pub access_modes: &'a [String],
}

/// `capacity: "lower,upper"`, either bound empty (zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capacity {
    pub lower: Quantity,
    pub upper: Quantity,
}

impl Capacity {
    /// `parseCapacity`: `""` is `","`; otherwise exactly two comma-separated bounds, each empty
    /// (zero) or a quantity (blanks trimmed).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = if text.is_empty() { "," } else { text };
        let bounds: Vec<&str> = text.split(',').collect();
        let [lower, upper] = bounds.as_slice() else {
            return Err(format!("wrong format of Capacity {text}"));
        };
        let bound = |value: &str| {
            let value = value.trim();
            if value.is_empty() {
                Ok(Quantity::ZERO)
            } else {
                Quantity::parse(value).map_err(|_| format!("wrong format of Capacity {value}"))
            }
        };
        Ok(Self {
            lower: bound(lower)?,
            upper: bound(upper)?,
        })
    }

    /// `capacityCondition.validate`: `[0, a]`, `[a, b]` with a ≤ b, or `[b, 0]`.
    pub fn validate(&self) -> Result<(), String> {
        if self.upper >= self.lower || (!self.lower.is_zero() && self.upper.is_zero()) {
            Ok(())
        } else {
            Err(format!(
                "illegal values for capacity {},{}",
                self.lower, self.upper
            ))
        }
    }

    /// `capacity.isInRange`.
    fn contains(&self, size: Quantity) -> bool {
        (self.lower.is_zero() && self.upper >= size)
            || (self.upper.is_zero() && self.lower <= size)
            || (!self.lower.is_zero()
                && !self.upper.is_zero()
                && self.lower <= size
                && size <= self.upper)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NfsCondition {
    pub server: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsiCondition {
    pub driver: String,
    pub volume_attributes: BTreeMap<String, String>,
}

/// The conditions of one volume policy, as `BuildPolicy` assembles them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conditions {
    pub capacity: Capacity,
    pub storage_classes: Vec<String>,
    pub nfs: Option<NfsCondition>,
    pub csi: Option<CsiCondition>,
    pub volume_types: Vec<String>,
    pub pvc_labels: BTreeMap<String, String>,
    pub pvc_phases: Vec<String>,
    pub pvc_volume_mode: String,
    pub pvc_access_modes: Vec<String>,
}

impl Conditions {
    /// Every condition matches `facts` (`Policies.match`).
    pub fn matches(&self, facts: &VolumeFacts<'_>) -> bool {
        let volume = facts.volume;
        let capacity = volume.map_or(Quantity::ZERO, |volume| volume.capacity);
        let storage_class = volume.map_or("", |volume| volume.storage_class);
        let volume_type = volume.map_or("", |volume| volume.volume_type);
        self.capacity.contains(capacity)
            && (self.storage_classes.is_empty()
                || (!storage_class.is_empty()
                    && self
                        .storage_classes
                        .iter()
                        .any(|class| class == storage_class)))
            && self.nfs_matches(volume.and_then(|volume| volume.nfs))
            && self.csi_matches(volume.and_then(|volume| volume.csi))
            && (self.volume_types.is_empty()
                || self.volume_types.iter().any(|kind| kind == volume_type))
            && self.claim_matches(facts.claim)
    }

    /// `nfsCondition.match`: `nfs: {}` matches any NFS volume; a server or path given must equal.
    fn nfs_matches(&self, nfs: Option<(&str, &str)>) -> bool {
        let Some(condition) = &self.nfs else {
            return true;
        };
        let Some((server, path)) = nfs else {
            return false;
        };
        (condition.server.is_empty() || condition.server == server)
            && (condition.path.is_empty() || condition.path == path)
    }

    /// `csiCondition.match`: `csi: {}` matches any CSI volume; otherwise the driver must equal,
    /// and each attribute given must have the same value on the volume.
    fn csi_matches(&self, csi: Option<(&str, &BTreeMap<String, String>)>) -> bool {
        let Some(condition) = &self.csi else {
            return true;
        };
        if condition.driver.is_empty() {
            return csi.is_some();
        }
        let Some((driver, attributes)) = csi else {
            return false;
        };
        driver == condition.driver
            && condition
                .volume_attributes
                .iter()
                .all(|(key, value)| attributes.get(key).is_some_and(|found| found == value))
    }

    /// The claim conditions (`pvcLabelsCondition`, `pvcPhaseCondition`, `pvcVolumeModeCondition`,
    /// `pvcAccessModesCondition`), each only when set; without the claim none of them matches.
    fn claim_matches(&self, claim: Option<ClaimSide<'_>>) -> bool {
        let labels_ok = self.pvc_labels.is_empty()
            || claim.is_some_and(|claim| {
                !claim.labels.is_empty()
                    && self
                        .pvc_labels
                        .iter()
                        .all(|(key, value)| claim.labels.get(key) == Some(value))
            });
        let phase_ok = self.pvc_phases.is_empty()
            || claim.is_some_and(|claim| {
                !claim.phase.is_empty() && self.pvc_phases.iter().any(|phase| phase == claim.phase)
            });
        let mode_ok = self.pvc_volume_mode.is_empty()
            || claim.is_some_and(|claim| claim.volume_mode == self.pvc_volume_mode);
        let access_ok = self.pvc_access_modes.is_empty()
            || claim.is_some_and(|claim| {
                claim.access_modes.len() == self.pvc_access_modes.len()
                    && self
                        .pvc_access_modes
                        .iter()
                        .all(|mode| claim.access_modes.contains(mode))
                    && claim
                        .access_modes
                        .iter()
                        .all(|mode| self.pvc_access_modes.contains(mode))
            });
        labels_ok && phase_ok && mode_ok && access_ok
    }
}
