//! Starting muelled when nothing answers on the default socket, so `muelle pull` works on a
//! machine where nobody started the daemon (root only: the daemon needs it).

use std::ffi::OsStr;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::client::{Client, Host};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// `muelled` next to this executable (an unpacked release or target/debug), else in PATH.
pub fn find_muelled() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("muelled")));
    if let Some(p) = beside.filter(|p| is_executable(p)) {
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("muelled"))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Starts muelled detached (own session, stdio to `<exec-root>/muelled.log`) and waits for
/// its socket to answer `/_ping`. Returns the daemon's pid.
pub async fn start(host: &Host) -> Result<u32> {
    let exe = find_muelled().ok_or_else(|| {
        anyhow!("cannot start the daemon: muelled is neither next to this executable nor in PATH")
    })?;
    let exec_root = host.path.parent().unwrap_or(Path::new("/run/muelle"));
    fs::create_dir_all(exec_root)
        .with_context(|| format!("cannot start muelled: creating {}", exec_root.display()))?;
    let log_path = exec_root.join("muelled.log");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot start muelled: opening {}", log_path.display()))?;
    let log2 = log
        .try_clone()
        .with_context(|| format!("cannot start muelled: {}", log_path.display()))?;
    let mut cmd = Command::new(&exe);
    cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
    // Closing the terminal or ^C in this shell must not reach the daemon.
    #[allow(unsafe_code)]
    // SAFETY: the closure runs in the forked child before exec and only calls setsid(2),
    // which is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let pid = child.id();
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        let mut probe = Client::new(host.clone());
        if probe.negotiate(None).await.is_ok() {
            return Ok(pid);
        }
        if let Some(status) = child.try_wait().context("waiting for muelled")? {
            bail!(
                "{} exited ({status}) before answering on {host}; see {}",
                exe.display(),
                log_path.display()
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "{} (pid {pid}) did not answer on {host} within {}s; see {}",
                exe.display(),
                STARTUP_TIMEOUT.as_secs(),
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `--no-autostart` or `MUELLE_NO_AUTOSTART=1` (any value but empty, 0 or false).
pub fn disabled_by_env(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}
