//! cgroup manager for cgroups v1 and v2.
//!
//! A [`Manager`] is resolved once, when the container is created, from the mounted
//! hierarchies and the spec's `linux.cgroupsPath`; it only holds paths, so it is stored in
//! the container's state and reloaded by later commands (`update`, `pause`, `delete`, …)
//! which then act on the same directories even if the caller runs in another cgroup.
//!
//! Hybrid hosts (v1 controllers plus a cgroup2 mount at `/sys/fs/cgroup/unified`) are
//! managed as v1: the cgroup2 mount there holds no controller that a container needs.

mod devices_bpf;
mod fs;
mod v1;
mod v2;

use std::collections::BTreeMap;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Errors of the cgroup manager. Each names the file or path concerned and, for writes,
/// the value that was written.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("{0}")]
    Other(String),
    #[error("cannot write {value:?} to {path}: {source}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {value:?} to {path}: the file does not exist ({hint})")]
    MissingFile {
        path: PathBuf,
        value: String,
        hint: String,
    },
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot parse {path}: {detail}")]
    Parse { path: PathBuf, detail: String },
    #[error("the {controller} cgroup controller is not mounted (needed to {what})")]
    NoController { controller: String, what: String },
    #[error("invalid cgroups path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("invalid cgroup resource {what}: {reason}")]
    InvalidResource { what: String, reason: String },
    #[error("{0}")]
    Unsupported(String),
    #[error(
        "the kernel refused to load the cgroup v2 device filter ({insns} BPF instructions): \
         {source}{hint}; verifier log: {}",
        if .verifier_log.is_empty() { "(empty)" } else { .verifier_log.as_str() }
    )]
    BpfLoad {
        insns: usize,
        hint: &'static str,
        verifier_log: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot {what} {path}: {source}")]
    Bpf {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no usable cgroup hierarchy found in {path}")]
    NoHierarchy { path: PathBuf },
    #[error(
        "wrote {value:?} to {path} but {state_file} still reads {last:?} after {waited_ms} ms"
    )]
    Timeout {
        path: PathBuf,
        value: String,
        state_file: PathBuf,
        last: String,
        waited_ms: u128,
    },
}

/// Which cgroup API the host offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// Where a container's cgroup lives in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CgroupDir {
    /// Mount point of the hierarchy; for v1 cpuset and v2 the ancestors between it and
    /// `dir` must be prepared too.
    mount: PathBuf,
    /// The container's cgroup directory.
    dir: PathBuf,
}

/// The container's cgroup, across all hierarchies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manager {
    version: CgroupVersion,
    /// v1: controller name → its directory. Controllers co-mounted in one hierarchy
    /// (e.g. "cpu,cpuacct") share a directory.
    #[serde(default)]
    v1: BTreeMap<String, CgroupDir>,
    /// v2: the single directory.
    #[serde(default)]
    v2: Option<CgroupDir>,
    /// v1 named hierarchies ("name=systemd") → the container's directory there. They hold
    /// no controller, but runc puts the container in them too and its cgroup filesystem
    /// shows them, so a tool inside finds its own cgroup in each.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    named: BTreeMap<String, CgroupDir>,
    /// A hybrid host's cgroup2 hierarchy (/sys/fs/cgroup/unified): no controllers, and not
    /// shown inside, but runc puts the container there too ("0::/<path>" in
    /// /proc/self/cgroup), so the container's own cgroup is there as well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hybrid: Option<CgroupDir>,
}

/// One v1 hierarchy as the container's cgroup filesystem shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    /// The name of its mount point ("memory", "cpu,cpuacct", "systemd").
    pub name: String,
    /// The container's cgroup directory in it.
    pub dir: PathBuf,
}

const PROC_MOUNTINFO: &str = "/proc/self/mountinfo";
const PROC_CGROUP: &str = "/proc/self/cgroup";
pub(crate) const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// v1 controllers a container cgroup is created in. Named hierarchies (name=systemd) are
/// not controllers and are left alone.
const V1_CONTROLLERS: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
];

/// A mounted hierarchy: where it is mounted and which cgroup of the hierarchy is the
/// mount's root (not "/" inside containers that bind-mount only their own subtree).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    mountpoint: PathBuf,
    root: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Layout {
    V1(BTreeMap<String, Mount>),
    V2(Mount),
}

/// The cgroups of the calling process, in hierarchy coordinates.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct OwnCgroups {
    v1: BTreeMap<String, PathBuf>,
    v2: Option<PathBuf>,
}

/// The container's cgroup path before it is placed in a hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requested {
    /// From the root of every hierarchy.
    Absolute(PathBuf),
    /// From the calling process's own cgroup in each hierarchy.
    Relative(PathBuf),
}

impl Manager {
    /// Detect v1/v2/hybrid from the real mounts (/proc/self/mountinfo; /sys/fs/cgroup
    /// being cgroup2 = unified v2) and resolve the container's cgroup.
    ///
    /// `cgroups_path` is the spec's `linux.cgroupsPath` (None → "/muelle/<id>"). Relative
    /// paths are relative to the calling process's own cgroup (/proc/self/cgroup), absolute
    /// ones to the hierarchy root.
    ///
    /// `systemd` is runc's `--systemd-cgroup`: `cgroups_path` is "slice:prefix:name" and
    /// maps to the cgroupfs path "<slice path>/<prefix>-<name>.scope" (slice "a-b.slice"
    /// nests as /a.slice/a-b.slice; an empty slice is system.slice). The scope is managed
    /// through cgroupfs directly, not through systemd's D-Bus API: muelle runs on hosts
    /// where systemd is not PID 1, so there is no manager to ask for a transient unit. On a
    /// host with systemd this means systemd does not know the scope as one of its units.
    pub fn new(id: &str, cgroups_path: Option<&Path>, systemd: bool) -> Result<Self, CgroupError> {
        let mountinfo = fs::read_string(Path::new(PROC_MOUNTINFO))?;
        let mounts = parse_mountinfo(&mountinfo);
        let layout = detect_layout(&mounts, Path::new(CGROUP_ROOT))?;
        let requested = requested_path(id, cgroups_path, systemd)?;
        let own = own_cgroups_if_needed(&requested)?;
        let mut m = build(&layout, &own, &requested);
        if m.version == CgroupVersion::V1 {
            m.named = named_hierarchies(&mounts, Path::new(CGROUP_ROOT))
                .into_iter()
                .map(|(name, mount)| {
                    let path = hierarchy_path(&requested, None);
                    let dir = dir_in_mount(&mount, &path);
                    (
                        name,
                        CgroupDir {
                            mount: mount.mountpoint,
                            dir,
                        },
                    )
                })
                .collect();
            m.hybrid = hybrid_unified(&mounts, Path::new(CGROUP_ROOT)).map(|mount| {
                let path = hierarchy_path(&requested, None);
                let dir = dir_in_mount(&mount, &path);
                CgroupDir {
                    mount: mount.mountpoint,
                    dir,
                }
            });
        }
        Ok(m)
    }

    /// Same as [`Manager::new`], against a fake cgroupfs root for tests: `root` plays
    /// /sys/fs/cgroup and the version is given. For v1 each subdirectory of `root` named
    /// after controllers ("memory", "cpu,cpuacct") is a hierarchy mounted at its root.
    /// Relative paths are still resolved against the real /proc/self/cgroup.
    pub fn with_root(
        root: &Path,
        version: CgroupVersion,
        id: &str,
        cgroups_path: Option<&Path>,
        systemd: bool,
    ) -> Result<Self, CgroupError> {
        let layout = match version {
            CgroupVersion::V2 => Layout::V2(Mount {
                mountpoint: root.to_path_buf(),
                root: PathBuf::from("/"),
            }),
            CgroupVersion::V1 => Layout::V1(v1_layout_from_dirs(root)?),
        };
        let requested = requested_path(id, cgroups_path, systemd)?;
        let own = own_cgroups_if_needed(&requested)?;
        Ok(build(&layout, &own, &requested))
    }

    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    /// Creates the cgroup directories, without moving anything in.
    ///
    /// v1: one directory in every mounted controller hierarchy; cpuset.cpus/cpuset.mems are
    /// copied down from the parent where empty, as the kernel refuses tasks in a cpuset
    /// without cpus or mems. v2: the controllers a container can be limited by are enabled
    /// in each ancestor's cgroup.subtree_control.
    pub fn create(&self) -> Result<(), CgroupError> {
        match self.version {
            CgroupVersion::V1 => v1::create(self),
            CgroupVersion::V2 => v2::create(self),
        }
    }

    /// Creates the cgroup directories (as [`Manager::create`]) and moves `pid` in.
    ///
    /// Moving a task is the slow part on a quiet host: the first migration after a while waits
    /// for an RCU grace period (about 10 ms here), so callers overlap it with other work.
    pub fn apply(&self, pid: i32) -> Result<(), CgroupError> {
        match self.version {
            CgroupVersion::V1 => v1::apply(self, pid),
            CgroupVersion::V2 => v2::apply(self, pid),
        }
    }

    /// The cgroup2 directory a child can be cloned straight into (CLONE_INTO_CGROUP): the v2
    /// directory, or a hybrid v1 host's unified one. Writing a pid to a cgroup2
    /// cgroup.procs always takes the kernel's global threadgroup lock, whose first writer
    /// after a quiet spell waits for an RCU grace period (~10 ms); a clone into it does not.
    pub fn clone_into_dir(&self) -> Option<&Path> {
        match self.version {
            CgroupVersion::V1 => self.hybrid.as_ref().map(|c| c.dir.as_path()),
            CgroupVersion::V2 => self.v2.as_ref().map(|c| c.dir.as_path()),
        }
    }

    /// Moves the calling single-threaded process into each v1 hierarchy (named ones
    /// included; not a hybrid host's unified cgroup2) by writing "0" to its `tasks`: a
    /// thread moving itself does not take the global lock a pid written from outside does.
    /// Nothing to do on v2, whose one directory is entered by [`Manager::clone_into_dir`].
    pub fn join_self(&self) -> Result<(), CgroupError> {
        if self.version == CgroupVersion::V2 {
            return Ok(());
        }
        let mut dirs: Vec<&Path> = self
            .v1
            .values()
            .chain(self.named.values())
            .map(|c| c.dir.as_path())
            .collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            fs::write(&dir.join("tasks"), "0")?;
        }
        Ok(())
    }

    /// Moves `pid` into directories [`Manager::create`] made (the second half of
    /// [`Manager::apply`], for callers that created them earlier).
    pub fn enter(&self, pid: i32) -> Result<(), CgroupError> {
        match self.version {
            CgroupVersion::V1 => v1::enter(self, pid),
            CgroupVersion::V2 => v2::enter(self, pid),
        }
    }

    /// Writes the resource limits.
    ///
    /// A limit whose control file does not exist fails with an error naming the file
    /// (e.g. swap accounting disabled), except for these optional files that are skipped
    /// when absent: v1 memory.kmem.limit_in_bytes and memory.kmem.tcp.limit_in_bytes
    /// (kernel memory limits are gone from recent kernels), cpu.cfs_burst_us and cpu.idle
    /// (newer kernels only); net_cls / net_prio settings are skipped if those hierarchies
    /// are not mounted. On v2, swappiness, kernel memory and disableOOMKiller are ignored
    /// as v2 has no equivalent.
    ///
    /// Device rules: on v1 they are written to devices.deny/devices.allow. On v2, which has
    /// no such files, they are compiled into a BPF_PROG_TYPE_CGROUP_DEVICE program with the
    /// same semantics as v1 (the default set by "a" rules, then exceptions added and
    /// removed exactly as the v1 controller does), loaded as "muelle_devices" and attached
    /// to the container's cgroup with BPF_F_ALLOW_MULTI; the program a previous `set`
    /// attached is detached after the new one is in place. This needs CAP_SYS_ADMIN (or
    /// CAP_BPF). An empty rule list changes nothing, as on v1.
    pub fn set(&self, resources: &oci_spec::runtime::LinuxResources) -> Result<(), CgroupError> {
        match self.version {
            CgroupVersion::V1 => v1::set(self, resources),
            CgroupVersion::V2 => v2::set(self, resources),
        }
    }

    /// Freezes all tasks and waits (bounded) until the kernel reports the cgroup frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match self.version {
            CgroupVersion::V1 => v1::freeze(self),
            CgroupVersion::V2 => v2::freeze(self),
        }
    }

    pub fn thaw(&self) -> Result<(), CgroupError> {
        match self.version {
            CgroupVersion::V1 => v1::thaw(self),
            CgroupVersion::V2 => v2::thaw(self),
        }
    }

    /// Whether the cgroup is frozen (a cgroup that no longer exists is not).
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        match self.version {
            CgroupVersion::V1 => v1::is_frozen(self),
            CgroupVersion::V2 => v2::is_frozen(self),
        }
    }

    /// All pids in the cgroup and its sub-cgroups, sorted (v1: read from the pids,
    /// freezer or memory hierarchy, whichever is mounted).
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        match self.version {
            CgroupVersion::V1 => v1::pids(self),
            CgroupVersion::V2 => v2::pids(self),
        }
    }

    /// Resource usage, in the shape of runc's `events --stats` "data".
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        match self.version {
            CgroupVersion::V1 => v1::stats(self),
            CgroupVersion::V2 => v2::stats(self),
        }
    }

    /// How many processes the kernel's OOM killer killed in the cgroup: v2's
    /// `memory.events`, v1's `memory.oom_control` (kernel 4.13 and later), both `oom_kill`.
    /// 0 without a memory controller or on a kernel that does not count.
    pub fn oom_kills(&self) -> Result<u64, CgroupError> {
        let Some(dir) = self.path_for("memory") else {
            return Ok(0);
        };
        let path = dir.join(match self.version {
            CgroupVersion::V1 => "memory.oom_control",
            CgroupVersion::V2 => "memory.events",
        });
        let Some(content) = fs::read_optional(&path)? else {
            return Ok(0);
        };
        Ok(fs::parse_flat_keyed(&path, &content)?
            .get("oom_kill")
            .copied()
            .unwrap_or(0))
    }

    /// Removes the cgroup directories, children first. Directories already gone are fine.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        for dir in self.distinct_dirs() {
            fs::remove_tree(&dir)?;
        }
        Ok(())
    }

    /// The container's cgroup directory in the given v1 controller's hierarchy, or the v2
    /// directory whatever the controller.
    pub fn path_for(&self, controller: &str) -> Option<PathBuf> {
        match self.version {
            CgroupVersion::V1 => self.v1.get(controller).map(|c| c.dir.clone()),
            CgroupVersion::V2 => self.v2.as_ref().map(|c| c.dir.clone()),
        }
    }

    /// Every v1 hierarchy once (co-mounted controllers together), named hierarchies
    /// included, with the container's directory in each; empty on v2.
    pub fn v1_hierarchies(&self) -> Vec<V1Hierarchy> {
        let mut out: Vec<V1Hierarchy> = Vec::new();
        for c in self.v1.values().chain(self.named.values()) {
            let Some(name) = c.mount.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if out.iter().any(|h| h.name == name) {
                continue;
            }
            out.push(V1Hierarchy {
                name: name.to_string(),
                dir: c.dir.clone(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Controller → directory, as runc records in its state ("" is the v2 directory).
    pub fn paths(&self) -> BTreeMap<String, PathBuf> {
        match self.version {
            CgroupVersion::V1 => self
                .v1
                .iter()
                .map(|(k, c)| (k.clone(), c.dir.clone()))
                .collect(),
            CgroupVersion::V2 => self
                .v2
                .iter()
                .map(|c| (String::new(), c.dir.clone()))
                .collect(),
        }
    }

    /// Each directory once, as co-mounted v1 controllers share one.
    fn distinct_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = match self.version {
            CgroupVersion::V1 => self
                .v1
                .values()
                .chain(self.named.values())
                .chain(self.hybrid.iter())
                .map(|c| c.dir.clone())
                .collect(),
            CgroupVersion::V2 => self.v2.iter().map(|c| c.dir.clone()).collect(),
        };
        dirs.sort();
        dirs.dedup();
        dirs
    }

    fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.v1.get(controller).map(|c| c.dir.as_path())
    }

    /// The v1 directory of a controller a requested setting needs.
    fn v1_require(&self, controller: &str, what: &str) -> Result<&Path, CgroupError> {
        self.v1_dir(controller)
            .ok_or_else(|| CgroupError::NoController {
                controller: controller.to_string(),
                what: what.to_string(),
            })
    }

    fn v2_dir(&self) -> Result<&CgroupDir, CgroupError> {
        self.v2
            .as_ref()
            .ok_or_else(|| CgroupError::Other("cgroup v2 manager without a directory".into()))
    }
}

/// Whether the cgroup v2 device filter can be used here: loads (and drops) an allow-all
/// BPF_PROG_TYPE_CGROUP_DEVICE program; the error says why not (kernel, privileges).
pub fn probe_device_filter() -> Result<(), CgroupError> {
    devices_bpf::probe()
}

/// One mountinfo line, the parts needed here.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MountEntry {
    root: PathBuf,
    mountpoint: PathBuf,
    fstype: String,
    super_options: String,
}

/// mountinfo escapes space, tab, newline and backslash in paths as \ooo octal.
fn unescape_mountinfo(s: &str) -> PathBuf {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// Parses /proc/self/mountinfo: "id parent maj:min root mountpoint opts [optional…] -
/// fstype source superopts". Malformed lines are skipped: they cannot be cgroup mounts
/// we could use anyway.
fn parse_mountinfo(content: &str) -> Vec<MountEntry> {
    let mut out = Vec::new();
    for line in content.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        if sep < 6 || fields.len() < sep + 4 {
            continue;
        }
        out.push(MountEntry {
            root: unescape_mountinfo(fields[3]),
            mountpoint: unescape_mountinfo(fields[4]),
            fstype: fields[sep + 1].to_string(),
            super_options: fields[sep + 3].to_string(),
        });
    }
    out
}

/// Decides the cgroup layout from the mounts. Unified v2 only when `cgroup_root` itself
/// is cgroup2; otherwise the v1 controller mounts, as a hybrid host's cgroup2 mount
/// carries nothing a container needs. A host with only a cgroup2 mount elsewhere is v2.
fn detect_layout(mounts: &[MountEntry], cgroup_root: &Path) -> Result<Layout, CgroupError> {
    if let Some(m) = mounts.iter().rev().find(|m| m.mountpoint == cgroup_root) {
        if m.fstype == "cgroup2" {
            return Ok(Layout::V2(Mount {
                mountpoint: m.mountpoint.clone(),
                root: m.root.clone(),
            }));
        }
    }
    let mut v1: BTreeMap<String, Mount> = BTreeMap::new();
    for m in mounts.iter().filter(|m| m.fstype == "cgroup") {
        for opt in m.super_options.split(',') {
            if !V1_CONTROLLERS.contains(&opt) {
                continue;
            }
            let mount = Mount {
                mountpoint: m.mountpoint.clone(),
                root: m.root.clone(),
            };
            // A hierarchy can be mounted more than once (bind mounts); prefer the
            // conventional place.
            let replace = match v1.get(opt) {
                None => true,
                Some(old) => {
                    !old.mountpoint.starts_with(cgroup_root)
                        && m.mountpoint.starts_with(cgroup_root)
                }
            };
            if replace {
                v1.insert(opt.to_string(), mount);
            }
        }
    }
    if !v1.is_empty() {
        return Ok(Layout::V1(v1));
    }
    if let Some(m) = mounts.iter().find(|m| m.fstype == "cgroup2") {
        return Ok(Layout::V2(Mount {
            mountpoint: m.mountpoint.clone(),
            root: m.root.clone(),
        }));
    }
    Err(CgroupError::NoHierarchy {
        path: PathBuf::from(PROC_MOUNTINFO),
    })
}

/// The named v1 hierarchies ("name=systemd") mounted under `cgroup_root`, by name.
fn named_hierarchies(mounts: &[MountEntry], cgroup_root: &Path) -> BTreeMap<String, Mount> {
    let mut out = BTreeMap::new();
    for m in mounts
        .iter()
        .filter(|m| m.fstype == "cgroup" && m.mountpoint.starts_with(cgroup_root))
    {
        if let Some(name) = m.super_options.split(',').find(|o| o.starts_with("name=")) {
            out.entry(name.to_string()).or_insert_with(|| Mount {
                mountpoint: m.mountpoint.clone(),
                root: m.root.clone(),
            });
        }
    }
    out
}

/// The cgroup2 mount of a hybrid host, directly under `cgroup_root` (its "unified").
fn hybrid_unified(mounts: &[MountEntry], cgroup_root: &Path) -> Option<Mount> {
    mounts
        .iter()
        .find(|m| m.fstype == "cgroup2" && m.mountpoint.parent() == Some(cgroup_root))
        .map(|m| Mount {
            mountpoint: m.mountpoint.clone(),
            root: m.root.clone(),
        })
}

/// v1 layout of a fake root: each subdirectory named after controllers is a hierarchy.
/// Symlinks ("cpu" → "cpu,cpuacct" on real hosts) are skipped so that a co-mounted
/// hierarchy is seen once, under its real name.
fn v1_layout_from_dirs(root: &Path) -> Result<BTreeMap<String, Mount>, CgroupError> {
    let mut layout = BTreeMap::new();
    let entries = std::fs::read_dir(root).map_err(|source| CgroupError::Io {
        what: "list directory",
        path: root.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| CgroupError::Io {
            what: "list directory",
            path: root.to_path_buf(),
            source,
        })?;
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !is_dir {
            continue;
        }
        for ctrl in name.split(',').filter(|c| V1_CONTROLLERS.contains(c)) {
            layout.insert(
                ctrl.to_string(),
                Mount {
                    mountpoint: entry.path(),
                    root: PathBuf::from("/"),
                },
            );
        }
    }
    if layout.is_empty() {
        return Err(CgroupError::NoHierarchy {
            path: root.to_path_buf(),
        });
    }
    Ok(layout)
}

/// Parses /proc/self/cgroup: "hierarchy-id:controllers:path" per line; v2 is "0::path".
fn parse_proc_cgroup(content: &str) -> OwnCgroups {
    let mut own = OwnCgroups::default();
    for line in content.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if id == "0" && ctrls.is_empty() {
            own.v2 = Some(PathBuf::from(path));
            continue;
        }
        for c in ctrls
            .split(',')
            .filter(|c| !c.is_empty() && !c.starts_with("name="))
        {
            own.v1.insert(c.to_string(), PathBuf::from(path));
        }
    }
    own
}

fn own_cgroups_if_needed(requested: &Requested) -> Result<OwnCgroups, CgroupError> {
    match requested {
        Requested::Absolute(_) => Ok(OwnCgroups::default()),
        Requested::Relative(_) => Ok(parse_proc_cgroup(&fs::read_string(Path::new(PROC_CGROUP))?)),
    }
}

/// Lexically normalises an absolute path: "." dropped, ".." never climbs above the root,
/// so that a cgroups path cannot escape its hierarchy.
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for comp in path.components() {
        match comp {
            Component::Normal(c) => out.push(c),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Turns the spec's cgroups path into an absolute or relative path.
fn requested_path(
    id: &str,
    cgroups_path: Option<&Path>,
    systemd: bool,
) -> Result<Requested, CgroupError> {
    if systemd {
        let spec = match cgroups_path {
            Some(p) => p
                .to_str()
                .ok_or_else(|| CgroupError::InvalidPath {
                    path: p.to_string_lossy().into_owned(),
                    reason: "not valid UTF-8".into(),
                })?
                .to_string(),
            None => format!("system.slice:muelle:{id}"),
        };
        return Ok(Requested::Absolute(systemd_path(&spec)?));
    }
    match cgroups_path {
        None => Ok(Requested::Absolute(PathBuf::from("/muelle").join(id))),
        Some(p) if p.as_os_str().is_empty() => {
            Ok(Requested::Absolute(PathBuf::from("/muelle").join(id)))
        }
        Some(p) if p.is_absolute() => Ok(Requested::Absolute(clean(p))),
        Some(p) => Ok(Requested::Relative(p.to_path_buf())),
    }
}

/// Maps runc's systemd cgroups path "slice:prefix:name" to its cgroupfs path.
fn systemd_path(spec: &str) -> Result<PathBuf, CgroupError> {
    let invalid = |reason: &str| CgroupError::InvalidPath {
        path: spec.to_string(),
        reason: reason.to_string(),
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let [slice, prefix, name] = parts.as_slice() else {
        return Err(invalid(
            "with --systemd-cgroup it must be \"slice:prefix:name\"",
        ));
    };
    if name.is_empty() {
        return Err(invalid("the unit name part is empty"));
    }
    if [slice, prefix, name].iter().any(|p| p.contains('/')) {
        return Err(invalid("systemd unit names cannot contain '/'"));
    }
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    let mut path = expand_slice(slice).map_err(|r| invalid(&r))?;
    // A name that is itself a slice is a sub-slice, as runc treats it.
    let unit = if name.ends_with(".slice") {
        name.to_string()
    } else if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    path.push(unit);
    Ok(path)
}

/// systemd nests slices by their dash-separated name: "a-b.slice" lives in
/// /a.slice/a-b.slice. "-.slice" is the root slice.
fn expand_slice(slice: &str) -> Result<PathBuf, String> {
    let base = slice
        .strip_suffix(".slice")
        .ok_or_else(|| format!("{slice:?} is not a slice name (must end in .slice)"))?;
    let mut path = PathBuf::from("/");
    if base == "-" {
        return Ok(path);
    }
    if base.is_empty() || base.starts_with('-') || base.ends_with('-') || base.contains("--") {
        return Err(format!("{slice:?} is not a valid slice name"));
    }
    let mut prefix = String::new();
    for part in base.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push(format!("{prefix}.slice"));
    }
    Ok(path)
}

/// The directory of hierarchy path `cgroup` (absolute from the hierarchy root) under a
/// mount. When the mount shows only a subtree (its root is not "/"), paths inside that
/// subtree are made relative to it; paths outside it cannot be reached, and are taken
/// as relative to the visible root.
fn dir_in_mount(mount: &Mount, cgroup: &Path) -> PathBuf {
    let rel = cgroup
        .strip_prefix(&mount.root)
        .or_else(|_| cgroup.strip_prefix("/"))
        .unwrap_or(cgroup);
    if rel.as_os_str().is_empty() {
        mount.mountpoint.clone()
    } else {
        mount.mountpoint.join(rel)
    }
}

fn hierarchy_path(requested: &Requested, own: Option<&PathBuf>) -> PathBuf {
    match requested {
        Requested::Absolute(p) => p.clone(),
        Requested::Relative(p) => {
            let base = own.cloned().unwrap_or_else(|| PathBuf::from("/"));
            clean(&base.join(p))
        }
    }
}

fn build(layout: &Layout, own: &OwnCgroups, requested: &Requested) -> Manager {
    match layout {
        Layout::V2(mount) => {
            let path = hierarchy_path(requested, own.v2.as_ref());
            Manager {
                version: CgroupVersion::V2,
                v1: BTreeMap::new(),
                v2: Some(CgroupDir {
                    mount: mount.mountpoint.clone(),
                    dir: dir_in_mount(mount, &path),
                }),
                named: BTreeMap::new(),
                hybrid: None,
            }
        }
        Layout::V1(mounts) => {
            let v1 = mounts
                .iter()
                .map(|(ctrl, mount)| {
                    let path = hierarchy_path(requested, own.v1.get(ctrl));
                    let dir = CgroupDir {
                        mount: mount.mountpoint.clone(),
                        dir: dir_in_mount(mount, &path),
                    };
                    (ctrl.clone(), dir)
                })
                .collect();
            Manager {
                version: CgroupVersion::V1,
                v1,
                v2: None,
                named: BTreeMap::new(),
                hybrid: None,
            }
        }
    }
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Resource usage, serialised like runc's `events --stats` "data" object (field names
/// and omitted zero values included), so tools parsing runc's output read ours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
    pub blkio: BlkioStats,
    pub hugetlb: BTreeMap<String, HugetlbStats>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuStats {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

/// CPU time in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Nanoseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    /// As in runc, memory+swap (v1 memsw semantics), also on v2.
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

/// Bytes; an unlimited limit is `u64::MAX` on v2 and the kernel's page-rounded maximum on v1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

/// `limit` is 0 when unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PidsStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStats {
    #[serde(
        rename = "ioServiceBytesRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioServicedRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioQueueRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_queued_recursive: Vec<BlkioEntry>,
    #[serde(
        rename = "ioServiceTimeRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_service_time_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioWaitTimeRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_wait_time_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioMergedRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_merged_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioTimeRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_time_recursive: Vec<BlkioEntry>,
    #[serde(rename = "sectorsRecursive", skip_serializing_if = "Vec::is_empty")]
    pub sectors_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioEntry {
    #[serde(skip_serializing_if = "is_zero")]
    pub major: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub minor: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub value: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HugetlbStats {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

/// Checks a size or key that becomes part of a control file name, so that it cannot
/// name a file elsewhere.
fn check_file_part(what: &str, s: &str) -> Result<(), CgroupError> {
    if s.is_empty() || s.contains('/') || s.contains("..") || s.contains('\0') {
        return Err(CgroupError::InvalidResource {
            what: what.to_string(),
            reason: format!("{s:?} cannot be used as part of a cgroup file name"),
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;

    /// Creates files (and their directories) under `root`, as a fake cgroupfs.
    pub(crate) fn fake_files(root: &Path, files: &[(&str, &str)]) {
        for (path, content) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
        }
    }

    pub(crate) fn read(root: &Path, path: &str) -> String {
        std::fs::read_to_string(root.join(path)).unwrap()
    }

    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:5 - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn detect_hybrid_as_v1() {
        let mounts = parse_mountinfo(HYBRID_MOUNTINFO);
        assert_eq!(mounts.len(), 6);
        let Layout::V1(v1) = detect_layout(&mounts, Path::new(CGROUP_ROOT)).unwrap() else {
            panic!("hybrid must be v1")
        };
        assert_eq!(v1.keys().collect::<Vec<_>>(), ["cpu", "cpuacct", "memory"]);
        assert_eq!(v1["memory"].mountpoint, Path::new("/sys/fs/cgroup/memory"));
    }

    #[test]
    fn named_and_hybrid_hierarchies() {
        let mounts = parse_mountinfo(HYBRID_MOUNTINFO);
        let root = Path::new(CGROUP_ROOT);
        let named = named_hierarchies(&mounts, root);
        assert_eq!(named.keys().collect::<Vec<_>>(), ["name=systemd"]);
        assert_eq!(
            named["name=systemd"].mountpoint,
            Path::new("/sys/fs/cgroup/systemd")
        );
        let unified = hybrid_unified(&mounts, root).expect("hybrid cgroup2 mount");
        assert_eq!(unified.mountpoint, Path::new("/sys/fs/cgroup/unified"));
        let info = "29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(hybrid_unified(&parse_mountinfo(info), root), None);
    }

    #[test]
    fn v1_hierarchies_once_each_with_named() {
        let dir = |m: &str, d: &str| CgroupDir {
            mount: PathBuf::from(m),
            dir: PathBuf::from(d),
        };
        let m = Manager {
            version: CgroupVersion::V1,
            v1: BTreeMap::from([
                ("cpu".into(), dir("/r/cpu,cpuacct", "/r/cpu,cpuacct/c")),
                ("cpuacct".into(), dir("/r/cpu,cpuacct", "/r/cpu,cpuacct/c")),
                ("memory".into(), dir("/r/memory", "/r/memory/c")),
            ]),
            v2: None,
            named: BTreeMap::from([("name=systemd".into(), dir("/r/systemd", "/r/systemd/c"))]),
            hybrid: Some(dir("/r/unified", "/r/unified/c")),
        };
        let names: Vec<String> = m.v1_hierarchies().into_iter().map(|h| h.name).collect();
        assert_eq!(names, ["cpu,cpuacct", "memory", "systemd"]);
        assert_eq!(m.distinct_dirs().len(), 4);
    }

    #[test]
    fn detect_comounted_and_unified() {
        let info = "\
1 0 0:1 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
2 0 0:2 /docker/abc /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids
";
        let Layout::V1(v1) = detect_layout(&parse_mountinfo(info), Path::new(CGROUP_ROOT)).unwrap()
        else {
            panic!("v1 expected")
        };
        assert_eq!(v1["cpu"], v1["cpuacct"]);
        assert_eq!(v1["pids"].mountpoint, Path::new("/sys/fs/cgroup/my pids"));
        assert_eq!(v1["pids"].root, Path::new("/docker/abc"));

        let info = "29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            detect_layout(&parse_mountinfo(info), Path::new(CGROUP_ROOT)).unwrap(),
            Layout::V2(Mount {
                mountpoint: CGROUP_ROOT.into(),
                root: "/".into()
            })
        );
        assert!(detect_layout(&[], Path::new(CGROUP_ROOT)).is_err());
    }

    #[test]
    fn proc_cgroup() {
        let own = parse_proc_cgroup(
            "9:name=systemd:/\n4:memory:/process_api/1e3d\n2:cpu,cpuacct:/x\n0::/\n",
        );
        assert_eq!(own.v1["memory"], Path::new("/process_api/1e3d"));
        assert_eq!(own.v1["cpuacct"], Path::new("/x"));
        assert!(!own.v1.contains_key("name=systemd"));
        assert_eq!(own.v2.as_deref(), Some(Path::new("/")));
    }

    fn v1_layout(root: &Path) -> Layout {
        let mut m = BTreeMap::new();
        for c in ["cpu", "memory"] {
            m.insert(
                c.to_string(),
                Mount {
                    mountpoint: root.join(c),
                    root: "/".into(),
                },
            );
        }
        Layout::V1(m)
    }

    #[test]
    fn paths_absolute_and_default() {
        let root = Path::new("/fake");
        let own = OwnCgroups::default();
        let m = build(
            &v1_layout(root),
            &own,
            &requested_path("c1", None, false).unwrap(),
        );
        assert_eq!(
            m.path_for("memory").unwrap(),
            Path::new("/fake/memory/muelle/c1")
        );
        assert_eq!(m.path_for("pids"), None);
        let req = requested_path("c1", Some(Path::new("/a/./b/../../../c")), false).unwrap();
        assert_eq!(req, Requested::Absolute("/c".into()));
        let m = build(&v1_layout(root), &own, &req);
        assert_eq!(m.path_for("cpu").unwrap(), Path::new("/fake/cpu/c"));
    }

    #[test]
    fn paths_relative_to_own_cgroup() {
        let root = Path::new("/fake");
        let own = parse_proc_cgroup("4:memory:/process_api/h\n1:cpu:/\n0::/user.slice/u\n");
        let req = requested_path("c1", Some(Path::new("box/c1")), false).unwrap();
        assert_eq!(req, Requested::Relative("box/c1".into()));
        let m = build(&v1_layout(root), &own, &req);
        assert_eq!(
            m.path_for("memory").unwrap(),
            Path::new("/fake/memory/process_api/h/box/c1")
        );
        assert_eq!(m.path_for("cpu").unwrap(), Path::new("/fake/cpu/box/c1"));

        let v2 = Layout::V2(Mount {
            mountpoint: root.into(),
            root: "/".into(),
        });
        let m = build(&v2, &own, &req);
        assert_eq!(
            m.path_for("anything").unwrap(),
            Path::new("/fake/user.slice/u/box/c1")
        );
        // ".." cannot climb out of the hierarchy.
        let req = requested_path("c1", Some(Path::new("../../../../x")), false).unwrap();
        assert_eq!(
            build(&v2, &own, &req).path_for("").unwrap(),
            Path::new("/fake/x")
        );
    }

    #[test]
    fn paths_under_a_subtree_mount() {
        let mount = Mount {
            mountpoint: "/sys/fs/cgroup/memory".into(),
            root: "/docker/abc".into(),
        };
        assert_eq!(
            dir_in_mount(&mount, Path::new("/docker/abc/sub")),
            Path::new("/sys/fs/cgroup/memory/sub")
        );
        assert_eq!(
            dir_in_mount(&mount, Path::new("/other")),
            Path::new("/sys/fs/cgroup/memory/other")
        );
    }

    #[test]
    fn systemd_paths() {
        let p = |s: &str| systemd_path(s).map(|p| p.to_string_lossy().into_owned());
        assert_eq!(
            p("system.slice:docker:abc").unwrap(),
            "/system.slice/docker-abc.scope"
        );
        assert_eq!(p(":docker:abc").unwrap(), "/system.slice/docker-abc.scope");
        assert_eq!(
            p("a-b-c.slice:p:n").unwrap(),
            "/a.slice/a-b.slice/a-b-c.slice/p-n.scope"
        );
        assert_eq!(p("-.slice:p:n").unwrap(), "/p-n.scope");
        assert_eq!(p("user.slice::n").unwrap(), "/user.slice/n.scope");
        assert_eq!(
            p("machine.slice:x:sub.slice").unwrap(),
            "/machine.slice/sub.slice"
        );
        for bad in [
            "/foo/bar",
            "a:b",
            "a.slice:p:",
            "nota:p:n",
            "a--b.slice:p:n",
            "-a.slice:p:n",
            "a:b:c:d",
        ] {
            assert!(p(bad).is_err(), "{bad} should be rejected");
        }
        let req = requested_path("id9", None, true).unwrap();
        assert_eq!(
            req,
            Requested::Absolute("/system.slice/muelle-id9.scope".into())
        );
        let req = requested_path(
            "id9",
            Some(Path::new("kubepods-burstable.slice:cri:x")),
            true,
        )
        .unwrap();
        assert_eq!(
            req,
            Requested::Absolute("/kubepods.slice/kubepods-burstable.slice/cri-x.scope".into())
        );
    }

    #[test]
    fn with_root_v1_layout_and_serde() {
        let tmp = tempfile::tempdir().unwrap();
        for d in ["cpu,cpuacct", "memory", "systemd", "unified", "name=foo"] {
            std::fs::create_dir(tmp.path().join(d)).unwrap();
        }
        let m = Manager::with_root(
            tmp.path(),
            CgroupVersion::V1,
            "c",
            Some(Path::new("/t/c")),
            false,
        )
        .unwrap();
        assert_eq!(m.version(), CgroupVersion::V1);
        assert_eq!(
            m.paths().keys().collect::<Vec<_>>(),
            ["cpu", "cpuacct", "memory"]
        );
        assert_eq!(m.path_for("cpu"), m.path_for("cpuacct"));
        assert_eq!(
            m.path_for("cpu").unwrap(),
            tmp.path().join("cpu,cpuacct/t/c")
        );
        assert_eq!(m.distinct_dirs().len(), 2);
        let json = serde_json::to_string(&m).unwrap();
        let back: Manager = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert!(Manager::with_root(
            &tmp.path().join("cpu,cpuacct"),
            CgroupVersion::V1,
            "c",
            None,
            false
        )
        .is_err());
    }

    #[test]
    fn apply_v1_copies_cpuset_and_joins() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        fake_files(
            r,
            &[
                ("cpuset/cpuset.cpus", "0-1\n"),
                ("cpuset/cpuset.mems", "0\n"),
                ("cpuset/m/cpuset.cpus", ""),
                ("cpuset/m/cpuset.mems", "0\n"),
                ("cpuset/m/c/cpuset.cpus", ""),
                ("cpuset/m/c/cpuset.mems", ""),
                ("cpuset/m/c/cgroup.procs", ""),
                ("memory/m/c/cgroup.procs", ""),
            ],
        );
        let m =
            Manager::with_root(r, CgroupVersion::V1, "c", Some(Path::new("/m/c")), false).unwrap();
        m.apply(42).unwrap();
        assert_eq!(read(r, "cpuset/m/cpuset.cpus"), "0-1");
        assert_eq!(read(r, "cpuset/m/cpuset.mems"), "0\n");
        assert_eq!(read(r, "cpuset/m/c/cpuset.cpus"), "0-1");
        assert_eq!(read(r, "cpuset/m/c/cpuset.mems"), "0\n".trim());
        assert_eq!(read(r, "cpuset/m/c/cgroup.procs"), "42");
        assert_eq!(read(r, "memory/m/c/cgroup.procs"), "42");
        assert_eq!(m.pids().unwrap(), vec![42]);
    }

    #[test]
    fn apply_v1_fails_naming_cgroup_procs() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("memory")).unwrap();
        let m = Manager::with_root(tmp.path(), CgroupVersion::V1, "c", None, false).unwrap();
        let msg = m.apply(7).unwrap_err().to_string();
        assert!(
            msg.contains("muelle/c/cgroup.procs") && msg.contains("\"7\""),
            "{msg}"
        );
    }

    #[test]
    fn destroy_removes_children_first() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        for d in ["memory/muelle/c/sub/deep", "pids/muelle/c"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        let m = Manager::with_root(r, CgroupVersion::V1, "c", None, false).unwrap();
        m.destroy().unwrap();
        assert!(!r.join("memory/muelle/c").exists());
        assert!(!r.join("pids/muelle/c").exists());
        assert!(r.join("memory/muelle").exists(), "parents are left alone");
        m.destroy().unwrap();
    }

    #[test]
    fn stats_json_shape() {
        let mut s = Stats::default();
        s.cpu.usage.total = 5;
        s.memory.usage.limit = 10;
        s.pids.current = 2;
        s.hugetlb.insert("2MB".into(), HugetlbStats::default());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["cpu"]["usage"]["total"], 5);
        assert_eq!(v["cpu"]["usage"]["kernel"], 0);
        assert!(v["cpu"]["usage"].get("percpu").is_none());
        assert_eq!(v["memory"]["usage"]["limit"], 10);
        assert_eq!(v["memory"]["usage"]["failcnt"], 0);
        assert!(v["memory"].get("kernelTCP").is_some());
        assert_eq!(v["pids"]["current"], 2);
        assert_eq!(v["hugetlb"]["2MB"]["failcnt"], 0);
        let back: Stats = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }
}
