//! The pvc-corruption fault: where the bytes go (drawn from the seed, inside the records
//! written so far, with intact records after the damage so the verifier sees damage and
//! not a torn tail), and the Job that overwrites them at rest and then runs the verifier
//! on the damaged file. The writer is stopped first, so nothing rewrites the file meanwhile.

use crate::ledger::RECORD_LEN;
use crate::workload::NAMESPACE;

/// Name of the Job that corrupts the ledger.
pub const JOB_NAME: &str = "backstop-corrupt-ledger";
/// The container of that Job whose log is the verifier's JSON report.
pub const VERIFY_CONTAINER: &str = "verify";
/// Image of the container that overwrites the bytes (`dd`).
pub const DD_IMAGE: &str = "busybox:1.37.0";
/// The ledger's claim (StatefulSet `ledger`, volume claim template `data`).
pub const LEDGER_CLAIM: &str = "data-ledger-0";

/// splitmix64: one well-mixed 64-bit value per seed.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The byte offset to overwrite `bytes` bytes at, for a ledger holding at least `records`
/// acknowledged records: the damage ends at least one whole record before the end of those
/// records. `None` when there are too few records for that.
pub fn offset(seed: u64, records: u64, bytes: u64) -> Option<u64> {
    let record = RECORD_LEN as u64;
    let span = records.checked_mul(record)?;
    // Room for the damage plus one intact record after it.
    let room = span.checked_sub(bytes.checked_add(record)?)?;
    Some(mix(seed) % (room + 1))
}

/// The Job: `dd` in an init container overwrites the bytes in place (`conv=notrunc`, so the
/// file keeps its length), then the ledger image's verifier reports on the damaged file as
/// JSON (it exits 1 on a broken chain, so the Job ends Failed; the harness reads the log).
pub fn job(offset: &str, bytes: u64, ledger_image: &str, run_id: &str) -> String {
    let image = serde_json::Value::String(ledger_image.to_owned());
    let run_label = crate::kube::namespace::RUN_LABEL;
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: {JOB_NAME}
  namespace: {NAMESPACE}
  labels:
    app.kubernetes.io/part-of: backstop-chaos
    {run_label}: {run_id}
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        app.kubernetes.io/part-of: backstop-chaos
        app.kubernetes.io/name: corrupt-ledger
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        fsGroup: 65532
        seccompProfile:
          type: RuntimeDefault
      initContainers:
        - name: corrupt
          image: {DD_IMAGE}
          command:
            - dd
            - if=/dev/zero
            - of=/data/ledger.log
            - bs=1
            - count={bytes}
            - \"seek={offset}\"
            - conv=notrunc,fsync
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
          volumeMounts:
            - name: data
              mountPath: /data
      containers:
        - name: {VERIFY_CONTAINER}
          image: {image}
          imagePullPolicy: IfNotPresent
          args: [ledger, verify, /data/ledger.log, --output, json]
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
          volumeMounts:
            - name: data
              mountPath: /data
              readOnly: true
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: {LEDGER_CLAIM}
"
    )
}

/// [`job`] as the object the run creates.
pub fn job_object(
    offset: u64,
    bytes: u64,
    ledger_image: &str,
    run_id: &str,
) -> Result<k8s_openapi::api::batch::v1::Job, crate::error::Error> {
    serde_saphyr::from_str(&job(&offset.to_string(), bytes, ledger_image, run_id)).map_err(|e| {
        crate::error::Error::InvalidArgument {
            argument: "corruption Job manifest".into(),
            message: e.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_is_fixed_by_the_seed() {
        assert_eq!(offset(7, 1000, 4096), offset(7, 1000, 4096));
        assert_ne!(offset(7, 1000, 4096), offset(8, 1000, 4096));
    }

    #[test]
    fn the_damage_ends_at_least_one_record_before_the_acknowledged_end() {
        for seed in 0..2000 {
            let at = offset(seed, 60, 4096).unwrap();
            assert!(
                at + 4096 + RECORD_LEN as u64 <= 60 * RECORD_LEN as u64,
                "seed {seed}: {at}"
            );
        }
    }

    #[test]
    fn too_few_records_leave_no_room_for_the_damage() {
        assert_eq!(offset(1, 49, 4096), None);
        assert!(offset(1, 50, 4096).is_some());
    }

    #[test]
    fn the_job_overwrites_in_place_then_verifies_read_only() {
        let job = job("1234", 4096, "backstop-chaos:dev", "backstop-x-0000002a");
        assert!(job.contains("- count=4096\n"));
        assert!(job.contains("- \"seek=1234\"\n"));
        assert!(job.contains("conv=notrunc,fsync"));
        assert!(job.contains("claimName: data-ledger-0"));
        assert!(job.contains("readOnly: true"));
    }
}
