//! Helpers shared by the store tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh directory under the system temp dir, removed (with its contents) on drop.
#[cfg_attr(not(feature = "redb"), allow(dead_code))]
pub struct TempDir {
    path: PathBuf,
    files: AtomicUsize,
}

#[cfg_attr(not(feature = "redb"), allow(dead_code))]
impl TempDir {
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "actionkit-store-{label}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        Self {
            path,
            files: AtomicUsize::new(0),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path for a new file in this directory (not created).
    pub fn next_file(&self, ext: &str) -> PathBuf {
        self.path.join(format!(
            "{}.{ext}",
            self.files.fetch_add(1, Ordering::Relaxed)
        ))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
