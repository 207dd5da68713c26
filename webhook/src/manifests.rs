//! Reading the policy file and folders of manifests from disk into the `policy` crate's types.

use std::path::{Path, PathBuf};

use policy::{Inventory, Policy};

use crate::WebhookError;

pub fn load_policy(path: &Path) -> Result<Policy, WebhookError> {
    let text = std::fs::read_to_string(path).map_err(|error| WebhookError::io(path, error))?;
    Ok(Policy::from_yaml(&text, &path.display().to_string())?)
}

/// Every `.yaml`/`.yml`/`.json` file under `roots` (files are taken as they are, folders are
/// walked recursively), in sorted order so reports are stable.
pub fn manifest_files(roots: &[PathBuf]) -> Result<Vec<PathBuf>, WebhookError> {
    let mut files = Vec::new();
    for root in roots {
        let metadata = std::fs::metadata(root).map_err(|error| WebhookError::io(root, error))?;
        if metadata.is_file() {
            files.push(root.clone());
        } else {
            walk(root, &mut files)?;
        }
    }
    Ok(files)
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

/// Reads every manifest under `roots` into an inventory; kinds coverage does not use are skipped.
pub fn load_inventory(roots: &[PathBuf]) -> Result<Inventory, WebhookError> {
    let mut inventory = Inventory::default();
    for file in manifest_files(roots)? {
        let text =
            std::fs::read_to_string(&file).map_err(|error| WebhookError::io(&file, error))?;
        inventory.add_yaml(&text, &file.display().to_string())?;
    }
    Ok(inventory)
}
