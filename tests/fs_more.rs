//! The rest of the fs surface: directories (create_dir, DirBuilder with a
//! mode), links, canonicalize, try_exists, permissions, and File's
//! try_clone/into_std/from_std/sync_data/set_len/metadata/set_permissions.

use std::io::{ErrorKind, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use evloop::fs::{self, DirBuilder, File, OpenOptions};
use futures::io::{AsyncReadExt, AsyncWriteExt};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("evloop-more-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn create_dir_needs_its_parent_and_refuses_an_existing_one() {
    let dir = scratch("mkdir");
    evloop::block_on(async {
        fs::create_dir(dir.join("a")).await.expect("created");
        let e = fs::create_dir(dir.join("a")).await.expect_err("exists");
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let e = fs::create_dir(dir.join("x/y"))
            .await
            .expect_err("no parent");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        fs::create_dir_all(dir.join("x/y"))
            .await
            .expect("with parents");
        fs::create_dir_all(dir.join("x/y"))
            .await
            .expect("existing is fine");
        fs::remove_dir(dir.join("a")).await.expect("empty dir");
        let e = fs::remove_dir(dir.join("x")).await.expect_err("not empty");
        assert_eq!(e.kind(), ErrorKind::DirectoryNotEmpty);
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn dir_builder_sets_the_mode_and_recursion() {
    let dir = scratch("dirbuilder");
    evloop::block_on(async {
        let e = DirBuilder::new()
            .mode(0o700)
            .create(dir.join("p/q"))
            .await
            .expect_err("not recursive: no parent");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir.join("p/q"))
            .await
            .expect("recursive");
        let mode = std::fs::metadata(dir.join("p/q"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        DirBuilder::new()
            .recursive(true)
            .create(dir.join("p/q"))
            .await
            .expect("exists: ok");
        let e = DirBuilder::new()
            .create(dir.join("p/q"))
            .await
            .expect_err("exists");
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn links_canonicalize_and_try_exists() {
    let dir = scratch("links");
    evloop::block_on(async {
        let target = dir.join("target");
        fs::write(&target, b"data").await.expect("write");
        fs::symlink(&target, dir.join("soft"))
            .await
            .expect("symlink");
        assert_eq!(
            fs::read_link(dir.join("soft")).await.expect("readlink"),
            target
        );
        assert!(
            fs::symlink_metadata(dir.join("soft"))
                .await
                .expect("lstat")
                .file_type()
                .is_symlink()
        );
        let e = fs::read_link(&target).await.expect_err("not a link");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        fs::hard_link(&target, dir.join("hard"))
            .await
            .expect("link");
        assert_eq!(fs::read(dir.join("hard")).await.expect("read"), b"data");
        let e = fs::hard_link(dir.join("missing"), dir.join("h2"))
            .await
            .expect_err("no source");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let canonical = fs::canonicalize(dir.join("soft"))
            .await
            .expect("canonicalize");
        assert_eq!(canonical, std::fs::canonicalize(&target).expect("std"));
        assert!(fs::try_exists(dir.join("soft")).await.expect("exists"));
        assert!(
            !fs::try_exists(dir.join("missing"))
                .await
                .expect("certainly not")
        );
        fs::symlink(dir.join("nowhere"), dir.join("dangling"))
            .await
            .expect("dangling ok");
        assert!(
            !fs::try_exists(dir.join("dangling"))
                .await
                .expect("follows the link")
        );
        let e = fs::canonicalize(dir.join("dangling"))
            .await
            .expect_err("target missing");
        assert_eq!(e.kind(), ErrorKind::NotFound);
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn set_permissions_on_a_path_and_on_a_file() {
    let dir = scratch("perms");
    evloop::block_on(async {
        let path = dir.join("f");
        let mut file = File::create(&path).await.expect("create");
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .await
            .expect("fchmod");
        let mode = file.metadata().await.expect("fstat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))
            .await
            .expect("chmod");
        assert_eq!(
            fs::metadata(&path)
                .await
                .expect("stat")
                .permissions()
                .mode()
                & 0o777,
            0o640
        );
        let e = fs::set_permissions(dir.join("missing"), std::fs::Permissions::from_mode(0o600))
            .await
            .expect_err("no file");
        assert_eq!(e.kind(), ErrorKind::NotFound);
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn try_clone_shares_the_position_at_the_logical_offset() {
    let dir = scratch("clone");
    evloop::block_on(async {
        let path = dir.join("f");
        fs::write(&path, b"0123456789").await.expect("write");
        let mut file = File::open(&path).await.expect("open");
        let mut two = [0; 2];
        file.read_exact(&mut two).await.expect("read"); // reads ahead past 2
        assert_eq!(&two, b"01");
        let mut clone = file.try_clone().await.expect("dup");
        let mut rest = Vec::new();
        clone.read_to_end(&mut rest).await.expect("read");
        assert_eq!(
            rest, b"23456789",
            "the clone starts where the original stood"
        );
        let mut after = Vec::new();
        file.read_to_end(&mut after).await.expect("read");
        assert!(after.is_empty(), "the position is shared");
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn into_std_and_from_std_keep_writes_and_position() {
    let dir = scratch("into-std");
    evloop::block_on(async {
        let path = dir.join("f");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .expect("open");
        file.write_all(b"hello world").await.expect("write");
        file.sync_data().await.expect("fdatasync");
        file.set_len(5).await.expect("truncate");
        assert_eq!(file.metadata().await.expect("fstat").len(), 5);
        let mut std_file = file.into_std().await.expect("into_std");
        use std::io::Seek;
        std_file.seek(std::io::SeekFrom::Start(0)).expect("seek");
        let mut text = String::new();
        std_file.read_to_string(&mut text).expect("read");
        assert_eq!(text, "hello");
        std_file.seek(std::io::SeekFrom::Start(1)).expect("seek");
        let mut file = File::from_std(std_file);
        let mut rest = String::new();
        file.read_to_string(&mut rest).await.expect("read");
        assert_eq!(rest, "ello");
        file.sync_all().await.expect("fsync");
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn into_std_gives_back_read_ahead() {
    let dir = scratch("into-std-ahead");
    evloop::block_on(async {
        let path = dir.join("f");
        fs::write(&path, b"abcdef").await.expect("write");
        let mut file = File::open(&path).await.expect("open");
        let mut one = [0; 1];
        file.read_exact(&mut one).await.expect("read");
        let mut std_file = file.into_std().await.expect("into_std");
        let mut rest = String::new();
        std_file.read_to_string(&mut rest).expect("read");
        assert_eq!(rest, "bcdef");
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}
