//! The host side of containers a test leaves behind when it fails: cgroup directories (their
//! processes killed, then removed), mount points, supervisor processes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::process::{kill_process, Pid, Signal};

/// The cgroup directories of container `id` under `parent` that exist: one per v1 hierarchy
/// (/sys/fs/cgroup/<controller>/<parent>/<id>), or the one of a unified cgroup v2 host
/// (/sys/fs/cgroup/<parent>/<id>).
pub fn cgroup_dirs(parent: &str, id: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let unified = Path::new("/sys/fs/cgroup").join(parent).join(id);
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() && unified.is_dir() {
        out.push(unified);
    }
    if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
        for e in rd.flatten() {
            let d = e.path().join(parent).join(id);
            if d.is_dir() {
                out.push(d);
            }
        }
    }
    out
}

/// Kills whatever is left in a cgroup directory and removes it (and its children); a frozen
/// cgroup is thawed first, or its processes would never die.
pub fn remove_cgroup(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                remove_cgroup(&e.path());
            }
        }
    }
    let _ = std::fs::write(dir.join("freezer.state"), "THAWED");
    let _ = std::fs::write(dir.join("cgroup.freeze"), "0");
    for _ in 0..200 {
        if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
            for p in procs.split_whitespace() {
                if let Some(pid) = p.parse::<i32>().ok().and_then(Pid::from_raw) {
                    let _ = kill_process(pid, Signal::KILL);
                }
            }
        }
        if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Is `path` a mount point in this process's mount namespace?
pub fn is_mounted(path: &Path) -> bool {
    let p = path.to_string_lossy();
    mount_points().any(|m| m == p.as_ref())
}

/// Mount points under `root` (from /proc/self/mountinfo), outermost first.
pub fn mounts_under(root: &str) -> Vec<String> {
    mount_points().filter(|m| m.starts_with(root)).collect()
}

fn mount_points() -> impl Iterator<Item = String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .collect::<Vec<_>>()
        .into_iter()
}

/// Pids of processes whose command line mentions both `program` and `needle`.
pub fn processes_with(program: &str, needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(program) && cmd.contains(needle) {
            out.push(pid);
        }
    }
    out
}
