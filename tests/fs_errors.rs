//! Failures come back as `io::Error`s with the right `ErrorKind`.

use std::io::ErrorKind;
use std::path::PathBuf;

use futures::io::AsyncReadExt;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("evloop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn missing_paths_give_not_found() {
    let dir = scratch("fs-not-found");
    let missing = dir.join("missing");
    evloop::block_on(async {
        let kind = |r: std::io::Result<()>| r.expect_err("must fail").kind();
        assert_eq!(
            kind(evloop::fs::read(&missing).await.map(drop)),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(evloop::fs::read_to_string(&missing).await.map(drop)),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(evloop::fs::metadata(&missing).await.map(drop)),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(evloop::fs::remove_file(&missing).await),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(evloop::fs::remove_dir_all(&missing).await),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(evloop::fs::read_dir(&missing).await.map(drop)),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(evloop::fs::rename(&missing, dir.join("x")).await),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(evloop::fs::copy(&missing, dir.join("x")).await.map(drop)),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(evloop::fs::File::open(&missing).await.map(drop)),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(evloop::fs::write(missing.join("in/no/dir"), "x").await),
            ErrorKind::NotFound
        );
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn create_new_on_an_existing_file_gives_already_exists() {
    let dir = scratch("fs-exists");
    let file = dir.join("there");
    std::fs::write(&file, "x").expect("setup");
    evloop::block_on(async {
        let error = evloop::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file)
            .await
            .expect_err("exists");
        assert_eq!(error.kind(), ErrorKind::AlreadyExists);
        // A file in the way of a directory.
        let error = evloop::fs::create_dir_all(file.join("sub"))
            .await
            .expect_err("a file is in the way");
        assert_eq!(error.kind(), ErrorKind::NotADirectory);
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn directories_are_not_files() {
    let dir = scratch("fs-is-dir");
    evloop::block_on(async {
        assert_eq!(
            evloop::fs::read(&dir)
                .await
                .expect_err("a directory")
                .kind(),
            ErrorKind::IsADirectory
        );
        // Opening a directory read-only succeeds on Linux; reading fails.
        let mut handle = evloop::fs::File::open(&dir)
            .await
            .expect("open a directory");
        let mut buf = [0u8; 16];
        let error = handle.read(&mut buf).await.expect_err("read a directory");
        assert_eq!(error.kind(), ErrorKind::IsADirectory);
        let error = evloop::fs::File::create(&dir)
            .await
            .expect_err("write a directory");
        assert_eq!(error.kind(), ErrorKind::IsADirectory);
        let error = evloop::fs::remove_file(&dir).await.expect_err("not a file");
        assert_eq!(error.kind(), ErrorKind::IsADirectory);
        let plain = dir.join("plain");
        evloop::fs::write(&plain, "x").await.expect("setup");
        let error = evloop::fs::read_dir(&plain)
            .await
            .expect_err("not a directory");
        assert_eq!(error.kind(), ErrorKind::NotADirectory);
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn permission_denied_comes_back_as_permission_denied() {
    evloop::block_on(async {
        if is_root() {
            // root passes permission bits, but not the kernel's read-only
            // sysctls: opening one for writing is refused to everyone.
            let error = evloop::fs::OpenOptions::new()
                .write(true)
                .open("/proc/sys/kernel/ostype")
                .await
                .expect_err("a read-only sysctl");
            assert_eq!(error.kind(), ErrorKind::PermissionDenied);
            let error = evloop::fs::write("/proc/sys/kernel/ostype", "x")
                .await
                .expect_err("a read-only sysctl");
            assert_eq!(error.kind(), ErrorKind::PermissionDenied);
        } else {
            use std::os::unix::fs::PermissionsExt;
            let dir = scratch("fs-denied");
            let file = dir.join("secret");
            std::fs::write(&file, "x").expect("setup");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).expect("chmod");
            let error = evloop::fs::read(&file).await.expect_err("mode 000");
            assert_eq!(error.kind(), ErrorKind::PermissionDenied);
            let error = evloop::fs::File::open(&file).await.expect_err("mode 000");
            assert_eq!(error.kind(), ErrorKind::PermissionDenied);
            std::fs::remove_dir_all(dir).expect("cleanup");
        }
    });
}

#[test]
fn invalid_utf8_gives_invalid_data() {
    let dir = scratch("fs-utf8");
    let file = dir.join("latin1");
    std::fs::write(&file, [0xff, 0xfe, 0x00]).expect("setup");
    evloop::block_on(async {
        let error = evloop::fs::read_to_string(&file)
            .await
            .expect_err("not utf-8");
        assert_eq!(error.kind(), ErrorKind::InvalidData);
    });
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn fs_outside_a_runtime_panics_clearly() {
    let panic =
        std::panic::catch_unwind(|| futures::executor::block_on(evloop::fs::read("/dev/null")))
            .expect_err("no runtime");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(
        message.contains("evloop::fs::read called outside of a runtime"),
        "{message}"
    );
}
