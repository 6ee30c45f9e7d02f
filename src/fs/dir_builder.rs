//! `DirBuilder`: creating a directory with options (recursive, mode).
//!
//! `create_dir` and `create_dir_all` cover the usual cases; a builder is
//! for the rest, such as a private directory (`mode(0o700)`) whose
//! permissions are right from the moment it exists, with no window in
//! which another user could open it. The mode is filtered by the process's
//! umask, as with `mkdir(2)`.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// Options for creating a directory, then [`DirBuilder::create`].
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
///
/// evloop::block_on(async {
///     let dir = std::env::temp_dir().join(format!("evloop-doc-dirbuilder-{}", std::process::id()));
///     let _ = std::fs::remove_dir_all(&dir);
///     evloop::fs::DirBuilder::new()
///         .recursive(true)
///         .mode(0o700)
///         .create(dir.join("a/b"))
///         .await?;
///     let mode = std::fs::metadata(dir.join("a/b"))?.permissions().mode();
///     assert_eq!(mode & 0o777, 0o700);
///     evloop::fs::remove_dir_all(&dir).await
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DirBuilder {
    /// Create missing parents too (and succeed if the directory exists).
    recursive: bool,
    /// The permission bits for new directories, before the umask.
    mode: u32,
}

impl Default for DirBuilder {
    fn default() -> DirBuilder {
        DirBuilder::new()
    }
}

impl DirBuilder {
    /// Non-recursive, mode `0o777` (before the umask), as std's.
    pub fn new() -> DirBuilder {
        DirBuilder {
            recursive: false,
            mode: 0o777,
        }
    }

    /// Whether to create missing parents, and accept an existing directory.
    pub fn recursive(&mut self, recursive: bool) -> &mut DirBuilder {
        self.recursive = recursive;
        self
    }

    /// The permission bits of the directories created (filtered by umask).
    pub fn mode(&mut self, mode: u32) -> &mut DirBuilder {
        self.mode = mode;
        self
    }

    /// Creates the directory at `path` on the blocking pool.
    ///
    /// # Errors
    /// As `std::fs::DirBuilder::create`: `AlreadyExists` (not recursive),
    /// `NotFound` (a parent is missing, not recursive), ...
    pub async fn create(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref().to_owned();
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(self.recursive).mode(self.mode);
        super::asyncify("fs::DirBuilder::create", move || builder.create(path)).await
    }
}
