//! Reading the policy file and manifests (folders, files, a stream on standard input, rendered
//! kustomizations) into the `policy` crate's types.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use policy::{Inventory, Policy};

use crate::WebhookError;

/// The name standard input goes by in reports (`--manifests -`).
pub const STDIN: &str = "<stdin>";
/// How a rendered kustomization is named in reports: `kustomize DIR`.
pub const KUSTOMIZE_PREFIX: &str = "kustomize ";

pub fn load_policy(path: &Path) -> Result<Policy, WebhookError> {
    let text = std::fs::read_to_string(path).map_err(|error| WebhookError::io(path, error))?;
    Ok(Policy::from_yaml(&text, &path.display().to_string())?)
}

/// Everything manifests can be read from, in the order they are read (which decides which of
/// two definitions of one object counts: the later).
#[derive(Debug, Clone, Default)]
pub struct ManifestSources<'a> {
    /// Folders (walked recursively), files, or `-` for standard input.
    pub paths: &'a [PathBuf],
    /// Kustomization directories, rendered with `kubectl kustomize`.
    pub kustomizations: &'a [PathBuf],
    /// The kubectl that renders them (default: `kubectl` on `PATH`).
    pub kubectl: Option<&'a Path>,
}

/// Every `.yaml`/`.yml`/`.json` file under `roots` (files are taken as they are, folders are
/// walked recursively), in sorted order so reports are stable. `-` stays `-`: standard input.
pub fn manifest_files(roots: &[PathBuf]) -> Result<Vec<PathBuf>, WebhookError> {
    let mut files = Vec::new();
    for root in roots {
        if is_stdin(root) {
            files.push(root.clone());
            continue;
        }
        let metadata = std::fs::metadata(root).map_err(|error| WebhookError::io(root, error))?;
        if metadata.is_file() {
            files.push(root.clone());
        } else {
            walk(root, &mut files)?;
        }
    }
    Ok(files)
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == OsStr::new("-")
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), WebhookError> {
    let mut entries = std::fs::read_dir(dir)
        .map_err(|error| WebhookError::io(dir, error))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| WebhookError::io(dir, error))?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, files)?;
        } else if matches!(
            path.extension().and_then(|extension| extension.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            files.push(path);
        }
    }
    Ok(())
}

/// Reads every manifest under `roots` (`-`: standard input) into a finished inventory: objects
/// defined twice counted once, workload controllers turned into their pods and claims.
pub fn load_inventory(roots: &[PathBuf]) -> Result<Inventory, WebhookError> {
    load_sources(&ManifestSources {
        paths: roots,
        ..ManifestSources::default()
    })
}

/// [`load_inventory`] over files, standard input and rendered kustomizations.
pub fn load_sources(sources: &ManifestSources<'_>) -> Result<Inventory, WebhookError> {
    let mut inventory = Inventory::default();
    let mut stdin_read = false;
    for file in manifest_files(sources.paths)? {
        if is_stdin(&file) {
            if std::mem::replace(&mut stdin_read, true) {
                return Err(WebhookError::Usage(
                    "--manifests - (standard input) can be given only once".to_string(),
                ));
            }
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|error| WebhookError::io(STDIN, error))?;
            inventory.add_yaml(&text, STDIN)?;
            continue;
        }
        let text =
            std::fs::read_to_string(&file).map_err(|error| WebhookError::io(&file, error))?;
        inventory.add_yaml(&text, &file.display().to_string())?;
    }
    for directory in sources.kustomizations {
        let rendered = kustomize(sources.kubectl, directory)?;
        inventory.add_yaml(
            &rendered,
            &format!("{KUSTOMIZE_PREFIX}{}", directory.display()),
        )?;
    }
    inventory.finish();
    Ok(inventory)
}

/// `kubectl kustomize DIR`: the kustomization as `kubectl apply -k` would apply it.
fn kustomize(kubectl: Option<&Path>, directory: &Path) -> Result<String, WebhookError> {
    let kubectl = kubectl.unwrap_or(Path::new("kubectl"));
    let command = format!("{} kustomize {}", kubectl.display(), directory.display());
    if !directory.is_dir() {
        return Err(WebhookError::io(
            directory,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not a directory (--kustomize takes a kustomization directory)",
            ),
        ));
    }
    let output = Command::new(kubectl)
        .arg("kustomize")
        .arg(directory)
        .output()
        .map_err(|source| WebhookError::ToolMissing {
            tool: kubectl.to_path_buf(),
            purpose: "--kustomize renders kustomizations with `kubectl kustomize`; install kubectl or name it with --kubectl (BACKSTOP_KUBECTL)",
            source,
        })?;
    if !output.status.success() {
        return Err(WebhookError::Render {
            command,
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    String::from_utf8(output.stdout).map_err(|_| WebhookError::Render {
        command,
        message: "the rendered manifests are not UTF-8".to_string(),
    })
}
