//! The fuzz crate (`webhook/fuzz/`, not a workspace member) has its own `Cargo.lock`, and CI
//! type-checks it with `--locked`. When the webhook or the policy crate gains, loses or bumps a
//! dependency, the workspace's lockfile follows at once, the fuzz crate's only when someone
//! remembers: then CI's `--locked` check fails, or the targets fuzz other versions than the ones
//! shipped. These tests catch that in the normal suite, from the two lockfiles alone, and say
//! which `cargo update` puts it right.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// One `[[package]]` of a lockfile: name, version, and its `dependencies` entries by name.
#[derive(Debug, PartialEq)]
struct Locked {
    name: String,
    version: String,
    dependencies: BTreeSet<String>,
}

/// The packages of a `Cargo.lock` (version 3 or 4 format, as cargo writes it).
fn parse_lockfile(text: &str) -> Vec<Locked> {
    let mut packages = Vec::new();
    for block in text.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|line| {
                let value = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
                Some(value.trim().trim_matches('"').to_string())
            })
        };
        let dependencies = block
            .split_once("dependencies = [")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(list, _)| {
                list.split(',')
                    .map(|entry| entry.trim().trim_matches('"'))
                    .filter(|entry| !entry.is_empty())
                    // "name", "name 1.2.3" or "name 1.2.3 (registry+...)": the name.
                    .filter_map(|entry| entry.split_whitespace().next())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if let (Some(name), Some(version)) = (field("name"), field("version")) {
            packages.push(Locked {
                name,
                version,
                dependencies,
            });
        }
    }
    packages
}

/// The versions cargo treats as interchangeable: `1.2.3` → `1`, `0.4.5` → `0.4`, `0.0.3` →
/// `0.0.3`. A lockfile holds at most one version of a package per line.
fn semver_line(version: &str) -> String {
    let parts: Vec<&str> = version
        .split(['-', '+'])
        .next()
        .unwrap_or(version)
        .split('.')
        .collect();
    match parts.as_slice() {
        ["0", "0", patch, ..] => format!("0.0.{patch}"),
        ["0", minor, ..] => format!("0.{minor}"),
        [major, ..] => (*major).to_string(),
        [] => version.to_string(),
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn lockfile(relative: &str) -> Vec<Locked> {
    let path = repo().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{} cannot be read: {error}", path.display()));
    let packages = parse_lockfile(&text);
    assert!(
        packages.len() > 20,
        "{relative}: only {} packages parsed",
        packages.len()
    );
    packages
}

/// Where the fuzz crate's lockfile picks another version than the workspace's for a package
/// both use (same name, same semver line): one line each, with the command that fixes it.
fn version_drift(workspace: &[Locked], fuzz: &[Locked]) -> Vec<String> {
    let shipped: BTreeMap<(&str, String), &str> = workspace
        .iter()
        .map(|package| {
            (
                (package.name.as_str(), semver_line(&package.version)),
                package.version.as_str(),
            )
        })
        .collect();
    fuzz.iter()
        .filter_map(|package| {
            let line = semver_line(&package.version);
            let wanted = shipped.get(&(package.name.as_str(), line))?;
            (*wanted != package.version).then(|| {
                format!(
                    "{name} is {have} in webhook/fuzz/Cargo.lock but {wanted} in Cargo.lock: run \
                     `cargo update --manifest-path webhook/fuzz/Cargo.toml -p {name}@{have} --precise {wanted}`",
                    name = package.name,
                    have = package.version,
                )
            })
        })
        .collect()
}

/// Names of the normal and build dependencies a workspace package declares, from
/// `cargo metadata` (which reads the manifests only: no network, no build).
fn declared_dependencies(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(repo().join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let found = packages
        .iter()
        .find(|candidate| candidate["name"] == package)
        .unwrap_or_else(|| panic!("{package} is a workspace member"));
    found["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .filter(|dependency| dependency["kind"].as_str() != Some("dev"))
        .filter_map(|dependency| dependency["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn reads_names_versions_and_dependencies_from_a_lockfile() {
    let text = r#"
version = 4

[[package]]
name = "axum"
version = "0.8.4"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "base64 0.22.1",
 "serde",
 "tokio 1.47.0 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "backstop-policy"
version = "0.1.0"
"#;
    let packages = parse_lockfile(text);
    assert_eq!(packages.len(), 2);
    assert_eq!(
        (packages[0].name.as_str(), packages[0].version.as_str()),
        ("axum", "0.8.4")
    );
    assert_eq!(
        packages[0].dependencies,
        BTreeSet::from(["base64".into(), "serde".into(), "tokio".into()])
    );
    assert!(packages[1].dependencies.is_empty());
}

#[test]
fn tells_semver_compatible_versions_apart_from_incompatible_ones() {
    assert_eq!(semver_line("1.2.3"), "1");
    assert_eq!(semver_line("0.22.1"), "0.22");
    assert_eq!(semver_line("0.0.3"), "0.0.3");
    assert_eq!(semver_line("2.0.0-rc.1"), "2");
}

#[test]
fn reports_a_shared_package_locked_at_another_version() {
    let locked = |name: &str, version: &str| Locked {
        name: name.into(),
        version: version.into(),
        dependencies: BTreeSet::new(),
    };
    let workspace = [locked("serde", "1.0.228"), locked("base64", "0.22.1")];
    // base64 0.21 is another semver line than the workspace's 0.22: not a drift.
    let fuzz = [
        locked("serde", "1.0.219"),
        locked("base64", "0.21.7"),
        locked("arbitrary", "1.4.1"),
    ];
    assert_eq!(
        version_drift(&workspace, &fuzz),
        [
            "serde is 1.0.219 in webhook/fuzz/Cargo.lock but 1.0.228 in Cargo.lock: run \
          `cargo update --manifest-path webhook/fuzz/Cargo.toml -p serde@1.0.219 --precise 1.0.228`"
        ]
    );
}

#[test]
fn the_fuzz_lockfile_locks_the_workspaces_versions() {
    let drift = version_drift(
        &lockfile("Cargo.lock"),
        &lockfile("webhook/fuzz/Cargo.lock"),
    );
    assert!(
        drift.is_empty(),
        "the fuzz crate would build other versions than the webhook ships:\n{}",
        drift.join("\n")
    );
}

#[test]
fn the_fuzz_lockfile_has_the_dependencies_the_webhook_and_policy_declare() {
    let fuzz = lockfile("webhook/fuzz/Cargo.lock");
    let mut problems = Vec::new();
    for package in ["backstop-webhook", "backstop-policy"] {
        let declared = declared_dependencies(package);
        let locked = fuzz
            .iter()
            .find(|locked| locked.name == package)
            .map(|locked| locked.dependencies.clone())
            .unwrap_or_default();
        for missing in declared.difference(&locked) {
            problems.push(format!(
                "{package} depends on {missing}, which webhook/fuzz/Cargo.lock does not list"
            ));
        }
        for gone in locked.difference(&declared) {
            problems.push(format!("webhook/fuzz/Cargo.lock still lists {gone} under {package}, which no longer depends on it"));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\nrun `cargo update --manifest-path webhook/fuzz/Cargo.toml -p backstop-webhook -p backstop-policy` \
         (then the versions test says what to align), and commit webhook/fuzz/Cargo.lock",
        problems.join("\n")
    );
}
