//! cgroup v1: one hierarchy per controller (or per group of co-mounted controllers).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxDeviceType, LinuxHugepageLimit, LinuxMemory,
    LinuxNetwork, LinuxResources, LinuxThrottleDevice,
};

use super::{
    check_file_part, fs, BlkioEntry, BlkioStats, CgroupError, CpuStats, HugetlbStats, Manager,
    MemoryEntry, MemoryStats, PidsStats, Stats,
};

const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) fn apply(m: &Manager, pid: i32) -> Result<(), CgroupError> {
    create(m)?;
    enter(m, pid)
}

pub(super) fn enter(m: &Manager, pid: i32) -> Result<(), CgroupError> {
    let value = pid.to_string();
    for dir in m.distinct_dirs() {
        fs::write(&dir.join("cgroup.procs"), &value)?;
    }
    Ok(())
}

pub(super) fn create(m: &Manager) -> Result<(), CgroupError> {
    for (ctrl, cd) in &m.v1 {
        if ctrl == "cpuset" {
            create_cpuset_dirs(&cd.mount, &cd.dir)?;
        } else {
            fs::create_dir_all(&cd.dir)?;
        }
    }
    for cd in m.named.values().chain(m.hybrid.iter()) {
        fs::create_dir_all(&cd.dir)?;
    }
    Ok(())
}

/// Creates the cpuset directories level by level. A new cpuset starts with empty cpus and
/// mems, and the kernel refuses to attach tasks to it until both are set, so each level
/// inherits its parent's values where its own are empty.
fn create_cpuset_dirs(mount: &Path, dir: &Path) -> Result<(), CgroupError> {
    let Ok(rel) = dir.strip_prefix(mount) else {
        return fs::create_dir_all(dir);
    };
    let mut parent = mount.to_path_buf();
    for comp in rel.components() {
        let current = parent.join(comp);
        fs::create_dir(&current)?;
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let own = fs::read_string(&current.join(file))?;
            if own.trim().is_empty() {
                let inherited = fs::read_string(&parent.join(file))?;
                let inherited = inherited.trim();
                if !inherited.is_empty() {
                    fs::write(&current.join(file), inherited)?;
                }
            }
        }
        parent = current;
    }
    Ok(())
}

pub(super) fn set(m: &Manager, r: &LinuxResources) -> Result<(), CgroupError> {
    if let Some(unified) = r.unified() {
        if !unified.is_empty() {
            return Err(CgroupError::Unsupported(format!(
                "linux.resources.unified ({} keys) needs cgroup v2, but this host uses cgroup v1",
                unified.len()
            )));
        }
    }
    if let Some(rules) = r.devices() {
        set_devices(m, rules)?;
    }
    if let Some(mem) = r.memory() {
        set_memory(m, mem)?;
    }
    if let Some(cpu) = r.cpu() {
        set_cpu(m, cpu)?;
    }
    if let Some(pids) = r.pids() {
        let dir = m.v1_require("pids", "set the pids limit")?;
        fs::write(&dir.join("pids.max"), &pids_max_value(pids.limit()))?;
    }
    if let Some(blkio) = r.block_io() {
        set_blkio(m, blkio)?;
    }
    if let Some(limits) = r.hugepage_limits() {
        set_hugetlb(m, limits)?;
    }
    if let Some(net) = r.network() {
        set_network(m, net)?;
    }
    Ok(())
}

/// pids.max value: the spec's 0 or negative limit means unlimited.
pub(super) fn pids_max_value(limit: i64) -> String {
    if limit <= 0 {
        "max".to_string()
    } else {
        limit.to_string()
    }
}

/// A file of the devices controller and the rule to write to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DeviceWrite {
    pub file: &'static str,
    pub value: String,
}

fn is_deny_all(rule: &LinuxDeviceCgroup) -> bool {
    !rule.allow() && matches!(rule.typ(), None | Some(LinuxDeviceType::A))
}

/// The writes for a device rule list, in order. Nothing is denied implicitly: only when
/// the list starts with a deny-all rule (as Docker and containerd send) is "a" written to
/// devices.deny first, which resets the cgroup to deny-by-default; the following rules
/// then punch holes into it. Writing a rule with type "a" is the same as writing "a".
pub(super) fn device_writes(rules: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceWrite>, CgroupError> {
    let mut out = Vec::new();
    let mut rest = rules;
    if let Some((first, tail)) = rules.split_first() {
        if is_deny_all(first) {
            out.push(DeviceWrite {
                file: "devices.deny",
                value: "a".to_string(),
            });
            rest = tail;
        }
    }
    for rule in rest {
        let typ = match rule.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => 'a',
            LinuxDeviceType::B => 'b',
            LinuxDeviceType::C | LinuxDeviceType::U => 'c',
            // The devices controller only checks block and character devices, so a FIFO
            // rule has nothing to allow or deny.
            LinuxDeviceType::P => continue,
        };
        let num = |n: Option<i64>| match n {
            Some(n) if n >= 0 => n.to_string(),
            _ => "*".to_string(),
        };
        let access = rule.access().as_deref().unwrap_or("rwm");
        let access = if access.is_empty() { "rwm" } else { access };
        if !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
            return Err(CgroupError::InvalidResource {
                what: "devices access".into(),
                reason: format!("{access:?} may only contain r, w and m"),
            });
        }
        let value = format!("{typ} {}:{} {access}", num(rule.major()), num(rule.minor()));
        let file = if rule.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        };
        out.push(DeviceWrite { file, value });
    }
    Ok(out)
}

fn set_devices(m: &Manager, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    if rules.is_empty() {
        return Ok(());
    }
    let dir = m.v1_require("devices", "apply device rules")?;
    for w in device_writes(rules)? {
        fs::write(&dir.join(w.file), &w.value)?;
    }
    Ok(())
}

pub(super) const MEMORY_LIMIT: &str = "memory.limit_in_bytes";
pub(super) const MEMSW_LIMIT: &str = "memory.memsw.limit_in_bytes";

/// The memory and memory+swap limit writes, in an order the kernel accepts: it keeps
/// memory.limit <= memsw.limit at every step, so when both change, memsw is raised first
/// if the new memsw exceeds the current memory limit (or is unlimited), else memory is
/// lowered first. 0 means "not set", as in runc. An unlimited memory limit with no swap
/// given also lifts memsw (if swap accounting exists), else the old memsw would cap it.
pub(super) fn memory_writes(
    limit: Option<i64>,
    swap: Option<i64>,
    memsw_exists: bool,
    current_limit: impl FnOnce() -> Result<u64, CgroupError>,
) -> Result<Vec<(&'static str, i64)>, CgroupError> {
    let limit = limit.filter(|v| *v != 0);
    let mut swap = swap.filter(|v| *v != 0);
    if limit == Some(-1) && swap.is_none() && memsw_exists {
        swap = Some(-1);
    }
    Ok(match (limit, swap) {
        (Some(l), Some(s)) => {
            if l > 0 && s > 0 && s < l {
                return Err(CgroupError::InvalidResource {
                    what: "memory.swap".into(),
                    reason: format!("memory+swap limit {s} is lower than the memory limit {l}"),
                });
            }
            let swap_first = s < 0 || current_limit()? < s.unsigned_abs();
            if swap_first {
                vec![(MEMSW_LIMIT, s), (MEMORY_LIMIT, l)]
            } else {
                vec![(MEMORY_LIMIT, l), (MEMSW_LIMIT, s)]
            }
        }
        (Some(l), None) => vec![(MEMORY_LIMIT, l)],
        (None, Some(s)) => vec![(MEMSW_LIMIT, s)],
        (None, None) => Vec::new(),
    })
}

/// v1 limit files take -1 for unlimited; other negative values mean the same in the spec.
fn limit_value(v: i64) -> String {
    if v < 0 {
        "-1".to_string()
    } else {
        v.to_string()
    }
}

fn set_memory(m: &Manager, mem: &LinuxMemory) -> Result<(), CgroupError> {
    let wants_any = mem.limit().is_some()
        || mem.reservation().is_some()
        || mem.swap().is_some()
        || mem.kernel().is_some()
        || mem.kernel_tcp().is_some()
        || mem.swappiness().is_some()
        || mem.disable_oom_killer() == Some(true);
    if !wants_any {
        return Ok(());
    }
    let dir = m.v1_require("memory", "set memory limits")?;
    let memsw_exists = dir.join(MEMSW_LIMIT).exists();
    let writes = memory_writes(mem.limit(), mem.swap(), memsw_exists, || {
        fs::read_u64(&dir.join(MEMORY_LIMIT))
    })?;
    for (file, value) in writes {
        fs::write(&dir.join(file), &limit_value(value))?;
    }
    if let Some(r) = mem.reservation().filter(|v| *v != 0) {
        fs::write(&dir.join("memory.soft_limit_in_bytes"), &limit_value(r))?;
    }
    // Kernel memory limits were deprecated in 5.4 and their files removed later; runtimes
    // ignore them where absent rather than failing containers that still carry them.
    if let Some(k) = mem.kernel().filter(|v| *v != 0) {
        fs::write_optional(&dir.join("memory.kmem.limit_in_bytes"), &limit_value(k))?;
    }
    if let Some(k) = mem.kernel_tcp().filter(|v| *v != 0) {
        fs::write_optional(&dir.join("memory.kmem.tcp.limit_in_bytes"), &limit_value(k))?;
    }
    if let Some(s) = mem.swappiness() {
        if s > 100 {
            return Err(CgroupError::InvalidResource {
                what: "memory.swappiness".into(),
                reason: format!("{s} is outside 0..=100"),
            });
        }
        fs::write(&dir.join("memory.swappiness"), &s.to_string())?;
    }
    // Only disabling is written: "0" would be a no-op for a new cgroup, and the kernel
    // rejects writes to oom_control in some hierarchy configurations.
    if mem.disable_oom_killer() == Some(true) {
        fs::write(&dir.join("memory.oom_control"), "1")?;
    }
    Ok(())
}

/// Writes two values that the kernel validates against each other (cfs quota and burst,
/// rt period and runtime). If the first write is refused with EINVAL because the old
/// value of the second conflicts, the opposite order is the one that works.
fn write_dependent_pair(
    first: (&Path, String),
    second: (&Path, String),
) -> Result<(), CgroupError> {
    match fs::write(first.0, &first.1) {
        Ok(()) => fs::write(second.0, &second.1),
        Err(e) if fs::is_errno(&e, libc::EINVAL) => {
            fs::write(second.0, &second.1)?;
            fs::write(first.0, &first.1)
        }
        Err(e) => Err(e),
    }
}

fn set_cpu(m: &Manager, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    let shares = cpu.shares().filter(|v| *v != 0);
    let period = cpu.period().filter(|v| *v != 0);
    let quota = cpu.quota().filter(|v| *v != 0);
    let rt_period = cpu.realtime_period().filter(|v| *v != 0);
    let rt_runtime = cpu.realtime_runtime().filter(|v| *v != 0);
    let wants_cpu = shares.is_some()
        || period.is_some()
        || quota.is_some()
        || rt_period.is_some()
        || rt_runtime.is_some()
        || cpu.burst().is_some()
        || cpu.idle().is_some();
    if wants_cpu {
        let dir = m.v1_require("cpu", "set cpu limits")?;
        if let Some(s) = shares {
            fs::write(&dir.join("cpu.shares"), &s.to_string())?;
        }
        if let Some(p) = period {
            fs::write(&dir.join("cpu.cfs_period_us"), &p.to_string())?;
        }
        let quota_file = dir.join("cpu.cfs_quota_us");
        let burst_file = dir.join("cpu.cfs_burst_us");
        // cpu.cfs_burst_us exists since Linux 5.14 only; it is optional.
        match (quota, cpu.burst()) {
            (Some(q), Some(b)) if burst_file.exists() => {
                write_dependent_pair((&quota_file, limit_value(q)), (&burst_file, b.to_string()))?
            }
            (Some(q), _) => fs::write(&quota_file, &limit_value(q))?,
            (None, Some(b)) => {
                fs::write_optional(&burst_file, &b.to_string())?;
            }
            (None, None) => {}
        }
        let rt_period_file = dir.join("cpu.rt_period_us");
        let rt_runtime_file = dir.join("cpu.rt_runtime_us");
        match (rt_period, rt_runtime) {
            (Some(p), Some(r)) => write_dependent_pair(
                (&rt_period_file, p.to_string()),
                (&rt_runtime_file, limit_value(r)),
            )?,
            (Some(p), None) => fs::write(&rt_period_file, &p.to_string())?,
            (None, Some(r)) => fs::write(&rt_runtime_file, &limit_value(r))?,
            (None, None) => {}
        }
        // cpu.idle exists since Linux 5.15 only; it is optional.
        if let Some(idle) = cpu.idle() {
            fs::write_optional(&dir.join("cpu.idle"), &idle.to_string())?;
        }
    }
    let cpus = cpu.cpus().as_deref().filter(|s| !s.is_empty());
    let mems = cpu.mems().as_deref().filter(|s| !s.is_empty());
    if cpus.is_some() || mems.is_some() {
        let dir = m.v1_require("cpuset", "set cpuset cpus/mems")?;
        if let Some(c) = cpus {
            fs::write(&dir.join("cpuset.cpus"), c)?;
        }
        if let Some(mm) = mems {
            fs::write(&dir.join("cpuset.mems"), mm)?;
        }
    }
    Ok(())
}

fn throttle_line(d: &LinuxThrottleDevice) -> String {
    format!("{}:{} {}", d.major(), d.minor(), d.rate())
}

fn set_blkio(m: &Manager, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    let throttles: [(&str, &Option<Vec<LinuxThrottleDevice>>); 4] = [
        (
            "blkio.throttle.read_bps_device",
            b.throttle_read_bps_device(),
        ),
        (
            "blkio.throttle.write_bps_device",
            b.throttle_write_bps_device(),
        ),
        (
            "blkio.throttle.read_iops_device",
            b.throttle_read_iops_device(),
        ),
        (
            "blkio.throttle.write_iops_device",
            b.throttle_write_iops_device(),
        ),
    ];
    let weight_devices = b.weight_device().as_deref().unwrap_or_default();
    let wants = b.weight().is_some()
        || b.leaf_weight().is_some()
        || !weight_devices.is_empty()
        || throttles
            .iter()
            .any(|(_, t)| t.as_ref().is_some_and(|t| !t.is_empty()));
    if !wants {
        return Ok(());
    }
    let dir = m.v1_require("blkio", "set block I/O limits")?;
    // With the BFQ scheduler (CFQ is gone since Linux 5.0) the weight files carry a
    // "bfq." infix; use whichever the kernel offers.
    let weight_file = if !dir.join("blkio.weight").exists() && dir.join("blkio.bfq.weight").exists()
    {
        dir.join("blkio.bfq.weight")
    } else {
        dir.join("blkio.weight")
    };
    let weight_device_file =
        if !dir.join("blkio.weight_device").exists() && dir.join("blkio.bfq.weight").exists() {
            dir.join("blkio.bfq.weight")
        } else {
            dir.join("blkio.weight_device")
        };
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        fs::write(&weight_file, &w.to_string())?;
    }
    if let Some(w) = b.leaf_weight().filter(|w| *w != 0) {
        fs::write(&dir.join("blkio.leaf_weight"), &w.to_string())?;
    }
    for d in weight_devices {
        if let Some(w) = d.weight() {
            fs::write(
                &weight_device_file,
                &format!("{}:{} {w}", d.major(), d.minor()),
            )?;
        }
        if let Some(w) = d.leaf_weight() {
            fs::write(
                &dir.join("blkio.leaf_weight_device"),
                &format!("{}:{} {w}", d.major(), d.minor()),
            )?;
        }
    }
    for (file, devices) in throttles {
        for d in devices.as_deref().unwrap_or_default() {
            fs::write(&dir.join(file), &throttle_line(d))?;
        }
    }
    Ok(())
}

fn set_hugetlb(m: &Manager, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    if limits.is_empty() {
        return Ok(());
    }
    let dir = m.v1_require("hugetlb", "set huge page limits")?;
    for l in limits {
        check_file_part("hugepage pageSize", l.page_size())?;
        let file = dir.join(format!("hugetlb.{}.limit_in_bytes", l.page_size()));
        fs::write(&file, &limit_value(l.limit()))?;
    }
    Ok(())
}

/// net_cls and net_prio are rarely mounted. A setting for one that is not is refused, as
/// runc and crun do: the user must not believe a class or priority is in force when it is
/// not.
fn set_network(m: &Manager, net: &LinuxNetwork) -> Result<(), CgroupError> {
    if let Some(id) = net.class_id() {
        let dir = m.v1_require("net_cls", "set network.classID")?;
        fs::write(&dir.join("net_cls.classid"), &id.to_string())?;
    }
    if let Some(prios) = net.priorities().as_ref().filter(|p| !p.is_empty()) {
        let dir = m.v1_require("net_prio", "set network.priorities")?;
        for p in prios {
            fs::write(
                &dir.join("net_prio.ifpriomap"),
                &format!("{} {}", p.name(), p.priority()),
            )?;
        }
    }
    Ok(())
}

fn freezer_state_file(m: &Manager) -> Result<std::path::PathBuf, CgroupError> {
    Ok(m.v1_require("freezer", "freeze or thaw the container")?
        .join("freezer.state"))
}

/// Writes a freezer state and waits until the kernel reports it. FREEZING can linger
/// while tasks are in uninterruptible sleep; rewriting FROZEN retries freezing them.
fn set_freezer_state(m: &Manager, wanted: &str) -> Result<(), CgroupError> {
    let file = freezer_state_file(m)?;
    fs::write(&file, wanted)?;
    let mut last = String::new();
    let mut polls = 0u32;
    let start = std::time::Instant::now();
    let reached = fs::wait_until(FREEZE_TIMEOUT, || {
        last = fs::read_string(&file)?.trim().to_string();
        if last == wanted {
            return Ok(true);
        }
        polls += 1;
        if polls == 10 {
            polls = 0;
            fs::write(&file, wanted)?;
        }
        Ok(false)
    })?;
    if reached {
        return Ok(());
    }
    if wanted == "FROZEN" {
        // Leave the container running rather than half-frozen; the timeout is reported.
        let _ = fs::write(&file, "THAWED");
    }
    Err(CgroupError::Timeout {
        path: file.clone(),
        value: wanted.to_string(),
        state_file: file,
        last,
        waited_ms: start.elapsed().as_millis(),
    })
}

pub(super) fn freeze(m: &Manager) -> Result<(), CgroupError> {
    set_freezer_state(m, "FROZEN")
}

pub(super) fn thaw(m: &Manager) -> Result<(), CgroupError> {
    set_freezer_state(m, "THAWED")
}

pub(super) fn is_frozen(m: &Manager) -> Result<bool, CgroupError> {
    let file = freezer_state_file(m)?;
    Ok(fs::read_optional(&file)?.is_some_and(|s| s.trim() == "FROZEN"))
}

pub(super) fn pids(m: &Manager) -> Result<Vec<i32>, CgroupError> {
    let dir = ["pids", "freezer", "memory"]
        .iter()
        .find_map(|c| m.v1_dir(c))
        .or_else(|| m.v1.values().next().map(|c| c.dir.as_path()));
    match dir {
        Some(d) => fs::pids_recursive(d),
        None => Ok(Vec::new()),
    }
}

pub(super) fn stats(m: &Manager) -> Result<Stats, CgroupError> {
    let mut stats = Stats::default();
    if let Some(dir) = m.v1_dir("cpuacct") {
        cpuacct_stats(dir, &mut stats.cpu)?;
    }
    if let Some(dir) = m.v1_dir("cpu") {
        if let Some(content) = fs::read_optional(&dir.join("cpu.stat"))? {
            let s = fs::parse_flat_keyed(&dir.join("cpu.stat"), &content)?;
            let t = &mut stats.cpu.throttling;
            t.periods = s.get("nr_periods").copied().unwrap_or(0);
            t.throttled_periods = s.get("nr_throttled").copied().unwrap_or(0);
            t.throttled_time = s.get("throttled_time").copied().unwrap_or(0);
        }
    }
    if let Some(dir) = m.v1_dir("memory") {
        stats.memory = memory_stats(dir)?;
    }
    if let Some(dir) = m.v1_dir("pids") {
        stats.pids = PidsStats {
            current: fs::read_u64_optional(&dir.join("pids.current"))?.unwrap_or(0),
            limit: fs::read_u64_optional(&dir.join("pids.max"))?
                .filter(|v| *v != u64::MAX)
                .unwrap_or(0),
        };
    }
    if let Some(dir) = m.v1_dir("blkio") {
        stats.blkio = blkio_stats(dir)?;
    }
    if let Some(dir) = m.v1_dir("hugetlb") {
        stats.hugetlb = hugetlb_stats(dir)?;
    }
    Ok(stats)
}

fn cpuacct_stats(dir: &Path, cpu: &mut CpuStats) -> Result<(), CgroupError> {
    let u = &mut cpu.usage;
    u.total = fs::read_u64_optional(&dir.join("cpuacct.usage"))?.unwrap_or(0);
    for (file, target) in [
        ("cpuacct.usage_percpu", &mut u.percpu),
        ("cpuacct.usage_percpu_sys", &mut u.percpu_kernel),
        ("cpuacct.usage_percpu_user", &mut u.percpu_user),
    ] {
        let path = dir.join(file);
        if let Some(content) = fs::read_optional(&path)? {
            *target = fs::parse_u64_list(&path, &content)?;
        }
    }
    let path = dir.join("cpuacct.stat");
    if let Some(content) = fs::read_optional(&path)? {
        // cpuacct.stat counts USER_HZ ticks; runc reports nanoseconds.
        let ticks = rustix::param::clock_ticks_per_second().max(1);
        let s = fs::parse_flat_keyed(&path, &content)?;
        let ns = |v: u64| v.saturating_mul(1_000_000_000) / ticks;
        u.user = s.get("user").copied().map(ns).unwrap_or(0);
        u.kernel = s.get("system").copied().map(ns).unwrap_or(0);
    }
    Ok(())
}

fn memory_entry(dir: &Path, prefix: &str) -> Result<MemoryEntry, CgroupError> {
    let read = |suffix: &str| -> Result<u64, CgroupError> {
        Ok(fs::read_u64_optional(&dir.join(format!("{prefix}.{suffix}")))?.unwrap_or(0))
    };
    Ok(MemoryEntry {
        limit: read("limit_in_bytes")?,
        usage: read("usage_in_bytes")?,
        max: read("max_usage_in_bytes")?,
        failcnt: read("failcnt")?,
    })
}

pub(super) fn memory_stats(dir: &Path) -> Result<MemoryStats, CgroupError> {
    let mut mem = MemoryStats {
        usage: memory_entry(dir, "memory")?,
        swap: memory_entry(dir, "memory.memsw")?,
        kernel: memory_entry(dir, "memory.kmem")?,
        kernel_tcp: memory_entry(dir, "memory.kmem.tcp")?,
        ..MemoryStats::default()
    };
    let path = dir.join("memory.stat");
    if let Some(content) = fs::read_optional(&path)? {
        mem.raw = fs::parse_flat_keyed(&path, &content)?;
        mem.cache = mem.raw.get("cache").copied().unwrap_or(0);
    }
    Ok(mem)
}

/// Parses a blkio stat file: "maj:min Op value" lines (or "maj:min value" for sectors and
/// time), with a final "Total n" line that is not per device.
pub(super) fn parse_blkio(path: &Path, content: &str) -> Result<Vec<BlkioEntry>, CgroupError> {
    let mut out = Vec::new();
    for line in content.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (dev, op, value) = match fields.as_slice() {
            [dev, op, value] => (*dev, *op, *value),
            [dev, value] if dev.contains(':') => (*dev, "", *value),
            _ => continue,
        };
        let (major, minor) = fs::parse_dev(path, dev)?;
        out.push(BlkioEntry {
            major,
            minor,
            op: op.to_string(),
            value: fs::parse_u64(path, value)?,
        });
    }
    Ok(out)
}

fn blkio_stats(dir: &Path) -> Result<BlkioStats, CgroupError> {
    let mut b = BlkioStats::default();
    // CFQ files first (pre-5.0 kernels), then BFQ's, then the throttling layer's which
    // exist whatever the I/O scheduler.
    let prefixes = ["blkio.", "blkio.bfq.", "blkio.throttle."];
    let targets: [(&str, &mut Vec<BlkioEntry>); 8] = [
        (
            "io_service_bytes_recursive",
            &mut b.io_service_bytes_recursive,
        ),
        ("io_serviced_recursive", &mut b.io_serviced_recursive),
        ("io_queued_recursive", &mut b.io_queued_recursive),
        (
            "io_service_time_recursive",
            &mut b.io_service_time_recursive,
        ),
        ("io_wait_time_recursive", &mut b.io_wait_time_recursive),
        ("io_merged_recursive", &mut b.io_merged_recursive),
        ("time_recursive", &mut b.io_time_recursive),
        ("sectors_recursive", &mut b.sectors_recursive),
    ];
    for (name, target) in targets {
        for prefix in prefixes {
            let path = dir.join(format!("{prefix}{name}"));
            if let Some(content) = fs::read_optional(&path)? {
                *target = parse_blkio(&path, &content)?;
                break;
            }
        }
    }
    Ok(b)
}

/// Page sizes from "hugetlb.<size>.<suffix>" file names; reservation files
/// ("hugetlb.2MB.rsvd.…") are not the usage counters.
pub(super) fn hugetlb_sizes(names: &[String], suffix: &str) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| n.strip_prefix("hugetlb.")?.strip_suffix(suffix))
        .filter(|size| !size.is_empty() && !size.contains('.'))
        .map(str::to_string)
        .collect()
}

fn hugetlb_stats(dir: &Path) -> Result<BTreeMap<String, HugetlbStats>, CgroupError> {
    let names = fs::file_names(dir)?;
    let mut out = BTreeMap::new();
    for size in hugetlb_sizes(&names, ".usage_in_bytes") {
        let read = |suffix: &str| -> Result<u64, CgroupError> {
            Ok(fs::read_u64_optional(&dir.join(format!("hugetlb.{size}.{suffix}")))?.unwrap_or(0))
        };
        let s = HugetlbStats {
            usage: read("usage_in_bytes")?,
            max: read("max_usage_in_bytes")?,
            failcnt: read("failcnt")?,
        };
        out.insert(size, s);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::tests::{fake_files, read};
    use super::super::CgroupVersion;
    use super::*;

    fn rule(
        allow: bool,
        typ: Option<&str>,
        major: Option<i64>,
        minor: Option<i64>,
        access: Option<&str>,
    ) -> LinuxDeviceCgroup {
        let mut v = serde_json::json!({ "allow": allow });
        if let Some(t) = typ {
            v["type"] = t.into();
        }
        if let Some(m) = major {
            v["major"] = m.into();
        }
        if let Some(m) = minor {
            v["minor"] = m.into();
        }
        if let Some(a) = access {
            v["access"] = a.into();
        }
        serde_json::from_value(v).unwrap()
    }

    fn writes(rules: &[LinuxDeviceCgroup]) -> Vec<(String, String)> {
        device_writes(rules)
            .unwrap()
            .into_iter()
            .map(|w| (w.file.to_string(), w.value))
            .collect()
    }

    #[test]
    fn device_rules_docker_style() {
        let rules = [
            rule(false, None, None, None, Some("rwm")),
            rule(true, Some("c"), Some(1), Some(3), Some("rwm")),
            rule(true, Some("c"), None, None, Some("m")),
            rule(true, Some("b"), Some(8), None, Some("r")),
            rule(false, Some("c"), Some(10), Some(200), None),
            rule(true, Some("p"), None, None, Some("rwm")),
            rule(true, Some("u"), Some(5), Some(1), Some("rw")),
        ];
        let w = writes(&rules);
        let expect = [
            ("devices.deny", "a"),
            ("devices.allow", "c 1:3 rwm"),
            ("devices.allow", "c *:* m"),
            ("devices.allow", "b 8:* r"),
            ("devices.deny", "c 10:200 rwm"),
            ("devices.allow", "c 5:1 rw"),
        ];
        assert_eq!(w, expect.map(|(a, b)| (a.to_string(), b.to_string())));
    }

    #[test]
    fn device_rules_without_leading_deny_all() {
        let rules = [
            rule(true, Some("c"), Some(1), Some(5), Some("rwm")),
            rule(false, Some("a"), None, None, Some("rwm")),
        ];
        let w = writes(&rules);
        assert_eq!(w[0], ("devices.allow".into(), "c 1:5 rwm".into()));
        // A deny-all that is not first is kept in its place, as the written rule.
        assert_eq!(w[1], ("devices.deny".into(), "a *:* rwm".into()));
        assert!(writes(&[]).is_empty());
        assert!(device_writes(&[rule(true, Some("c"), Some(1), Some(1), Some("rx"))]).is_err());
    }

    #[test]
    fn memory_swap_ordering() {
        let cur = |v: u64| move || Ok(v);
        let never = || -> Result<u64, CgroupError> { panic!("current limit not needed") };
        // Raising both above the current memory limit: memsw first.
        assert_eq!(
            memory_writes(Some(200), Some(400), true, cur(100)).unwrap(),
            vec![(MEMSW_LIMIT, 400), (MEMORY_LIMIT, 200)]
        );
        // Lowering both below the current memory limit: memory first.
        assert_eq!(
            memory_writes(Some(100), Some(150), true, cur(1000)).unwrap(),
            vec![(MEMORY_LIMIT, 100), (MEMSW_LIMIT, 150)]
        );
        assert_eq!(
            memory_writes(Some(100), Some(-1), true, never).unwrap(),
            vec![(MEMSW_LIMIT, -1), (MEMORY_LIMIT, 100)]
        );
        // Unlimited memory lifts memsw too when swap accounting exists.
        assert_eq!(
            memory_writes(Some(-1), None, true, never).unwrap(),
            vec![(MEMSW_LIMIT, -1), (MEMORY_LIMIT, -1)]
        );
        assert_eq!(
            memory_writes(Some(-1), None, false, never).unwrap(),
            vec![(MEMORY_LIMIT, -1)]
        );
        assert_eq!(
            memory_writes(Some(0), Some(0), true, never).unwrap(),
            vec![]
        );
        assert_eq!(
            memory_writes(None, Some(5), true, never).unwrap(),
            vec![(MEMSW_LIMIT, 5)]
        );
        assert!(memory_writes(Some(300), Some(200), true, never).is_err());
    }

    #[test]
    fn pids_max() {
        assert_eq!(pids_max_value(0), "max");
        assert_eq!(pids_max_value(-1), "max");
        assert_eq!(pids_max_value(64), "64");
    }

    fn resources(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    fn fake_v1(r: &Path, extra: &[(&str, &str)]) -> Manager {
        let mut files = vec![
            ("memory/c/memory.limit_in_bytes", "9223372036854771712\n"),
            (
                "memory/c/memory.memsw.limit_in_bytes",
                "9223372036854771712\n",
            ),
            ("memory/c/memory.soft_limit_in_bytes", ""),
            ("memory/c/memory.swappiness", "60\n"),
            ("memory/c/memory.oom_control", ""),
            ("cpu/c/cpu.shares", "1024\n"),
            ("cpu/c/cpu.cfs_period_us", "100000\n"),
            ("cpu/c/cpu.cfs_quota_us", "-1\n"),
            ("cpuset/c/cpuset.cpus", ""),
            ("cpuset/c/cpuset.mems", ""),
            ("pids/c/pids.max", "max\n"),
            ("devices/c/devices.allow", ""),
            ("devices/c/devices.deny", ""),
            ("blkio/c/blkio.bfq.weight", ""),
            ("blkio/c/blkio.throttle.read_bps_device", ""),
            ("freezer/c/freezer.state", "THAWED\n"),
        ];
        files.extend_from_slice(extra);
        fake_files(r, &files);
        Manager::with_root(r, CgroupVersion::V1, "c", Some(Path::new("/c")), false).unwrap()
    }

    #[test]
    fn network_settings_without_their_controller_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let m = fake_v1(r, &[]);
        for net in [
            serde_json::json!({"classID": 7}),
            serde_json::json!({"priorities": [{"name": "eth0", "priority": 5}]}),
        ] {
            let e = m
                .set(&resources(serde_json::json!({ "network": net })))
                .unwrap_err();
            assert!(e.to_string().contains("not mounted"), "{e}");
        }
        let m = fake_v1(r, &[("net_cls/c/net_cls.classid", "0\n")]);
        m.set(&resources(serde_json::json!({"network": {"classID": 7}})))
            .unwrap();
        assert_eq!(read(r, "net_cls/c/net_cls.classid"), "7");
    }

    #[test]
    fn set_writes_v1_files() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let m = fake_v1(r, &[]);
        m.set(&resources(serde_json::json!({
            "memory": {"limit": 104857600, "reservation": 52428800, "swap": 209715200,
                       "swappiness": 10, "disableOOMKiller": true, "kernel": 1000, "kernelTCP": 1000},
            "cpu": {"shares": 512, "quota": 50000, "period": 200000, "cpus": "0", "mems": "0",
                    "burst": 1000, "idle": 0},
            "pids": {"limit": 0},
            "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
            "blockIO": {"weight": 300, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
            "unified": {}
        })))
        .unwrap();
        assert_eq!(read(r, "memory/c/memory.limit_in_bytes"), "104857600");
        assert_eq!(read(r, "memory/c/memory.memsw.limit_in_bytes"), "209715200");
        assert_eq!(read(r, "memory/c/memory.soft_limit_in_bytes"), "52428800");
        assert_eq!(read(r, "memory/c/memory.swappiness"), "10");
        assert_eq!(read(r, "memory/c/memory.oom_control"), "1");
        assert!(!r.join("memory/c/memory.kmem.limit_in_bytes").exists());
        assert_eq!(read(r, "cpu/c/cpu.shares"), "512");
        assert_eq!(read(r, "cpu/c/cpu.cfs_quota_us"), "50000");
        assert_eq!(read(r, "cpu/c/cpu.cfs_period_us"), "200000");
        assert!(!r.join("cpu/c/cpu.cfs_burst_us").exists());
        assert_eq!(read(r, "cpuset/c/cpuset.cpus"), "0");
        assert_eq!(read(r, "pids/c/pids.max"), "max");
        assert_eq!(read(r, "devices/c/devices.deny"), "a");
        assert_eq!(read(r, "devices/c/devices.allow"), "c 1:3 rwm");
        assert_eq!(read(r, "blkio/c/blkio.bfq.weight"), "300");
        assert_eq!(
            read(r, "blkio/c/blkio.throttle.read_bps_device"),
            "8:0 1048576"
        );
    }

    #[test]
    fn set_v1_errors_name_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let m = fake_v1(r, &[]);
        std::fs::remove_file(r.join("memory/c/memory.memsw.limit_in_bytes")).unwrap();
        let err = m
            .set(&resources(
                serde_json::json!({"memory": {"limit": 1000000, "swap": 2000000}}),
            ))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("memory.memsw.limit_in_bytes") && err.contains("2000000"),
            "{err}"
        );
        assert!(err.contains("swap accounting"), "{err}");

        let err = m
            .set(&resources(
                serde_json::json!({"unified": {"memory.high": "1"}}),
            ))
            .unwrap_err();
        assert!(matches!(err, CgroupError::Unsupported(_)), "{err}");
        let err = m
            .set(&resources(
                serde_json::json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}),
            ))
            .unwrap_err();
        assert!(matches!(err, CgroupError::NoController { .. }), "{err}");
        let err = m
            .set(&resources(
                serde_json::json!({"memory": {"swappiness": 101}}),
            ))
            .unwrap_err();
        assert!(err.to_string().contains("swappiness"), "{err}");
        let err = m
            .set(&resources(
                serde_json::json!({"cpu": {"realtimeRuntime": 950000}}),
            ))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cpu.rt_runtime_us") && err.contains("RT_GROUP_SCHED"),
            "{err}"
        );
    }

    #[test]
    fn hugetlb_page_size_cannot_escape() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let m = fake_v1(r, &[("hugetlb/c/hugetlb.2MB.limit_in_bytes", "")]);
        let set = |ps: &str| {
            m.set(&resources(
                serde_json::json!({"hugepageLimits": [{"pageSize": ps, "limit": 4194304}]}),
            ))
        };
        set("2MB").unwrap();
        assert_eq!(read(r, "hugetlb/c/hugetlb.2MB.limit_in_bytes"), "4194304");
        assert!(set("../../x").is_err());
        let err = set("1GB").unwrap_err().to_string();
        assert!(err.contains("hugetlb.1GB.limit_in_bytes"), "{err}");
    }

    #[test]
    fn freezer_on_fake_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let m = fake_v1(r, &[]);
        assert!(!m.is_frozen().unwrap());
        m.freeze().unwrap();
        assert_eq!(read(r, "freezer/c/freezer.state"), "FROZEN");
        assert!(m.is_frozen().unwrap());
        m.thaw().unwrap();
        assert!(!m.is_frozen().unwrap());
    }

    #[test]
    fn stats_from_fake_files() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let m = fake_v1(
            r,
            &[
                ("cpuacct/c/cpuacct.usage", "3000\n"),
                ("cpuacct/c/cpuacct.usage_percpu", "1000 2000 \n"),
                ("cpuacct/c/cpuacct.stat", "user 100\nsystem 50\n"),
                (
                    "cpu/c/cpu.stat",
                    "nr_periods 4\nnr_throttled 2\nthrottled_time 900\n",
                ),
                ("memory/c/memory.usage_in_bytes", "4096\n"),
                ("memory/c/memory.max_usage_in_bytes", "8192\n"),
                ("memory/c/memory.failcnt", "1\n"),
                ("memory/c/memory.memsw.usage_in_bytes", "5000\n"),
                ("memory/c/memory.stat", "cache 1234\nrss 10\n"),
                ("pids/c/pids.current", "3\n"),
                (
                    "blkio/c/blkio.throttle.io_service_bytes_recursive",
                    "8:0 Read 512\n8:0 Write 0\nTotal 512\n",
                ),
                (
                    "blkio/c/blkio.throttle.io_serviced_recursive",
                    "8:0 Read 1\n8:0 Write 0\nTotal 1\n",
                ),
                ("hugetlb/c/hugetlb.2MB.usage_in_bytes", "2097152\n"),
                ("hugetlb/c/hugetlb.2MB.failcnt", "0\n"),
                ("hugetlb/c/hugetlb.2MB.rsvd.usage_in_bytes", "0\n"),
            ],
        );
        let s = m.stats().unwrap();
        assert_eq!(s.cpu.usage.total, 3000);
        assert_eq!(s.cpu.usage.percpu, vec![1000, 2000]);
        let ticks = rustix::param::clock_ticks_per_second();
        assert_eq!(s.cpu.usage.user, 100 * 1_000_000_000 / ticks);
        assert_eq!(s.cpu.throttling.throttled_periods, 2);
        assert_eq!(s.memory.usage.usage, 4096);
        assert_eq!(s.memory.usage.max, 8192);
        assert_eq!(s.memory.usage.limit, 9223372036854771712);
        assert_eq!(s.memory.swap.usage, 5000);
        assert_eq!(s.memory.cache, 1234);
        assert_eq!(s.memory.raw["rss"], 10);
        assert_eq!(s.pids.current, 3);
        assert_eq!(s.pids.limit, 0, "max is reported as 0 (omitted)");
        assert_eq!(s.blkio.io_service_bytes_recursive.len(), 2);
        assert_eq!(s.blkio.io_service_bytes_recursive[0].op, "Read");
        assert_eq!(s.blkio.io_service_bytes_recursive[0].value, 512);
        assert_eq!(s.hugetlb.keys().collect::<Vec<_>>(), ["2MB"]);
        assert_eq!(s.hugetlb["2MB"].usage, 2097152);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["blkio"]["ioServiceBytesRecursive"][0]["major"], 8);
        assert_eq!(v["cpu"]["throttling"]["throttledTime"], 900);
    }

    #[test]
    fn oom_kills_from_oom_control() {
        let tmp = tempfile::tempdir().unwrap();
        let m = fake_v1(tmp.path(), &[]);
        assert_eq!(m.oom_kills().unwrap(), 0, "an old kernel does not count");
        let m = fake_v1(
            tmp.path(),
            &[(
                "memory/c/memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
            )],
        );
        assert_eq!(m.oom_kills().unwrap(), 2);
    }

    #[test]
    fn blkio_parsing() {
        let p = Path::new("blkio.sectors_recursive");
        let e = parse_blkio(p, "8:0 16\n8:16 0\n").unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].major, e[0].minor, e[0].op.as_str(), e[0].value),
            (8, 0, "", 16)
        );
        assert!(parse_blkio(p, "8:x Read 1\n").is_err());
    }
}
