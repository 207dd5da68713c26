//! Files that hold a secret (MinIO's root password, Velero's S3 credentials): written into
//! the run directory readable by the harness's user only (0600), never passed in an argv
//! (argv goes to `commands.log`).

use std::io::Write;
use std::path::Path;

use crate::error::Error;

/// Writes `content` to `path` with mode 0600, replacing the file if it exists (and tightening
/// its mode, which `open` alone would keep).
pub fn write(path: &Path, content: &str) -> Result<(), Error> {
    let io_error = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io_error)?;
    }
    file.write_all(content.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_secret_file_is_readable_by_its_owner_only_even_when_it_existed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials-velero");
        std::fs::write(&path, "old, world-readable").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&path, "[default]\n").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[default]\n");
    }
}
