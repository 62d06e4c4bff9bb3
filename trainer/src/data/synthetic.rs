//! The one rule for synthetic data: `acula synth` writes [`MARKER`] at the root of every dataset it
//! generates, and a folder is synthetic when it, or a folder above it, holds that file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file at the root of every synthetic dataset; loaders mark such datasets as synthetic.
pub const MARKER: &str = "SYNTHETIC.txt";

/// Whether `root` is the root of a synthetic dataset.
pub fn is_root(root: &Path) -> bool {
    root.join(MARKER).is_file()
}

/// Which recordings are synthetic: those under a folder marked by `acula synth`. Remembers each
/// folder's answer, so a long list of recordings costs one look per folder.
#[derive(Debug, Default)]
pub struct Recordings {
    folders: BTreeMap<PathBuf, bool>,
}

impl Recordings {
    /// Whether the recording at `path` lies under a synthetic dataset's root.
    pub fn is_synthetic(&mut self, path: &Path) -> bool {
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        *self
            .folders
            .entry(dir.clone())
            .or_insert_with(|| dir.ancestors().any(is_root))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_below_a_marked_root_is_synthetic() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("synth");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join(MARKER), "SYNTHETIC").unwrap();
        let mut r = Recordings::default();
        assert!(is_root(&root));
        assert!(r.is_synthetic(&root.join("a/b/x.wav")));
        assert!(!r.is_synthetic(&tmp.path().join("real/x.wav")));
    }
}
