//! Every descriptor evloop opens is close-on-exec, so a child process
//! started with `exec` never inherits a socket (which would keep a port
//! bound or a connection open behind the server's back).

use std::os::fd::{AsFd, AsRawFd, RawFd};

use evloop::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};

/// The descriptor's close-on-exec flag; `None` if it is not open.
fn cloexec(fd: RawFd) -> Option<bool> {
    // SAFETY: F_GETFD only reads the descriptor's flags; a closed fd gives
    // -1 (EBADF) and no other effect.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    (flags >= 0).then_some(flags & libc::FD_CLOEXEC != 0)
}

fn is_cloexec(fd: RawFd) -> bool {
    cloexec(fd).unwrap_or_else(|| panic!("fd {fd} is not open"))
}

fn assert_cloexec(name: &str, fd: &impl AsFd) {
    assert!(is_cloexec(fd.as_fd().as_raw_fd()), "{name} is not CLOEXEC");
}

/// Every open descriptor of the process except stdin, stdout and stderr.
fn all_fds() -> Vec<RawFd> {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect()
}

#[test]
fn every_descriptor_is_close_on_exec() {
    // Descriptors inherited from whoever started the test (cargo's
    // jobserver pipe, a shell's fds) are not ours to judge.
    let inherited = all_fds();
    let dir = std::env::temp_dir().join(format!("evloop-cloexec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("s.sock");
    let _ = std::fs::remove_file(&path);
    evloop::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
        let unix_listener = UnixListener::bind(&path).expect("unix bind");
        let unix_client = UnixStream::connect(&path).await.expect("unix connect");
        let (unix_accepted, _) = unix_listener.accept().await.expect("unix accept");
        let (pair_a, pair_b) = UnixStream::pair().expect("pair");

        assert_cloexec("TcpListener", &listener);
        assert_cloexec("TcpStream::connect", &client);
        assert_cloexec("TcpListener::accept", &accepted);
        assert_cloexec("UdpSocket", &udp);
        assert_cloexec("UnixListener", &unix_listener);
        assert_cloexec("UnixStream::connect", &unix_client);
        assert_cloexec("UnixListener::accept", &unix_accepted);
        assert_cloexec("UnixStream::pair", &pair_a);
        assert_cloexec("UnixStream::pair", &pair_b);
        // And everything else: the epoll fd, the eventfd waker, the
        // listeners' spare descriptors.
        // (The directory listing's own fd is closed by now: `None`.)
        for fd in all_fds().into_iter().filter(|fd| !inherited.contains(fd)) {
            assert_ne!(cloexec(fd), Some(false), "fd {fd} is not CLOEXEC");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
