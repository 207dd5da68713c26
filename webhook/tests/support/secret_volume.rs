//! A Secret volume as the kubelet lays it out: `..<timestamp>/` holds the files, `..data` points
//! at it, and the visible names point through `..data`. A rotation writes a new generation and
//! renames a new `..data` symlink over the old one.

use std::path::PathBuf;

use crate::certs::Leaf;

pub struct SecretVolume {
    pub dir: tempfile::TempDir,
}

pub struct CertPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl SecretVolume {
    pub fn new(first: &Leaf) -> Self {
        let volume = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let root = volume.dir.path();
        volume.write_generation("..2026_01_01_00_00_00.000000001", first);
        std::os::unix::fs::symlink("..2026_01_01_00_00_00.000000001", root.join("..data")).unwrap();
        for name in ["tls.crt", "tls.key"] {
            std::os::unix::fs::symlink(format!("..data/{name}"), root.join(name)).unwrap();
        }
        volume
    }

    pub fn paths(&self) -> CertPaths {
        CertPaths {
            cert: self.dir.path().join("tls.crt"),
            key: self.dir.path().join("tls.key"),
        }
    }

    pub fn write_generation(&self, name: &str, leaf: &Leaf) {
        self.write_raw(name, leaf.chain_pem.as_bytes(), leaf.key_pem.as_bytes());
    }

    pub fn write_raw(&self, name: &str, cert: &[u8], key: &[u8]) {
        let generation = self.dir.path().join(name);
        std::fs::create_dir(&generation).unwrap();
        std::fs::write(generation.join("tls.crt"), cert).unwrap();
        std::fs::write(generation.join("tls.key"), key).unwrap();
    }

    /// The kubelet's atomic swap: a new `..data_tmp` symlink renamed over `..data`.
    pub fn swap_to(&self, name: &str) {
        let root = self.dir.path();
        std::os::unix::fs::symlink(name, root.join("..data_tmp")).unwrap();
        std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    }

    /// Writes `leaf` as generation `serial` and swaps to it, as one rotation.
    #[allow(dead_code)] // not every user rotates this way
    pub fn rotate_to(&self, serial: u64, leaf: &Leaf) {
        let name = generation(serial);
        self.write_generation(&name, leaf);
        self.swap_to(&name);
    }

    /// Removes generation `serial` once it is no longer `..data`, as the kubelet does right
    /// after a swap: a reader that followed the old link mid-read finds its files gone.
    #[allow(dead_code)] // only the soak retires generations
    pub fn retire(&self, serial: u64) {
        std::fs::remove_dir_all(self.dir.path().join(generation(serial))).unwrap();
    }
}

fn generation(serial: u64) -> String {
    format!("..2026_01_01_00_00_00.{serial:09}")
}
