//! A model bundle folder (see `acula_core::bundle`) as a type: read and verified into a
//! [`Bundle`], or written whole — into a temporary folder beside it, renamed into place when
//! complete, so a reader never sees half a bundle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use acula_core::bundle::{self, Bundle, Manifest};

use crate::Failure;

/// A bundle folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleDir {
    path: PathBuf,
}

impl BundleDir {
    /// The bundle folder at `path` (nothing is read yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `manifest.json`.
    pub fn manifest_path(&self) -> PathBuf {
        self.path.join(bundle::MANIFEST)
    }

    /// Reads the folder and verifies it (format, version, every file's size and checksum).
    pub fn read(&self) -> Result<Bundle, Failure> {
        let dir = &self.path;
        let mpath = self.manifest_path();
        let manifest = std::fs::read(&mpath).map_err(|e| {
            Failure::input(format!(
                "cannot read {} ({e}); --bundle must be a folder written by acula export",
                mpath.display()
            ))
        })?;
        let parsed = Manifest::parse(&manifest)
            .map_err(|e| Failure::input(format!("{}: {e}", dir.display())))?;
        let mut files = BTreeMap::new();
        // `Manifest::parse` has refused any name that is not a plain file name inside the folder.
        for name in parsed.files.keys() {
            if let Ok(b) = std::fs::read(dir.join(name)) {
                files.insert(name.clone(), b);
            }
        }
        Bundle::new(&manifest, files).map_err(|e| Failure::input(format!("{}: {e}", dir.display())))
    }

    /// The manifest alone (`acula eval --bundle` checks it before a long evaluation).
    pub fn manifest(&self) -> Result<Manifest, Failure> {
        let path = self.manifest_path();
        let not_a_bundle = |e: &dyn std::fmt::Display| {
            Failure::input(format!(
                "--bundle: {} is not a model bundle's manifest ({e}); give the bundle folder",
                path.display()
            ))
        };
        let bytes = std::fs::read(&path).map_err(|e| not_a_bundle(&e))?;
        Manifest::parse(&bytes).map_err(|e| not_a_bundle(&e))
    }

    /// Rewrites `manifest.json` atomically (the checksummed files are untouched; the manifest is
    /// not among them).
    pub fn rewrite_manifest(&self, manifest: &Manifest) -> Result<(), Failure> {
        let text = manifest
            .to_json()
            .map_err(|e| Failure::output(e.to_string()))?;
        crate::output::write_atomic(&self.manifest_path(), &text)
            .map_err(|e| Failure::output(e.to_string()))
    }

    /// Writes `files` and the sealed `manifest` into a temporary folder beside this one, then swaps
    /// it into place (replacing what was there).
    pub fn write(&self, manifest: &[u8], files: &BTreeMap<String, Vec<u8>>) -> Result<(), Failure> {
        let out = &self.path;
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .map_err(|e| Failure::output(format!("cannot create {}: {e}", parent.display())))?;
        let tmp = tempfile::Builder::new()
            .prefix(".acula-bundle-")
            .tempdir_in(&parent)
            .map_err(|e| Failure::output(format!("cannot write in {}: {e}", parent.display())))?;
        let write = |name: &str, bytes: &[u8]| {
            std::fs::write(tmp.path().join(name), bytes)
                .map_err(|e| Failure::output(format!("cannot write {name}: {e}")))
        };
        for (name, bytes) in files {
            write(name, bytes)?;
        }
        write(bundle::MANIFEST, manifest)?;
        let tmp = tmp.keep();
        if out.exists() {
            let old = parent.join(format!(
                ".acula-old-{}",
                out.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ));
            let _ = std::fs::remove_dir_all(&old);
            std::fs::rename(out, &old)
                .map_err(|e| Failure::output(format!("cannot replace {}: {e}", out.display())))?;
            let _ = std::fs::remove_dir_all(&old);
        }
        std::fs::rename(&tmp, out)
            .map_err(|e| Failure::output(format!("cannot write {}: {e}", out.display())))
    }

    /// Copies this bundle, verified first, to `dest` (atomically, as [`Self::write`]).
    pub fn copy_to(&self, dest: &BundleDir) -> Result<(), Failure> {
        let b = self.read()?;
        let mut files = BTreeMap::new();
        // A deferred file (the text side) may be absent; everything at hand is copied.
        for name in b.manifest.files.keys().filter(|n| b.has_file(n)) {
            let bytes = b.file(name).map_err(|e| Failure::input(e.to_string()))?;
            files.insert(name.to_string(), bytes.to_vec());
        }
        let manifest =
            std::fs::read(self.manifest_path()).map_err(|e| Failure::input(e.to_string()))?;
        dest.write(&manifest, &files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_folder_whole_and_leaves_no_temporary_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = BundleDir::new(tmp.path().join("b"));
        let files: BTreeMap<String, Vec<u8>> = [("a.bin".to_string(), vec![1u8, 2])].into();
        dir.write(b"{}", &files).unwrap();
        std::fs::write(dir.path().join("stale.txt"), "old").unwrap();
        dir.write(b"{\"x\":1}", &files).unwrap();
        assert!(
            !dir.path().join("stale.txt").exists(),
            "the old folder is gone"
        );
        assert_eq!(std::fs::read(dir.manifest_path()).unwrap(), b"{\"x\":1}");
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("b")]);
    }

    #[test]
    fn a_folder_without_a_manifest_is_not_a_bundle() {
        let tmp = tempfile::tempdir().unwrap();
        let e = BundleDir::new(tmp.path()).manifest().unwrap_err();
        assert!(e.message().contains("is not a model bundle's manifest"));
        assert_eq!(e.code(), 1);
    }
}
