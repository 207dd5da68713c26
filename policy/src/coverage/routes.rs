//! How each schedule's backups are expected to hold a claim's data, as coverage predicts it:
//! the question `crate::evidence` asks Velero's records to answer.

use crate::schedule::{CompiledSchedule, ScheduleState};

use super::CoverageIndex;
use super::rules::{self, DataPath, MountAssumption, Outcome};
use super::world::SnapshotPath;

/// Where a backup keeps a claim's data, per the coverage rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataRoute {
    /// File-system backup, or no route at all (coverage predicts a gap): Velero's record of the
    /// data is a PodVolumeBackup, and a volume it skipped has none.
    PodVolumeBackup,
    /// A native snapshot through a VolumeSnapshotLocation (counted in the Backup's status).
    NativeSnapshot,
    /// A CSI snapshot (counted in the Backup's status).
    CsiSnapshot,
}

impl CoverageIndex {
    /// Every active, firing schedule that backs up the claim `namespace/claim` (the object, if
    /// not its data), with how its backups should hold the data. Empty when the index does not
    /// know the claim.
    pub fn claim_routes(
        &self,
        namespace: &str,
        claim: &str,
    ) -> Vec<(&CompiledSchedule, DataRoute)> {
        let Some(pvc) = self
            .world
            .pvcs
            .get(namespace)
            .and_then(|pvcs| pvcs.iter().find(|pvc| pvc.metadata.name == claim))
        else {
            return Vec::new();
        };
        self.schedules
            .selecting(namespace)
            .into_iter()
            .filter(|schedule| {
                schedule.state() == ScheduleState::Active && schedule.worst_interval().is_some()
            })
            .filter_map(|schedule| {
                let route = match rules::pvc_outcome(
                    schedule,
                    pvc,
                    &self.world,
                    MountAssumption::AsObserved,
                ) {
                    Outcome::NotSelected => return None,
                    Outcome::Covers(DataPath::Snapshot(SnapshotPath::VolumeSnapshotLocation)) => {
                        DataRoute::NativeSnapshot
                    }
                    Outcome::Covers(DataPath::Snapshot(SnapshotPath::Csi)) => {
                        DataRoute::CsiSnapshot
                    }
                    Outcome::Covers(_) | Outcome::DataGap { .. } => DataRoute::PodVolumeBackup,
                };
                Some((schedule, route))
            })
            .collect()
    }
}
