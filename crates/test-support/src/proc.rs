//! Processes in tests: unique names, a command runner with a timeout that captures both
//! streams, waiting for a child or a condition, and facts about this process.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Fails the test unless it runs as root: containers need it, and a test that cannot run
/// must not pass.
pub fn require_root() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this end-to-end test needs root (namespaces, mounts, cgroups)"
    );
}

/// A string unique to this process and call.
pub fn unique() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        nanos % 1_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `cond` every few milliseconds until it holds; panics with `what` after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for a child up to `limit`; kills it and returns None when the limit is reached.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return Some(st);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Output of one command.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn ok(self) -> Out {
        assert_eq!(self.code, 0, "command failed: {self:#?}");
        self
    }

    pub fn fails(self) -> Out {
        assert_ne!(self.code, 0, "command should have failed: {self:#?}");
        self
    }

    /// Asserts that stderr contains every one of `words`.
    pub fn stderr_has(&self, words: &[&str]) -> &Out {
        for w in words {
            assert!(
                self.stderr.contains(w),
                "stderr should contain {w:?}: {self:#?}"
            );
        }
        self
    }

    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// The shell's view of an exit: the code, or 128 + the signal.
pub fn status_code(st: ExitStatus) -> i32 {
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

fn reader(mut r: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let b = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        loop {
            match r.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => b.lock().unwrap().extend_from_slice(&chunk[..n]),
            }
        }
    });
    buf
}

/// Runs a command with piped stdout/stderr and a timeout (the child is killed when it
/// expires, and the test fails).
pub fn run_cmd(mut cmd: Command, limit: Duration) -> Out {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let so = reader(child.stdout.take().expect("stdout"));
    let se = reader(child.stderr.take().expect("stderr"));
    let st = wait_timeout(&mut child, limit)
        .unwrap_or_else(|| panic!("command timed out after {limit:?}: {cmd:?}"));
    // Give the readers a moment to drain what is left in the pipes.
    let deadline = Instant::now() + Duration::from_millis(500);
    while Arc::strong_count(&so) + Arc::strong_count(&se) > 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    let take = |b: &Arc<Mutex<Vec<u8>>>| String::from_utf8_lossy(&b.lock().unwrap()).into_owned();
    Out {
        code: status_code(st),
        stdout: take(&so),
        stderr: take(&se),
    }
}

/// Whether `pid` is a live process (not a zombie).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let st = s
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .chars()
                .next();
            st != Some('Z') && st != Some('X')
        })
        .unwrap_or(false)
}

/// True if this process has the capability (bit number) in its effective set.
pub fn host_has_cap(bit: u32) -> bool {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|m| m & (1 << bit) != 0)
}

/// The value of a `Key:` line of a /proc status-like text.
pub fn status_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
}

/// Seconds since the epoch, as `docker events --since` takes them.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
