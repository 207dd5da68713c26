//! A large offline dataset: the platform fixtures plus 10,000 generated namespaces and 1,000
//! generated schedules (mostly naming their namespaces, some by glob), written as manifests.

use std::fmt::Write as _;
use std::path::Path;

pub const NAMESPACES: usize = 10_000;
pub const SCHEDULES: usize = 1_000;
/// Schedules that select namespaces by glob (tested against every namespace).
const GLOB_SCHEDULES: usize = 50;
/// Documents per file: the manifest reader refuses files of more than 1,024 documents.
const PER_FILE: usize = 1_000;

/// Writes `documents` as `<stem>-NN.yaml` files of at most [`PER_FILE`] documents each.
fn write_chunked(dir: &Path, stem: &str, documents: &[String]) {
    for (index, chunk) in documents.chunks(PER_FILE).enumerate() {
        std::fs::write(dir.join(format!("{stem}-{index:02}.yaml")), chunk.concat()).unwrap();
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Writes the dataset under `dir` (which must exist).
pub fn write(dir: &Path, platform: &Path) {
    copy_dir(platform, &dir.join("platform"));
    let mut namespaces = Vec::with_capacity(NAMESPACES);
    for n in 0..NAMESPACES {
        let mut document = String::new();
        // Every third namespace opts into protection through the policy's label selector.
        let protect = if n % 3 == 0 {
            "\n    backstop.io/protect: \"true\""
        } else {
            ""
        };
        write!(
            document,
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-{n:05}\n  labels:\n    kubernetes.io/metadata.name: team-{n:05}{protect}\n"
        )
        .unwrap();
        namespaces.push(document);
    }
    write_chunked(dir, "namespaces", &namespaces);

    let per_schedule = NAMESPACES / (SCHEDULES - GLOB_SCHEDULES);
    let mut schedules = Vec::with_capacity(SCHEDULES);
    for s in 0..SCHEDULES {
        let mut document = String::new();
        let included = if s < GLOB_SCHEDULES {
            format!("[\"team-{:03}*\"]", s % 100)
        } else {
            let first = (s - GLOB_SCHEDULES) * per_schedule;
            let names: Vec<String> = (first..first + per_schedule)
                .map(|n| format!("team-{n:05}"))
                .collect();
            format!("[{}]", names.join(", "))
        };
        let cron = ["0 */6 * * *", "0 2 * * *", "*/30 * * * *", "0 3 * * 0"][s % 4];
        write!(
            document,
            "---\napiVersion: velero.io/v1\nkind: Schedule\nmetadata:\n  name: generated-{s:04}\n  namespace: velero\nspec:\n  schedule: \"{cron}\"\n  template:\n    ttl: 720h0m0s\n    includedNamespaces: {included}\n    defaultVolumesToFsBackup: true\n"
        )
        .unwrap();
        schedules.push(document);
    }
    write_chunked(dir, "schedules", &schedules);
}
