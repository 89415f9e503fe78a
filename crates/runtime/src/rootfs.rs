//! The container's filesystem view: the rootfs bind, the spec's mounts, devices, pivot_root,
//! masked and read-only paths, sysctls. Runs in the container's init, in its new mount
//! namespace, before it drops privileges.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceType, Mount, Spec};
use rustix::fs::{Mode, OFlags};

use crate::cgroups::Manager;
use crate::error::{Result, RuntimeError};
use crate::safepath::{create_file_in_root, mkdir_all_in_root, open_in_root, proc_fd_path};
use crate::sys;

/// One parsed mount option.
#[derive(Debug, Clone, PartialEq)]
pub enum MountOpt {
    /// Set (true) or clear (false) an MS_* flag.
    Flag(bool, libc::c_ulong),
    /// A propagation change applied after the mount.
    Propagation(libc::c_ulong),
    /// A recursive attribute (mount_setattr): set (true) or clear (false) a MOUNT_ATTR_*.
    Recursive(bool, u64),
    /// idmapped mount request.
    Idmap,
    /// Accepted and ignored (crun/podman extensions that have no meaning here).
    Ignored,
    /// Passed to the filesystem as data.
    Data(String),
}

/// Parses one option as runc does: known flags, propagation, recursive attributes; anything
/// else is filesystem data.
pub fn parse_option(o: &str) -> Option<MountOpt> {
    use libc::*;
    use MountOpt::*;
    let f = |set: bool, fl: c_ulong| Some(Flag(set, fl));
    match o {
        "defaults" => f(true, 0),
        "ro" => f(true, MS_RDONLY),
        "rw" => f(false, MS_RDONLY),
        "suid" => f(false, MS_NOSUID),
        "nosuid" => f(true, MS_NOSUID),
        "dev" => f(false, MS_NODEV),
        "nodev" => f(true, MS_NODEV),
        "exec" => f(false, MS_NOEXEC),
        "noexec" => f(true, MS_NOEXEC),
        "sync" => f(true, MS_SYNCHRONOUS),
        "async" => f(false, MS_SYNCHRONOUS),
        "dirsync" => f(true, MS_DIRSYNC),
        "remount" => f(true, MS_REMOUNT),
        "mand" => f(true, MS_MANDLOCK),
        "nomand" => f(false, MS_MANDLOCK),
        "atime" => f(false, MS_NOATIME),
        "noatime" => f(true, MS_NOATIME),
        "diratime" => f(false, MS_NODIRATIME),
        "nodiratime" => f(true, MS_NODIRATIME),
        "bind" => f(true, MS_BIND),
        "rbind" => f(true, MS_BIND | MS_REC),
        "relatime" => f(true, MS_RELATIME),
        "norelatime" => f(false, MS_RELATIME),
        "strictatime" => f(true, MS_STRICTATIME),
        "nostrictatime" => f(false, MS_STRICTATIME),
        "lazytime" => f(true, MS_LAZYTIME),
        "nolazytime" => f(false, MS_LAZYTIME),
        "iversion" => f(true, MS_I_VERSION),
        "noiversion" => f(false, MS_I_VERSION),
        "silent" => f(true, MS_SILENT),
        "loud" => f(false, MS_SILENT),
        "nosymfollow" => f(true, 256),
        "symfollow" => f(false, 256),
        "private" => Some(Propagation(MS_PRIVATE)),
        "rprivate" => Some(Propagation(MS_PRIVATE | MS_REC)),
        "shared" => Some(Propagation(MS_SHARED)),
        "rshared" => Some(Propagation(MS_SHARED | MS_REC)),
        "slave" => Some(Propagation(MS_SLAVE)),
        "rslave" => Some(Propagation(MS_SLAVE | MS_REC)),
        "unbindable" => Some(Propagation(MS_UNBINDABLE)),
        "runbindable" => Some(Propagation(MS_UNBINDABLE | MS_REC)),
        "rro" => Some(Recursive(true, MOUNT_ATTR_RDONLY)),
        "rrw" => Some(Recursive(false, MOUNT_ATTR_RDONLY)),
        "rnosuid" => Some(Recursive(true, MOUNT_ATTR_NOSUID)),
        "rsuid" => Some(Recursive(false, MOUNT_ATTR_NOSUID)),
        "rnodev" => Some(Recursive(true, MOUNT_ATTR_NODEV)),
        "rdev" => Some(Recursive(false, MOUNT_ATTR_NODEV)),
        "rnoexec" => Some(Recursive(true, MOUNT_ATTR_NOEXEC)),
        "rexec" => Some(Recursive(false, MOUNT_ATTR_NOEXEC)),
        "rnoatime" => Some(Recursive(true, MOUNT_ATTR_NOATIME)),
        "rnosymfollow" => Some(Recursive(true, MOUNT_ATTR_NOSYMFOLLOW)),
        "rsymfollow" => Some(Recursive(false, MOUNT_ATTR_NOSYMFOLLOW)),
        "idmap" | "ridmap" => Some(Idmap),
        "tmpcopyup" | "copy-symlink" | "notmpcopyup" => Some(Ignored),
        _ => Some(Data(o.to_string())),
    }
}

/// A mount's options folded into flags, propagation, recursive attributes and data.
#[derive(Debug, Default)]
pub struct ParsedOptions {
    pub flags: libc::c_ulong,
    pub clear: libc::c_ulong,
    pub propagation: Vec<libc::c_ulong>,
    pub rec_set: u64,
    pub rec_clr: u64,
    pub idmap: bool,
    pub data: Vec<String>,
}

/// Folds a mount's options.
pub fn parse_options(opts: &[String]) -> ParsedOptions {
    let mut p = ParsedOptions::default();
    for o in opts {
        match parse_option(o) {
            Some(MountOpt::Flag(true, f)) => {
                p.flags |= f;
                p.clear &= !f;
            }
            Some(MountOpt::Flag(false, f)) => {
                p.flags &= !f;
                p.clear |= f;
            }
            Some(MountOpt::Propagation(f)) => p.propagation.push(f),
            Some(MountOpt::Recursive(true, a)) => p.rec_set |= a,
            Some(MountOpt::Recursive(false, a)) => p.rec_clr |= a,
            Some(MountOpt::Idmap) => p.idmap = true,
            Some(MountOpt::Data(d)) => p.data.push(d),
            Some(MountOpt::Ignored) | None => {}
        }
    }
    p
}

pub(crate) fn cstr(s: &str) -> Result<CString> {
    CString::new(s)
        .map_err(|_| RuntimeError::InvalidConfig(format!("path {s:?} contains a NUL byte")))
}

pub(crate) fn cpath(p: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).map_err(|_| {
        RuntimeError::InvalidConfig(format!("path {} contains a NUL byte", p.display()))
    })
}

pub(crate) fn mount_err(dest: &Path, what: &str, e: std::io::Error) -> RuntimeError {
    RuntimeError::sys(format!("mount {what} on {}", dest.display()), e)
}

/// What the mount code needs to know about the container being built.
pub struct RootfsContext<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    /// The container has a new user namespace (device nodes must be bind mounts).
    pub in_userns: bool,
    pub cgroupns: bool,
    pub cgroup: Option<&'a Manager>,
    /// Detached idmapped mounts made by the runtime, by index in `mounts`.
    pub idmapped: &'a std::collections::BTreeMap<usize, OwnedFd>,
    /// Waits until the container's cgroup directories exist: the runtime makes them while
    /// the init mounts what does not need them.
    pub cgroup_ready: &'a dyn Fn() -> Result<()>,
}

/// Makes `/` non-propagating into the host (or as rootfsPropagation says), then binds the
/// rootfs onto itself so it is a mount point that pivot_root accepts, and returns a handle.
pub fn prepare_root(ctx: &RootfsContext<'_>) -> Result<OwnedFd> {
    // Nothing done here may propagate back to the host. rootfsPropagation is applied to the
    // container's own "/" after pivot_root (see `finalize`): pivot_root refuses a shared
    // new root, and on the old root it would not describe the container's view anyway.
    sys::mount(None, c"/", None, libc::MS_SLAVE | libc::MS_REC, None)
        .map_err(|e| mount_err(Path::new("/"), "propagation", e))?;
    let root = cpath(ctx.rootfs)?;
    sys::mount(Some(&root), &root, None, libc::MS_BIND | libc::MS_REC, None)
        .map_err(|e| mount_err(ctx.rootfs, "rootfs bind", e))?;
    rustix::fs::open(
        ctx.rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| RuntimeError::path("open rootfs", ctx.rootfs, e))
}

/// Mounts every entry of the spec's `mounts`, in order.
pub fn mount_all(ctx: &RootfsContext<'_>, root: &OwnedFd) -> Result<()> {
    for (i, m) in ctx.spec.mounts().iter().flatten().enumerate() {
        match ctx.idmapped.get(&i) {
            Some(tree) => move_idmapped(root, m, tree)?,
            None => mount_one(ctx, root, m)?,
        }
    }
    Ok(())
}

fn is_bind(m: &Mount) -> bool {
    m.typ().as_deref() == Some("bind")
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

fn mount_one(ctx: &RootfsContext<'_>, root: &OwnedFd, m: &Mount) -> Result<()> {
    let dest = m.destination();
    crate::safepath::check_no_escaping_symlink(root.as_fd(), dest).map_err(|e| {
        RuntimeError::InvalidConfig(format!("mount destination {}: {e}", dest.display()))
    })?;
    let opts = parse_options(m.options().as_deref().unwrap_or(&[]));
    let typ = m.typ().clone().unwrap_or_default();
    if opts.idmap {
        // prepare() in idmap.rs made it, or refused it with a reason.
        return Err(RuntimeError::Unsupported(format!(
            "mount {}: idmapped mount was not prepared",
            dest.display()
        )));
    }
    let is_cgroup = matches!(typ.as_str(), "cgroup" | "cgroup2");
    if is_cgroup
        || (is_bind(m)
            && m.source()
                .as_ref()
                .is_some_and(|s| s.starts_with(crate::cgroups::CGROUP_ROOT)))
    {
        (ctx.cgroup_ready)()?;
    }
    if is_bind(m) {
        return mount_bind(ctx, root, m, &opts);
    }
    if is_cgroup {
        return crate::cgroupfs::mount_cgroup(ctx, root, m, &opts);
    }
    let target = mkdir_all_in_root(root.as_fd(), dest, 0o755)
        .map_err(|e| RuntimeError::path("create mount point", dest, e))?;
    let tpath = cstr(&proc_fd_path(&target))?;
    let source = m.source().as_ref().map(|s| cpath(s)).transpose()?;
    let fstype = cstr(&typ)?;
    let data = if opts.data.is_empty() {
        None
    } else {
        Some(cstr(&opts.data.join(","))?)
    };
    let flags = opts.flags & !libc::MS_REMOUNT;
    match sys::mount(
        source.as_deref(),
        &tpath,
        Some(&fstype),
        flags,
        data.as_deref(),
    ) {
        Ok(()) => {}
        // sysfs can only be mounted by the owner of the network namespace; fall back to the
        // host's, as runc does.
        Err(e) if typ == "sysfs" && e.raw_os_error() == Some(libc::EPERM) => {
            sys::mount(
                Some(c"/sys"),
                &tpath,
                None,
                libc::MS_BIND | libc::MS_REC,
                None,
            )
            .map_err(|e| mount_err(dest, "sysfs (bind fallback)", e))?;
            if flags & libc::MS_RDONLY != 0 {
                let t = reopen(root, dest)?;
                sys::mount_setattr(&t, true, libc::MOUNT_ATTR_RDONLY, 0)
                    .map_err(|e| mount_err(dest, "read-only", e))?;
            }
        }
        Err(e) => return Err(mount_err(dest, &typ, e)),
    }
    finish_mount(root, dest, &opts)
}

/// Moves a detached idmapped mount into place, then applies the mount's other flags.
fn move_idmapped(root: &OwnedFd, m: &Mount, tree: &OwnedFd) -> Result<()> {
    let dest = m.destination();
    // The mount's own root says whether it is a file: its source path may not be
    // reachable from here (a 0700 directory of host root, seen from a user namespace).
    let is_dir = rustix::fs::fstat(tree)
        .map(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory
        })
        .unwrap_or(true);
    let target = if is_dir {
        mkdir_all_in_root(root.as_fd(), dest, 0o755)
    } else {
        create_file_in_root(root.as_fd(), dest)
    }
    .map_err(|e| RuntimeError::path("create mount point", dest, e))?;
    rustix::mount::move_mount(
        tree,
        "",
        &target,
        "",
        rustix::mount::MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH
            | rustix::mount::MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
    .map_err(|e| RuntimeError::sys(format!("move idmapped mount onto {}", dest.display()), e))?;
    let opts = parse_options(m.options().as_deref().unwrap_or(&[]));
    let extra = opts.flags & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT);
    if extra != 0 {
        remount_bind(root, dest, extra)?;
    }
    finish_mount(root, dest, &opts)
}

pub(crate) fn reopen(root: &OwnedFd, dest: &Path) -> Result<CString> {
    let fd = open_in_root(root.as_fd(), dest, OFlags::PATH, Mode::empty())
        .map_err(|e| RuntimeError::path("reopen mount", dest, e))?;
    let p = cstr(&proc_fd_path(&fd))?;
    // The fd must stay open while the path is used: leak it into the init, which closes every
    // runtime fd before exec anyway.
    std::mem::forget(fd);
    Ok(p)
}

fn finish_mount(root: &OwnedFd, dest: &Path, opts: &ParsedOptions) -> Result<()> {
    if opts.rec_set != 0 || opts.rec_clr != 0 {
        let t = reopen(root, dest)?;
        sys::mount_setattr(&t, true, opts.rec_set, opts.rec_clr)
            .map_err(|e| mount_err(dest, "recursive attributes", e))?;
    }
    for &p in &opts.propagation {
        let t = reopen(root, dest)?;
        sys::mount(None, &t, None, p, None).map_err(|e| mount_err(dest, "propagation", e))?;
    }
    Ok(())
}

fn mount_bind(
    ctx: &RootfsContext<'_>,
    root: &OwnedFd,
    m: &Mount,
    opts: &ParsedOptions,
) -> Result<()> {
    let dest = m.destination();
    let src = m.source().clone().unwrap_or_default();
    let src = if src.is_absolute() {
        src
    } else {
        ctx.bundle.join(src)
    };
    let meta =
        std::fs::metadata(&src).map_err(|e| RuntimeError::path("bind mount source", &src, e))?;
    let target = if meta.is_dir() {
        mkdir_all_in_root(root.as_fd(), dest, 0o755)
    } else {
        create_file_in_root(root.as_fd(), dest)
    }
    .map_err(|e| RuntimeError::path("create mount point", dest, e))?;
    let tpath = cstr(&proc_fd_path(&target))?;
    let csrc = cpath(&src)?;
    let rec = opts.flags & libc::MS_REC;
    sys::mount(Some(&csrc), &tpath, None, libc::MS_BIND | rec, None)
        .map_err(|e| mount_err(dest, "bind", e))?;
    let extra = opts.flags & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT);
    if extra != 0 {
        remount_bind(root, dest, extra)?;
    }
    finish_mount(root, dest, opts)
}

/// Remounts a bind mount with extra flags, keeping the flags the kernel locks (nodev, nosuid,
/// noexec, atime flags of the source mount), which it would otherwise refuse to drop.
pub(crate) fn remount_bind(root: &OwnedFd, dest: &Path, flags: libc::c_ulong) -> Result<()> {
    let t = reopen(root, dest)?;
    let st = sys::statvfs_flags(&t).unwrap_or(0);
    let mut keep = 0;
    for (stf, msf) in [
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if st & stf != 0 {
            keep |= msf;
        }
    }
    sys::mount(
        None,
        &t,
        None,
        libc::MS_BIND | libc::MS_REMOUNT | flags | keep,
        None,
    )
    .map_err(|e| mount_err(dest, "bind remount", e))
}

/// The devices every container gets, as runc gives them.
pub fn default_devices() -> Vec<(PathBuf, LinuxDeviceType, i64, i64)> {
    vec![
        ("/dev/null".into(), LinuxDeviceType::C, 1, 3),
        ("/dev/zero".into(), LinuxDeviceType::C, 1, 5),
        ("/dev/full".into(), LinuxDeviceType::C, 1, 7),
        ("/dev/random".into(), LinuxDeviceType::C, 1, 8),
        ("/dev/urandom".into(), LinuxDeviceType::C, 1, 9),
        ("/dev/tty".into(), LinuxDeviceType::C, 5, 0),
    ]
}

/// True if /dev is a bind of the host's (then nothing is created in it).
fn dev_is_bind(spec: &Spec) -> bool {
    spec.mounts()
        .iter()
        .flatten()
        .any(|m| m.destination() == Path::new("/dev") && is_bind(m))
}

/// Creates the spec's devices and the default ones, plus the standard /dev symlinks.
pub fn create_devices(ctx: &RootfsContext<'_>, root: &OwnedFd) -> Result<()> {
    if dev_is_bind(ctx.spec) {
        return Ok(());
    }
    let spec_devs: Vec<LinuxDevice> = ctx
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().clone())
        .unwrap_or_default();
    for d in &spec_devs {
        make_device(
            ctx,
            root,
            d.path(),
            d.typ(),
            d.major(),
            d.minor(),
            d.file_mode().unwrap_or(0o666),
            d.uid(),
            d.gid(),
        )?;
    }
    for (path, typ, major, minor) in default_devices() {
        if spec_devs.iter().any(|d| d.path() == &path) {
            continue;
        }
        make_device(ctx, root, &path, typ, major, minor, 0o666, Some(0), Some(0))?;
    }
    for (link, target) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
        ("/dev/ptmx", "pts/ptmx"),
    ] {
        let dev = mkdir_all_in_root(root.as_fd(), Path::new("/dev"), 0o755)
            .map_err(|e| RuntimeError::path("create", "/dev", e))?;
        let name = &link[5..];
        match rustix::fs::symlinkat(target, &dev, name) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(RuntimeError::path("symlink", link, e)),
        }
    }
    if Path::new("/proc/kcore").exists() {
        let dev = mkdir_all_in_root(root.as_fd(), Path::new("/dev"), 0o755)
            .map_err(|e| RuntimeError::path("create", "/dev", e))?;
        let _ = rustix::fs::symlinkat("/proc/kcore", &dev, "core");
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn make_device(
    ctx: &RootfsContext<'_>,
    root: &OwnedFd,
    path: &Path,
    typ: LinuxDeviceType,
    major: i64,
    minor: i64,
    mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<()> {
    if !path.starts_with("/dev") && path.starts_with("/") && path.components().count() < 2 {
        return Err(RuntimeError::InvalidConfig(format!(
            "linux.devices: bad path {}",
            path.display()
        )));
    }
    let parent = path.parent().unwrap_or(Path::new("/dev"));
    let name = path.file_name().ok_or_else(|| {
        RuntimeError::InvalidConfig(format!("linux.devices: bad path {}", path.display()))
    })?;
    let dir = mkdir_all_in_root(root.as_fd(), parent, 0o755)
        .map_err(|e| RuntimeError::path("create", parent, e))?;
    if ctx.in_userns {
        // mknod is not allowed in a user namespace: bind the host's node instead.
        let t = create_file_in_root(root.as_fd(), path)
            .map_err(|e| RuntimeError::path("create device", path, e))?;
        let tp = cstr(&proc_fd_path(&t))?;
        let src = cpath(path)?;
        return sys::mount(Some(&src), &tp, None, libc::MS_BIND, None)
            .map_err(|e| mount_err(path, "device bind", e));
    }
    let kind = match typ {
        LinuxDeviceType::C | LinuxDeviceType::U => rustix::fs::FileType::CharacterDevice,
        LinuxDeviceType::B => rustix::fs::FileType::BlockDevice,
        LinuxDeviceType::P => rustix::fs::FileType::Fifo,
        LinuxDeviceType::A => {
            return Err(RuntimeError::InvalidConfig(format!(
                "linux.devices: {}: type 'a' is not a device type",
                path.display()
            )))
        }
    };
    let dev = rustix::fs::makedev(major as u32, minor as u32);
    // The node must get exactly the requested mode, whatever the umask.
    let old = sys::umask(0);
    let r = rustix::fs::mknodat(&dir, name, kind, Mode::from_raw_mode(mode & 0o7777), dev);
    sys::umask(old);
    match r {
        Ok(()) => {}
        Err(rustix::io::Errno::EXIST) => {
            // A file in the image where the device goes: replace it.
            let _ = rustix::fs::unlinkat(&dir, name, rustix::fs::AtFlags::empty());
            rustix::fs::mknodat(&dir, name, kind, Mode::from_raw_mode(mode & 0o7777), dev)
                .map_err(|e| RuntimeError::path("mknod", path, e))?;
        }
        Err(e) => return Err(RuntimeError::path("mknod", path, e)),
    }
    rustix::fs::chownat(
        &dir,
        name,
        uid.map(rustix::fs::Uid::from_raw),
        gid.map(rustix::fs::Gid::from_raw),
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| RuntimeError::path("chown", path, e))?;
    Ok(())
}

/// Switches the root to the rootfs: pivot_root(".", ".") then detaching the old root, as
/// runc does, so no path to the host's filesystem is left. With `no_pivot`, MS_MOVE + chroot.
pub fn pivot(root: &OwnedFd, rootfs: &Path, no_pivot: bool) -> Result<()> {
    rustix::process::fchdir(root).map_err(|e| RuntimeError::path("chdir", rootfs, e))?;
    if no_pivot {
        let r = cpath(rootfs)?;
        sys::mount(Some(&r), c"/", None, libc::MS_MOVE, None)
            .map_err(|e| mount_err(rootfs, "move rootfs", e))?;
        rustix::process::chroot(".").map_err(|e| RuntimeError::path("chroot", rootfs, e))?;
        rustix::process::chdir("/").map_err(|e| RuntimeError::path("chdir", "/", e))?;
        return Ok(());
    }
    let old = rustix::fs::open(
        "/",
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| RuntimeError::path("open", "/", e))?;
    rustix::process::pivot_root(".", ".")
        .map_err(|e| RuntimeError::path("pivot_root", rootfs, e))?;
    rustix::process::fchdir(&old).map_err(|e| RuntimeError::path("chdir", "old root", e))?;
    // The old root may be shared with the host: make it slave before detaching, so the
    // unmount does not propagate out.
    sys::mount(None, c".", None, libc::MS_SLAVE | libc::MS_REC, None)
        .map_err(|e| mount_err(Path::new("old root"), "propagation", e))?;
    sys::umount2(c".", libc::MNT_DETACH)
        .map_err(|e| RuntimeError::path("unmount old root", "/", e))?;
    rustix::process::chdir("/").map_err(|e| RuntimeError::path("chdir", "/", e))?;
    Ok(())
}

/// After pivot: masked paths, read-only paths, sysctls and a read-only root.
pub fn finalize(spec: &Spec) -> Result<()> {
    let root = rustix::fs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| RuntimeError::path("open", "/", e))?;
    if let Some(l) = spec.linux() {
        if let Some(p) = l.rootfs_propagation().as_deref().filter(|p| !p.is_empty()) {
            if let Some(MountOpt::Propagation(flags)) = parse_option(p) {
                sys::mount(None, c"/", None, flags, None)
                    .map_err(|e| mount_err(Path::new("/"), "rootfsPropagation", e))?;
            }
        }
        // sysctls first: /proc/sys is among the read-only paths.
        if let Some(sysctl) = l.sysctl() {
            for (k, v) in sysctl {
                let path = PathBuf::from("/proc/sys").join(k.replace('.', "/"));
                std::fs::write(&path, v)
                    .map_err(|e| RuntimeError::path("write sysctl", &path, e))?;
            }
        }
        for p in l.readonly_paths().iter().flatten() {
            readonly_path(&root, Path::new(p))?;
        }
        for p in l.masked_paths().iter().flatten() {
            mask_path(&root, Path::new(p))?;
        }
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        let st = sys::statvfs_flags(c"/").unwrap_or(0);
        let mut keep = 0;
        if st & libc::ST_NOSUID != 0 {
            keep |= libc::MS_NOSUID;
        }
        if st & libc::ST_NODEV != 0 {
            keep |= libc::MS_NODEV;
        }
        if st & libc::ST_NOEXEC != 0 {
            keep |= libc::MS_NOEXEC;
        }
        sys::mount(
            None,
            c"/",
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | keep,
            None,
        )
        .map_err(|e| mount_err(Path::new("/"), "read-only root", e))?;
    }
    Ok(())
}

/// Opens a masked or read-only path; one that does not exist needs nothing (runc's rule).
fn open_optional(root: &OwnedFd, p: &Path, what: &'static str) -> Result<Option<OwnedFd>> {
    match open_in_root(root.as_fd(), p, OFlags::PATH, Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => Ok(None),
        Err(e) => Err(RuntimeError::path(what, p, e)),
    }
}

fn mask_path(root: &OwnedFd, p: &Path) -> Result<()> {
    let Some(fd) = open_optional(root, p, "open masked path")? else {
        return Ok(());
    };
    let t = cstr(&proc_fd_path(&fd))?;
    let is_dir = rustix::fs::fstat(&fd)
        .map(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR)
        .unwrap_or(false);
    if is_dir {
        sys::mount(
            Some(c"tmpfs"),
            &t,
            Some(c"tmpfs"),
            libc::MS_RDONLY,
            Some(c"size=0k,nr_inodes=1"),
        )
        .map_err(|e| mount_err(p, "mask", e))
    } else {
        sys::mount(Some(c"/dev/null"), &t, None, libc::MS_BIND, None)
            .map_err(|e| mount_err(p, "mask", e))
    }
}

fn readonly_path(root: &OwnedFd, p: &Path) -> Result<()> {
    let Some(fd) = open_optional(root, p, "open read-only path")? else {
        return Ok(());
    };
    let t = cstr(&proc_fd_path(&fd))?;
    sys::mount(Some(&t), &t, None, libc::MS_BIND | libc::MS_REC, None)
        .map_err(|e| mount_err(p, "read-only bind", e))?;
    remount_bind(
        root,
        p,
        libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_fold_like_runc() {
        let o: Vec<String> = [
            "nosuid",
            "noexec",
            "nodev",
            "ro",
            "rbind",
            "rprivate",
            "mode=755",
            "size=65536k",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let p = parse_options(&o);
        assert_eq!(
            p.flags,
            libc::MS_NOSUID
                | libc::MS_NOEXEC
                | libc::MS_NODEV
                | libc::MS_RDONLY
                | libc::MS_BIND
                | libc::MS_REC
        );
        assert_eq!(p.propagation, vec![libc::MS_PRIVATE | libc::MS_REC]);
        assert_eq!(
            p.data,
            vec!["mode=755".to_string(), "size=65536k".to_string()]
        );
        let p = parse_options(&["ro".into(), "rw".into()]);
        assert_eq!(p.flags & libc::MS_RDONLY, 0);
        let p = parse_options(&["rro".into()]);
        assert_eq!(p.rec_set, libc::MOUNT_ATTR_RDONLY);
    }
}
