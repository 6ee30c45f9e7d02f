//! Running a test in a child process: this test binary started again with
//! `EVLOOP_TEST_CHILD` naming the test, as `tcp_emfile.rs` does.
//!
//! Signal dispositions are process-wide, so tests that install handlers or
//! receive signals run in a child of their own; the parent sends the
//! signals and checks what the child printed and how it exited.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "EVLOOP_TEST_CHILD";

/// True in the child started for `test_name`.
pub fn is_child(test_name: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|name| name == test_name)
}

/// A child process running one test, killed if the test ends early.
pub struct ChildProcess {
    /// The process.
    child: Child,
    /// Its stdout, line by line, read by a thread.
    lines: Receiver<String>,
    /// Its stderr, collected by a thread, returned when it exits.
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl ChildProcess {
    /// Starts this test binary again, running only `test_name` as the child.
    pub fn start(test_name: &str) -> ChildProcess {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, test_name)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the child");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        ChildProcess {
            child,
            lines,
            stderr: Some(stderr),
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    /// Sends `signal` to the child.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0, "kill failed");
    }

    /// Waits for a stdout line containing `marker` and returns what follows
    /// it. Panics after `timeout`.
    pub fn expect_line(&self, marker: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                // The harness prints "test NAME ... " on the same line first.
                Ok(line) => {
                    if let Some((_, rest)) = line.split_once(marker) {
                        return rest.trim().to_string();
                    }
                }
                Err(_) => panic!("no line with {marker:?} from the child within {timeout:?}"),
            }
        }
    }

    /// Waits for the child to exit (killing it after `timeout`), and returns
    /// its status and everything it wrote to stderr.
    pub fn wait(mut self, timeout: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let stderr = self.stderr.take().expect("once").join().unwrap_or_default();
                panic!("the child did not exit within {timeout:?}; its stderr:\n{stderr}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stderr = self.stderr.take().expect("once").join().unwrap_or_default();
        (status, stderr)
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
