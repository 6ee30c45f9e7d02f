//! Every `evloop::fs` function round-trips: what one writes, the others see.

use std::collections::BTreeSet;
use std::path::PathBuf;

use futures::StreamExt;

/// A fresh directory for one test, removed first if a crashed run left it.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("evloop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn write_read_copy_rename_metadata_remove() {
    let dir = scratch("fs-roundtrip");
    evloop::block_on(async {
        evloop::fs::create_dir_all(dir.join("a/b")).await?;
        evloop::fs::create_dir_all(dir.join("a/b")).await?; // exists: Ok
        let file = dir.join("a/b/data.bin");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        evloop::fs::write(&file, &data).await?;
        assert_eq!(evloop::fs::read(&file).await?, data);
        assert_eq!(evloop::fs::metadata(&file).await?.len(), 200_000);
        assert!(evloop::fs::metadata(dir.join("a")).await?.is_dir());

        let copy = dir.join("copy.bin");
        assert_eq!(evloop::fs::copy(&file, &copy).await?, 200_000);
        assert_eq!(evloop::fs::read(&copy).await?, data);

        let renamed = dir.join("renamed.txt");
        evloop::fs::write(dir.join("note.txt"), "héllo").await?;
        evloop::fs::rename(dir.join("note.txt"), &renamed).await?;
        assert_eq!(evloop::fs::read_to_string(&renamed).await?, "héllo");
        assert!(!dir.join("note.txt").exists());

        evloop::fs::remove_file(&copy).await?;
        assert!(!copy.exists());
        evloop::fs::remove_dir_all(dir.join("a")).await?;
        assert!(!dir.join("a").exists());
        assert!(renamed.exists(), "remove_dir_all removed only its tree");
        evloop::fs::remove_dir_all(&dir).await
    })
    .expect("fs round trip");
    assert!(!dir.exists());
}

#[test]
fn read_dir_lists_what_was_created() {
    let dir = scratch("fs-read-dir");
    let (via_stream, via_next_entry) = evloop::block_on(async {
        evloop::fs::create_dir_all(&dir).await?;
        // More than one batch of 32 entries.
        let mut want = BTreeSet::new();
        for i in 0..70 {
            let name = format!("file-{i:02}");
            evloop::fs::write(dir.join(&name), i.to_string()).await?;
            want.insert(name);
        }
        evloop::fs::create_dir_all(dir.join("sub")).await?;
        want.insert("sub".to_owned());

        let mut via_stream = BTreeSet::new();
        let mut stream = evloop::fs::read_dir(&dir).await?;
        while let Some(entry) = stream.next().await {
            let entry = entry?;
            assert_eq!(entry.path(), dir.join(entry.file_name()));
            let is_dir = entry.file_type().await?.is_dir();
            assert_eq!(is_dir, entry.file_name() == "sub");
            if !is_dir {
                assert!(entry.metadata().await?.len() >= 1);
            }
            via_stream.insert(entry.file_name().into_string().expect("utf-8"));
        }
        assert!(stream.next().await.is_none(), "the stream stays ended");

        let mut via_next_entry = BTreeSet::new();
        let mut entries = evloop::fs::read_dir(&dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            via_next_entry.insert(entry.file_name().into_string().expect("utf-8"));
        }
        assert_eq!(via_stream, want);
        evloop::fs::remove_dir_all(&dir).await?;
        Ok::<_, std::io::Error>((via_stream, via_next_entry))
    })
    .expect("read_dir");
    assert_eq!(via_stream.len(), 71);
    assert_eq!(via_stream, via_next_entry);
}

#[test]
fn empty_directory_lists_nothing() {
    let dir = scratch("fs-empty-dir");
    evloop::block_on(async {
        evloop::fs::create_dir_all(&dir).await?;
        let mut entries = evloop::fs::read_dir(&dir).await?;
        assert!(entries.next_entry().await?.is_none());
        evloop::fs::remove_dir_all(&dir).await
    })
    .expect("empty dir");
}
