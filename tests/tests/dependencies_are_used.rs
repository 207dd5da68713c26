//! Every dependency a workspace crate declares is used by its code, so unused ones cannot creep
//! back in (the check `cargo-machete` makes, without installing it in CI): a dependency counts as
//! used when a Rust file of the crate names it as a path (`name::`), in a `use`, or as a macro.
//! A dependency that is needed without being named (a feature switch, a linked-in allocator)
//! is listed under `[package.metadata.unused-dependencies] ignored = [...]` with a comment why.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn workspace_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "target") {
                rust_files(&path, files);
            }
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// Whether `code` names the crate `ident` (its Rust name: `-` written `_`).
fn names_crate(code: &str, ident: &str) -> bool {
    code.match_indices(ident).any(|(at, _)| {
        let before = code[..at].chars().last();
        let after = &code[at + ident.len()..];
        let starts_a_word = !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        starts_a_word
            && (after.starts_with("::")
                || after.starts_with('!')
                || after.starts_with(';')
                || after.starts_with(" as ")
                || after.starts_with(',')
                || after.starts_with('}'))
            && (after.starts_with("::")
                || after.starts_with('!')
                || code[..at].trim_end().ends_with("use")
                || code[..at].trim_end().ends_with("crate")
                || code[..at].trim_end().ends_with('{')
                || code[..at].trim_end().ends_with(','))
    })
}

#[test]
fn tells_a_used_crate_from_one_only_mentioned() {
    assert!(names_crate("use serde_json::Value;", "serde_json"));
    assert!(names_crate("let v = serde_json::json!({});", "serde_json"));
    assert!(names_crate("use tikv_jemallocator;", "tikv_jemallocator"));
    assert!(names_crate("    tracing::info!(\"x\");", "tracing"));
    assert!(names_crate("thiserror::Error", "thiserror"));
    assert!(!names_crate("// hex digits are printed", "hex"));
    assert!(!names_crate("let my_hex::x = 1;", "hex"));
    assert!(!names_crate("fn rand_walk() {}", "rand"));
}

#[test]
fn every_declared_dependency_is_used() {
    let metadata = workspace_metadata();
    let mut unused = Vec::new();
    let packages = metadata["packages"].as_array().expect("packages");
    assert!(packages.len() >= 4, "the workspace's crates are listed");
    for package in packages {
        let name = package["name"].as_str().unwrap_or_default();
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
        let root = manifest.parent().expect("a manifest has a folder");
        let mut files = Vec::new();
        for folder in ["src", "tests", "benches", "examples", "fuzz_targets"] {
            rust_files(&root.join(folder), &mut files);
        }
        if let Some(build) = package["build"].as_str() {
            files.push(PathBuf::from(build));
        }
        let code: Vec<String> = files
            .iter()
            .filter_map(|file| std::fs::read_to_string(file).ok())
            .collect();
        let ignored: Vec<&str> = package["metadata"]["unused-dependencies"]["ignored"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let declared = dependency["rename"]
                .as_str()
                .or(dependency["name"].as_str())
                .unwrap_or_default();
            if ignored.contains(&declared) {
                continue;
            }
            let ident = declared.replace('-', "_");
            if !code.iter().any(|text| names_crate(text, &ident)) {
                unused.push(format!(
                    "{name}: {declared} ({})",
                    dependency["kind"].as_str().unwrap_or("normal")
                ));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "declared but never used (remove them from Cargo.toml, or list them under \
         [package.metadata.unused-dependencies] ignored with the reason): {unused:#?}"
    );
}
