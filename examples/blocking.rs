//! Offloading a slow synchronous call from an async handler.
//!
//! Run: `cargo run --example blocking [DIR]`
//! (writes 20 small files into DIR, by default a fresh directory under the
//! system temp dir, and prints what it did; no network needed).
//!
//! This is the `save_flag` step of Fluent Python's `flags2_asyncio.py`:
//!
//! ```python
//! image = await get_flag(session, base_url, cc)
//! await loop.run_in_executor(None, save_flag, image, cc.lower() + '.gif')
//! ```
//!
//! Each handler "downloads" a flag (async), then saves it with a plain,
//! synchronous `save_flag` that takes 50 ms (a slow disk, a synchronous
//! library). Called directly, the 20 saves would stop the loop for a second,
//! one after the other; through `evloop::spawn_blocking` they run on the
//! pool at once, and a heartbeat task on the loop keeps beating meanwhile.

use std::cell::Cell;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

const COUNTRIES: [&str; 20] = [
    "CN", "IN", "US", "ID", "BR", "PK", "NG", "BD", "RU", "JP", "MX", "PH", "VN", "ET", "EG", "DE",
    "IR", "TR", "CD", "FR",
];

/// The synchronous call: writes the image and takes its time doing it.
fn save_flag(image: &[u8], path: &Path) -> io::Result<()> {
    std::thread::sleep(Duration::from_millis(50));
    std::fs::write(path, image)
}

/// Stands in for the HTTP download: an async step that yields to the loop.
async fn get_flag(cc: &str) -> Vec<u8> {
    evloop::yield_now().await;
    format!("GIF89a flag of {cc}").into_bytes()
}

/// One request: download (async), then save (blocking, on the pool).
async fn download_one(cc: &'static str, dir: PathBuf) -> io::Result<&'static str> {
    let image = get_flag(cc).await;
    let path = dir.join(format!("{}.gif", cc.to_lowercase()));
    evloop::spawn_blocking(move || save_flag(&image, &path))
        .await
        .map_err(|e| io::Error::other(format!("save_flag for {cc} did not run: {e}")))??;
    Ok(cc)
}

fn main() -> io::Result<()> {
    let dir = std::env::args_os().nth(1).map_or_else(
        || std::env::temp_dir().join(format!("evloop-flags-{}", std::process::id())),
        PathBuf::from,
    );
    let rt = evloop::Runtime::new()?;
    rt.block_on(async {
        evloop::fs::create_dir_all(&dir).await?;
        let started = Instant::now();

        // A task that runs whenever the loop is free: it counts its turns.
        let beats = Rc::new(Cell::new(0u64));
        let done = Rc::new(Cell::new(false));
        let heartbeat = evloop::spawn({
            let (beats, done) = (beats.clone(), done.clone());
            async move {
                while !done.get() {
                    beats.set(beats.get() + 1);
                    evloop::yield_now().await;
                }
            }
        });

        let handlers: Vec<_> = COUNTRIES
            .iter()
            .map(|&cc| evloop::spawn(download_one(cc, dir.clone())))
            .collect();
        let mut saved = Vec::new();
        for handler in handlers {
            saved.push(
                handler
                    .await
                    .map_err(|e| io::Error::other(e.to_string()))??,
            );
        }
        done.set(true);
        heartbeat
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;

        let elapsed = started.elapsed();
        println!(
            "saved {} flags in {elapsed:.0?} ({})",
            saved.len(),
            saved.join(" ")
        );
        println!(
            "  one after the other they would take {:?}",
            20 * Duration::from_millis(50)
        );
        println!(
            "  meanwhile the loop ran the heartbeat task {} times",
            beats.get()
        );

        let mut listing = evloop::fs::read_dir(&dir).await?;
        let (mut files, mut bytes) = (0, 0);
        while let Some(entry) = listing.next_entry().await? {
            files += 1;
            bytes += entry.metadata().await?.len();
        }
        println!("{} now holds {files} files, {bytes} bytes", dir.display());
        Ok(())
    })
}
