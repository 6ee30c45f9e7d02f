//! `OpenOptions`: how to open a file (std's builder, opened on the pool).

use std::io;
use std::path::Path;

use super::{File, asyncify_on, current_pool, nowait};

/// Options for opening a file: `std::fs::OpenOptions`, with an async
/// [`open`](OpenOptions::open) that runs on the blocking pool.
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use evloop::fs::OpenOptions;
///
/// let path = std::env::temp_dir().join(format!("evloop-doc-append-{}", std::process::id()));
/// evloop::block_on(async {
///     evloop::fs::write(&path, "one ").await?;
///     let mut log = OpenOptions::new().append(true).open(&path).await?;
///     log.write_all(b"two").await?;
///     log.flush().await?;
///     assert_eq!(evloop::fs::read_to_string(&path).await?, "one two");
///     evloop::fs::remove_file(&path).await
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// The std builder holding the flags.
    std: std::fs::OpenOptions,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// All options off; set at least one of `read`, `write`, `append`.
    pub fn new() -> OpenOptions {
        OpenOptions {
            std: std::fs::OpenOptions::new(),
        }
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.std.read(read);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.std.write(write);
        self
    }

    /// Every write goes to the end of the file (`O_APPEND`).
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.std.append(append);
        self
    }

    /// Empty the file when opening it (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.std.truncate(truncate);
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.std.create(create);
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists.
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.std.create_new(create_new);
        self
    }

    /// The permission bits of a newly created file (before the umask).
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.std, mode);
        self
    }

    /// Opens `path` with these options, on the blocking pool.
    ///
    /// # Errors
    /// As `std::fs::OpenOptions::open`: `NotFound`, `PermissionDenied`,
    /// `AlreadyExists`, `InvalidInput` (for contradictory flags), ...
    ///
    /// # Panics
    /// Outside of a runtime.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let pool = current_pool("fs::OpenOptions::open");
        let (options, path) = (self.std.clone(), path.as_ref().to_owned());
        // The type check for inline reads costs an fstat here, on the pool,
        // rather than a pool trip on the first read.
        let (file, regular) = asyncify_on(&pool, move || {
            let file = options.open(path)?;
            let regular = nowait::inline_candidate(&file);
            Ok((file, regular))
        })
        .await?;
        let mut file = File::with_pool(file, pool);
        file.set_regular(regular);
        Ok(file)
    }
}
