//! cgroup v2: one unified hierarchy; controllers are enabled per subtree.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources, LinuxThrottleDevice};

use super::{
    check_file_part, devices_bpf, fs, v1, BlkioEntry, BlkioStats, CgroupError, HugetlbStats,
    Manager, MemoryEntry, MemoryStats, PidsStats, Stats,
};

const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// Controllers that resource settings can need; enabled in every ancestor so that the
/// container's cgroup gets their files.
const WANTED_CONTROLLERS: &[&str] = &[
    "cpu", "cpuset", "io", "memory", "pids", "hugetlb", "misc", "rdma",
];

pub(super) fn apply(m: &Manager, pid: i32) -> Result<(), CgroupError> {
    create(m)?;
    enter(m, pid)
}

pub(super) fn enter(m: &Manager, pid: i32) -> Result<(), CgroupError> {
    let cd = m.v2_dir()?;
    fs::write(&cd.dir.join("cgroup.procs"), &pid.to_string())
}

pub(super) fn create(m: &Manager) -> Result<(), CgroupError> {
    let cd = m.v2_dir()?;
    match cd.dir.strip_prefix(&cd.mount) {
        Ok(rel) => {
            let mut current = cd.mount.clone();
            for comp in rel.components() {
                enable_controllers(&current)?;
                current.push(comp);
                fs::create_dir(&current)?;
            }
        }
        Err(_) => fs::create_dir_all(&cd.dir)?,
    }
    Ok(())
}

/// Enables the wanted controllers that `dir` has for its children. A refusal is not
/// fatal here: the kernel refuses e.g. "cpu" while real-time tasks are in the subtree,
/// and any controller in a cgroup that itself holds processes (such as the caller's own
/// cgroup, for relative cgroup paths). Limits that needed a refused controller then fail
/// in `set` with an error naming the missing file, and containers without such limits
/// still run.
fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
    let available = fs::read_string(&dir.join("cgroup.controllers"))?;
    let subtree_file = dir.join("cgroup.subtree_control");
    let enabled = fs::read_optional(&subtree_file)?.unwrap_or_default();
    let enabled: Vec<&str> = enabled.split_whitespace().collect();
    for c in available.split_whitespace() {
        if WANTED_CONTROLLERS.contains(&c) && !enabled.contains(&c) {
            let _ = fs::write(&subtree_file, &format!("+{c}"));
        }
    }
    Ok(())
}

pub(super) fn set(m: &Manager, r: &LinuxResources) -> Result<(), CgroupError> {
    let dir = m.v2_dir()?.dir.as_path();
    if let Some(net) = r.network() {
        // cgroup v2 has no net_cls or net_prio controller; refused as runc and crun do
        // rather than silently not applied.
        if net.class_id().is_some() || net.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(CgroupError::NoController {
                controller: "net_cls/net_prio".into(),
                what: "apply network class or priorities (cgroup v2 has neither)".into(),
            });
        }
    }
    if let Some(rules) = r.devices().as_deref().filter(|r| !r.is_empty()) {
        devices_bpf::set(dir, rules)?;
    }
    if let Some(cpu) = r.cpu() {
        set_cpu(dir, cpu)?;
    }
    if let Some(mem) = r.memory() {
        set_memory(dir, mem)?;
    }
    if let Some(pids) = r.pids() {
        fs::write(&dir.join("pids.max"), &v1::pids_max_value(pids.limit()))?;
    }
    if let Some(b) = r.block_io() {
        set_io(dir, b)?;
    }
    for l in r.hugepage_limits().as_deref().unwrap_or_default() {
        check_file_part("hugepage pageSize", l.page_size())?;
        let value = if l.limit() < 0 {
            "max".to_string()
        } else {
            l.limit().to_string()
        };
        fs::write(&dir.join(format!("hugetlb.{}.max", l.page_size())), &value)?;
    }
    // Written last so that explicit unified values override the converted ones, as in runc.
    if let Some(unified) = r.unified() {
        let mut keys: Vec<&String> = unified.keys().collect();
        keys.sort();
        for key in keys {
            validate_unified_key(key)?;
            fs::write(&dir.join(key), &unified[key])?;
        }
    }
    Ok(())
}

/// A unified key names a file in the container's cgroup directory and nothing else.
pub(super) fn validate_unified_key(key: &str) -> Result<(), CgroupError> {
    check_file_part("unified key", key)?;
    if !key.contains('.') {
        return Err(CgroupError::InvalidResource {
            what: "unified key".into(),
            reason: format!("{key:?} is not a cgroup file name (\"<controller>.<file>\")"),
        });
    }
    Ok(())
}

/// cpu.weight from v1-style shares: maps shares' 2..=262144 onto weight's 1..=10000
/// linearly (the conversion runc and crun use, so values match across runtimes).
pub(super) fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// cpu.max: "<quota|max> <period>". A quota without a period keeps the kernel's period;
/// a period without a quota sets the quota to "max", as runc does.
pub(super) fn cpu_max_value(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    let quota = quota.filter(|q| *q != 0);
    let period = period.filter(|p| *p != 0);
    if quota.is_none() && period.is_none() {
        return None;
    }
    let q = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_string(),
    };
    Some(match period {
        Some(p) => format!("{q} {p}"),
        None => q,
    })
}

/// memory.swap.max from the spec's swap, which is memory+swap (v1 semantics) while v2
/// limits swap alone. -1 is unlimited; 0 or absent leaves it alone.
pub(super) fn swap_max_value(
    limit: Option<i64>,
    swap: Option<i64>,
) -> Result<Option<String>, CgroupError> {
    let Some(swap) = swap.filter(|s| *s != 0) else {
        return Ok(None);
    };
    if swap < 0 {
        return Ok(Some("max".to_string()));
    }
    match limit.filter(|l| *l != 0) {
        Some(l) if l > 0 => {
            if swap < l {
                return Err(CgroupError::InvalidResource {
                    what: "memory.swap".into(),
                    reason: format!("memory+swap limit {swap} is lower than the memory limit {l}"),
                });
            }
            Ok(Some((swap - l).to_string()))
        }
        _ => Err(CgroupError::InvalidResource {
            what: "memory.swap".into(),
            reason: format!(
                "a memory+swap limit ({swap}) needs a memory limit to derive the swap limit on cgroup v2"
            ),
        }),
    }
}

fn bytes_or_max(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

fn set_memory(dir: &Path, mem: &LinuxMemory) -> Result<(), CgroupError> {
    // Kernel memory, swappiness and disableOOMKiller have no v2 equivalent; runc ignores
    // them on v2 as well, and failing would break specs generated for v1 hosts.
    let swap = swap_max_value(mem.limit(), mem.swap())?;
    if let Some(l) = mem.limit().filter(|v| *v != 0) {
        fs::write(&dir.join("memory.max"), &bytes_or_max(l))?;
    }
    if let Some(r) = mem.reservation().filter(|v| *v != 0) {
        fs::write(&dir.join("memory.low"), &bytes_or_max(r))?;
    }
    if let Some(s) = swap {
        fs::write(&dir.join("memory.swap.max"), &s)?;
    }
    Ok(())
}

fn set_cpu(dir: &Path, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    if cpu.realtime_runtime().is_some_and(|v| v != 0)
        || cpu.realtime_period().is_some_and(|v| v != 0)
    {
        return Err(CgroupError::Unsupported(
            "realtime cpu runtime/period cannot be set on cgroup v2".into(),
        ));
    }
    if let Some(s) = cpu.shares().filter(|s| *s != 0) {
        fs::write(&dir.join("cpu.weight"), &shares_to_weight(s).to_string())?;
    }
    if let Some(v) = cpu_max_value(cpu.quota(), cpu.period()) {
        fs::write(&dir.join("cpu.max"), &v)?;
    }
    if let Some(b) = cpu.burst() {
        fs::write(&dir.join("cpu.max.burst"), &b.to_string())?;
    }
    match cpu.idle() {
        // 0 is the default; asking for it must not fail on kernels without cpu.idle.
        Some(0) => {
            fs::write_optional(&dir.join("cpu.idle"), "0")?;
        }
        Some(i) => fs::write(&dir.join("cpu.idle"), &i.to_string())?,
        None => {}
    }
    if let Some(c) = cpu.cpus().as_deref().filter(|s| !s.is_empty()) {
        fs::write(&dir.join("cpuset.cpus"), c)?;
    }
    if let Some(mm) = cpu.mems().as_deref().filter(|s| !s.is_empty()) {
        fs::write(&dir.join("cpuset.mems"), mm)?;
    }
    Ok(())
}

/// io.weight from a v1 blkio weight: 10..=1000 mapped linearly onto 1..=10000.
pub(super) fn blkio_weight_to_io_weight(w: u16) -> u64 {
    let w = u64::from(w.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

/// io.max lines, one per device with all its keys ("8:0 rbps=1048576 wiops=100"), in the
/// order devices first appear. A rate of 0 lifts the limit, as writing 0 does on v1.
pub(super) fn io_max_lines(b: &LinuxBlockIo) -> Vec<String> {
    let lists: [(&str, &Option<Vec<LinuxThrottleDevice>>); 4] = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ];
    let mut devices: Vec<((i64, i64), Vec<String>)> = Vec::new();
    for (key, list) in lists {
        for d in list.as_deref().unwrap_or_default() {
            let value = if d.rate() == 0 {
                "max".to_string()
            } else {
                d.rate().to_string()
            };
            let entry = format!("{key}={value}");
            let dev = (d.major(), d.minor());
            match devices.iter_mut().find(|(k, _)| *k == dev) {
                Some((_, entries)) => entries.push(entry),
                None => devices.push((dev, vec![entry])),
            }
        }
    }
    devices
        .into_iter()
        .map(|((maj, min), entries)| format!("{maj}:{min} {}", entries.join(" ")))
        .collect()
}

fn set_io(dir: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    let weight_devices = b.weight_device().as_deref().unwrap_or_default();
    if b.leaf_weight().is_some_and(|w| w != 0)
        || weight_devices.iter().any(|d| d.leaf_weight().is_some())
    {
        return Err(CgroupError::Unsupported(
            "blkio leaf weights cannot be set on cgroup v2".into(),
        ));
    }
    // io.weight needs the iocost controller; with only BFQ the weight goes to
    // io.bfq.weight, which uses the v1 scale.
    let use_bfq = !dir.join("io.weight").exists() && dir.join("io.bfq.weight").exists();
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        if use_bfq {
            fs::write(&dir.join("io.bfq.weight"), &w.to_string())?;
        } else {
            fs::write(
                &dir.join("io.weight"),
                &format!("default {}", blkio_weight_to_io_weight(w)),
            )?;
        }
    }
    for d in weight_devices {
        if let Some(w) = d.weight() {
            if use_bfq {
                fs::write(
                    &dir.join("io.bfq.weight"),
                    &format!("{}:{} {w}", d.major(), d.minor()),
                )?;
            } else {
                let line = format!(
                    "{}:{} {}",
                    d.major(),
                    d.minor(),
                    blkio_weight_to_io_weight(w)
                );
                fs::write(&dir.join("io.weight"), &line)?;
            }
        }
    }
    for line in io_max_lines(b) {
        fs::write(&dir.join("io.max"), &line)?;
    }
    Ok(())
}

fn frozen_state(dir: &Path) -> Result<Option<bool>, CgroupError> {
    let path = dir.join("cgroup.events");
    let Some(content) = fs::read_optional(&path)? else {
        return Ok(None);
    };
    let events = fs::parse_flat_keyed(&path, &content)?;
    Ok(events.get("frozen").map(|v| *v == 1))
}

fn set_frozen(m: &Manager, frozen: bool) -> Result<(), CgroupError> {
    let dir = m.v2_dir()?.dir.as_path();
    let freeze_file = dir.join("cgroup.freeze");
    let value = if frozen { "1" } else { "0" };
    fs::write(&freeze_file, value)?;
    let start = std::time::Instant::now();
    let mut last = None;
    let reached = fs::wait_until(FREEZE_TIMEOUT, || {
        last = frozen_state(dir)?;
        Ok(last == Some(frozen))
    })?;
    if reached {
        return Ok(());
    }
    if frozen {
        // Leave the container running rather than half-frozen; the timeout is reported.
        let _ = fs::write(&freeze_file, "0");
    }
    Err(CgroupError::Timeout {
        path: freeze_file,
        value: value.to_string(),
        state_file: dir.join("cgroup.events"),
        last: match last {
            Some(true) => "frozen 1".to_string(),
            Some(false) => "frozen 0".to_string(),
            None => "no frozen key".to_string(),
        },
        waited_ms: start.elapsed().as_millis(),
    })
}

pub(super) fn freeze(m: &Manager) -> Result<(), CgroupError> {
    set_frozen(m, true)
}

pub(super) fn thaw(m: &Manager) -> Result<(), CgroupError> {
    set_frozen(m, false)
}

pub(super) fn is_frozen(m: &Manager) -> Result<bool, CgroupError> {
    Ok(frozen_state(&m.v2_dir()?.dir)?.unwrap_or(false))
}

pub(super) fn pids(m: &Manager) -> Result<Vec<i32>, CgroupError> {
    fs::pids_recursive(&m.v2_dir()?.dir)
}

fn read_flat_optional(path: &Path) -> Result<BTreeMap<String, u64>, CgroupError> {
    match fs::read_optional(path)? {
        Some(content) => fs::parse_flat_keyed(path, &content),
        None => Ok(BTreeMap::new()),
    }
}

pub(super) fn stats(m: &Manager) -> Result<Stats, CgroupError> {
    let dir = m.v2_dir()?.dir.as_path();
    let mut stats = Stats::default();

    // cpu.stat counts microseconds; runc reports nanoseconds.
    let cpu = read_flat_optional(&dir.join("cpu.stat"))?;
    let us = |k: &str| cpu.get(k).copied().unwrap_or(0).saturating_mul(1000);
    stats.cpu.usage.total = us("usage_usec");
    stats.cpu.usage.user = us("user_usec");
    stats.cpu.usage.kernel = us("system_usec");
    stats.cpu.throttling.periods = cpu.get("nr_periods").copied().unwrap_or(0);
    stats.cpu.throttling.throttled_periods = cpu.get("nr_throttled").copied().unwrap_or(0);
    stats.cpu.throttling.throttled_time = us("throttled_usec");

    stats.memory = memory_stats(dir)?;

    stats.pids = PidsStats {
        current: fs::read_u64_optional(&dir.join("pids.current"))?.unwrap_or(0),
        limit: fs::read_u64_optional(&dir.join("pids.max"))?
            .filter(|v| *v != u64::MAX)
            .unwrap_or(0),
    };

    let io_path = dir.join("io.stat");
    if let Some(content) = fs::read_optional(&io_path)? {
        stats.blkio = io_stats(&io_path, &content)?;
    }

    let names = fs::file_names(dir)?;
    for size in v1::hugetlb_sizes(&names, ".current") {
        let usage = fs::read_u64_optional(&dir.join(format!("hugetlb.{size}.current")))?;
        let events = read_flat_optional(&dir.join(format!("hugetlb.{size}.events")))?;
        let h = HugetlbStats {
            usage: usage.unwrap_or(0),
            max: 0,
            failcnt: events.get("max").copied().unwrap_or(0),
        };
        stats.hugetlb.insert(size, h);
    }
    Ok(stats)
}

pub(super) fn memory_stats(dir: &Path) -> Result<MemoryStats, CgroupError> {
    let read = |f: &str| -> Result<u64, CgroupError> {
        Ok(fs::read_u64_optional(&dir.join(f))?.unwrap_or(0))
    };
    let raw = read_flat_optional(&dir.join("memory.stat"))?;
    let events = read_flat_optional(&dir.join("memory.events"))?;
    let usage = read("memory.current")?;
    let limit = fs::read_u64_optional(&dir.join("memory.max"))?.unwrap_or(u64::MAX);
    let swap_usage = read("memory.swap.current")?;
    let swap_limit = fs::read_u64_optional(&dir.join("memory.swap.max"))?.unwrap_or(u64::MAX);
    let swap_events = read_flat_optional(&dir.join("memory.swap.events"))?;
    Ok(MemoryStats {
        cache: raw.get("file").copied().unwrap_or(0),
        usage: MemoryEntry {
            limit,
            usage,
            max: read("memory.peak")?,
            failcnt: events.get("max").copied().unwrap_or(0),
        },
        // runc reports memory+swap here, as v1's memsw, so consumers work unchanged.
        swap: MemoryEntry {
            limit: limit.saturating_add(swap_limit),
            usage: usage.saturating_add(swap_usage),
            max: read("memory.swap.peak")?,
            failcnt: swap_events.get("max").copied().unwrap_or(0),
        },
        raw,
        ..MemoryStats::default()
    })
}

/// io.stat "maj:min rbytes=… wbytes=… rios=… wios=…" as v1-style Read/Write entries.
pub(super) fn io_stats(path: &Path, content: &str) -> Result<BlkioStats, CgroupError> {
    let mut b = BlkioStats::default();
    for (dev, keys) in fs::parse_nested_keyed(path, content)? {
        let (major, minor) = fs::parse_dev(path, &dev)?;
        let entry = |op: &str, key: &str| BlkioEntry {
            major,
            minor,
            op: op.to_string(),
            value: keys.get(key).copied().unwrap_or(0),
        };
        b.io_service_bytes_recursive.push(entry("Read", "rbytes"));
        b.io_service_bytes_recursive.push(entry("Write", "wbytes"));
        b.io_serviced_recursive.push(entry("Read", "rios"));
        b.io_serviced_recursive.push(entry("Write", "wios"));
    }
    Ok(b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::tests::{fake_files, read};
    use super::super::CgroupVersion;
    use super::*;

    #[test]
    fn shares_to_weight_conversion() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(shares_to_weight(1_000_000), 10_000);
    }

    #[test]
    fn swap_conversion() {
        assert_eq!(
            swap_max_value(Some(100), Some(300)).unwrap().as_deref(),
            Some("200")
        );
        assert_eq!(
            swap_max_value(Some(100), Some(100)).unwrap().as_deref(),
            Some("0")
        );
        assert_eq!(
            swap_max_value(Some(100), Some(-1)).unwrap().as_deref(),
            Some("max")
        );
        assert_eq!(
            swap_max_value(None, Some(-1)).unwrap().as_deref(),
            Some("max")
        );
        assert_eq!(swap_max_value(Some(100), None).unwrap(), None);
        assert_eq!(swap_max_value(Some(100), Some(0)).unwrap(), None);
        assert!(swap_max_value(None, Some(300)).is_err());
        assert!(swap_max_value(Some(-1), Some(300)).is_err());
        assert!(swap_max_value(Some(300), Some(100)).is_err());
    }

    #[test]
    fn cpu_max_conversion() {
        assert_eq!(
            cpu_max_value(Some(50000), Some(100000)).as_deref(),
            Some("50000 100000")
        );
        assert_eq!(
            cpu_max_value(Some(-1), Some(100000)).as_deref(),
            Some("max 100000")
        );
        assert_eq!(
            cpu_max_value(None, Some(250000)).as_deref(),
            Some("max 250000")
        );
        assert_eq!(cpu_max_value(Some(20000), None).as_deref(), Some("20000"));
        assert_eq!(cpu_max_value(Some(0), Some(0)), None);
        assert_eq!(cpu_max_value(None, None), None);
    }

    #[test]
    fn io_weight_conversion() {
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
        assert_eq!(blkio_weight_to_io_weight(5), 1);
    }

    #[test]
    fn io_max_lines_per_device() {
        let b: LinuxBlockIo = serde_json::from_value(serde_json::json!({
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
            "throttleWriteBpsDevice": [{"major": 8, "minor": 16, "rate": 2048}, {"major": 8, "minor": 0, "rate": 0}],
            "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
            "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 50}]
        }))
        .unwrap();
        assert_eq!(
            io_max_lines(&b),
            vec![
                "8:0 rbps=1048576 wbps=max riops=100",
                "8:16 wbps=2048 wiops=50"
            ]
        );
        assert!(io_max_lines(&LinuxBlockIo::default()).is_empty());
    }

    #[test]
    fn unified_keys() {
        validate_unified_key("memory.high").unwrap();
        validate_unified_key("cpu.max.burst").unwrap();
        for bad in [
            "",
            "../memory.max",
            "a/memory.max",
            "memory..max",
            "nodot",
            "/etc/passwd",
        ] {
            assert!(
                validate_unified_key(bad).is_err(),
                "{bad:?} must be rejected"
            );
        }
    }

    fn fake_v2(r: &Path, extra: &[(&str, &str)]) -> Manager {
        let mut files = vec![
            ("cgroup.controllers", "cpuset cpu io memory hugetlb pids\n"),
            ("cgroup.subtree_control", ""),
            ("m/cgroup.controllers", "cpu memory pids\n"),
            ("m/cgroup.subtree_control", "memory pids cpu\n"),
            ("m/c/cgroup.procs", ""),
            ("m/c/cpu.weight", "100\n"),
            ("m/c/cpu.max", "max 100000\n"),
            ("m/c/cpuset.cpus", ""),
            ("m/c/memory.max", "max\n"),
            ("m/c/memory.low", "0\n"),
            ("m/c/memory.high", "max\n"),
            ("m/c/memory.swap.max", "max\n"),
            ("m/c/pids.max", "max\n"),
            ("m/c/io.weight", "default 100\n"),
            ("m/c/io.max", ""),
            ("m/c/hugetlb.2MB.max", "max\n"),
            ("m/c/cgroup.freeze", "0\n"),
            ("m/c/cgroup.events", "populated 1\nfrozen 0\n"),
        ];
        files.extend_from_slice(extra);
        fake_files(r, &files);
        Manager::with_root(r, CgroupVersion::V2, "c", Some(Path::new("/m/c")), false).unwrap()
    }

    #[test]
    fn apply_enables_controllers() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let m = fake_v2(r, &[]);
        assert_eq!(m.version(), CgroupVersion::V2);
        assert_eq!(m.path_for("memory").unwrap(), r.join("m/c"));
        m.apply(99).unwrap();
        // The fake file keeps only the last write; each controller is written on its own.
        assert!(read(r, "cgroup.subtree_control").starts_with('+'));
        assert_eq!(
            read(r, "m/cgroup.subtree_control"),
            "memory pids cpu\n",
            "nothing to enable"
        );
        assert_eq!(read(r, "m/c/cgroup.procs"), "99");
        assert_eq!(m.pids().unwrap(), vec![99]);
    }

    #[test]
    fn set_writes_v2_files() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let m = fake_v2(r, &[]);
        let res: LinuxResources = serde_json::from_value(serde_json::json!({
            "memory": {"limit": 104857600, "reservation": 1048576, "swap": 209715200, "swappiness": 60, "kernel": 5},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1"},
            "pids": {"limit": 32},
            "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 10}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
            "unified": {"memory.high": "50000000", "pids.max": "16"}
        }))
        .unwrap();
        m.set(&res).unwrap();
        assert_eq!(read(r, "m/c/memory.max"), "104857600");
        assert_eq!(read(r, "m/c/memory.low"), "1048576");
        assert_eq!(read(r, "m/c/memory.swap.max"), "104857600");
        assert_eq!(read(r, "m/c/memory.high"), "50000000");
        assert_eq!(read(r, "m/c/cpu.weight"), "39");
        assert_eq!(read(r, "m/c/cpu.max"), "50000 100000");
        assert_eq!(read(r, "m/c/cpuset.cpus"), "0-1");
        assert_eq!(
            read(r, "m/c/pids.max"),
            "16",
            "unified overrides the converted value"
        );
        assert_eq!(read(r, "m/c/io.weight"), "default 4950");
        assert_eq!(read(r, "m/c/io.max"), "8:0 rbps=10");
        assert_eq!(read(r, "m/c/hugetlb.2MB.max"), "2097152");

        // Device rules become a BPF program attached to the cgroup directory, which the
        // kernel refuses on this fake tree (tests/cgroups_v2_devices.rs uses a real one);
        // no v1 file is written. An empty list changes nothing.
        let devices = |v: serde_json::Value| -> LinuxResources {
            serde_json::from_value(serde_json::json!({ "devices": v })).unwrap()
        };
        let err = m
            .set(&devices(
                serde_json::json!([{"allow": false, "access": "rwm"}]),
            ))
            .unwrap_err();
        assert!(
            matches!(err, CgroupError::Bpf { .. } | CgroupError::BpfLoad { .. }),
            "{err}"
        );
        assert!(!r.join("m/c/devices.allow").exists());
        m.set(&devices(serde_json::json!([]))).unwrap();
    }

    #[test]
    fn set_v2_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let m = fake_v2(r, &[]);
        let set = |v: serde_json::Value| m.set(&serde_json::from_value(v).unwrap());
        std::fs::remove_file(r.join("m/c/memory.swap.max")).unwrap();
        let err = set(serde_json::json!({"memory": {"limit": 100, "swap": 300}}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("memory.swap.max") && err.contains("\"200\""),
            "{err}"
        );
        let err = set(serde_json::json!({"unified": {"../../etc/x.y": "1"}})).unwrap_err();
        assert!(matches!(err, CgroupError::InvalidResource { .. }), "{err}");
        let err = set(serde_json::json!({"unified": {"memory.oom.group": "1"}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("memory.oom.group"), "{err}");
        let err = set(serde_json::json!({"cpu": {"realtimeRuntime": 5}})).unwrap_err();
        assert!(matches!(err, CgroupError::Unsupported(_)), "{err}");
    }

    #[test]
    fn freeze_reads_events() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let m = fake_v2(r, &[]);
        assert!(!m.is_frozen().unwrap());
        // The fake cannot change cgroup.events itself, so it says "frozen" up front.
        std::fs::write(r.join("m/c/cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        m.freeze().unwrap();
        assert_eq!(read(r, "m/c/cgroup.freeze"), "1");
        assert!(m.is_frozen().unwrap());
        std::fs::write(r.join("m/c/cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        m.thaw().unwrap();
        assert_eq!(read(r, "m/c/cgroup.freeze"), "0");
    }

    #[test]
    fn oom_kills_from_memory_events() {
        let tmp = tempfile::tempdir().unwrap();
        let m = fake_v2(tmp.path(), &[]);
        assert_eq!(m.oom_kills().unwrap(), 0);
        let m = fake_v2(
            tmp.path(),
            &[(
                "m/c/memory.events",
                "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n",
            )],
        );
        assert_eq!(m.oom_kills().unwrap(), 1);
    }

    #[test]
    fn stats_from_fake_files() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let m = fake_v2(
            r,
            &[
                ("m/c/cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 3\nnr_throttled 1\nthrottled_usec 2\n"),
                ("m/c/memory.current", "4096\n"),
                ("m/c/memory.peak", "8192\n"),
                ("m/c/memory.events", "low 0\nhigh 0\nmax 2\noom 0\noom_kill 0\n"),
                ("m/c/memory.stat", "anon 100\nfile 200\n"),
                ("m/c/memory.swap.current", "10\n"),
                ("m/c/pids.current", "2\n"),
                ("m/c/io.stat", "8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0\n"),
                ("m/c/hugetlb.2MB.current", "0\n"),
                ("m/c/hugetlb.2MB.events", "max 4\n"),
                ("m/c/hugetlb.2MB.rsvd.current", "0\n"),
            ],
        );
        let s = m.stats().unwrap();
        assert_eq!(s.cpu.usage.total, 10_000);
        assert_eq!(s.cpu.usage.user, 6_000);
        assert_eq!(s.cpu.usage.kernel, 4_000);
        assert_eq!(s.cpu.throttling.throttled_time, 2_000);
        assert_eq!(s.memory.usage.usage, 4096);
        assert_eq!(s.memory.usage.limit, u64::MAX);
        assert_eq!(s.memory.usage.max, 8192);
        assert_eq!(s.memory.usage.failcnt, 2);
        assert_eq!(s.memory.swap.usage, 4106);
        assert_eq!(s.memory.cache, 200);
        assert_eq!(
            s.pids,
            PidsStats {
                current: 2,
                limit: 0
            }
        );
        assert_eq!(s.blkio.io_service_bytes_recursive[1].value, 1024);
        assert_eq!(s.blkio.io_serviced_recursive[0].value, 1);
        assert_eq!(s.hugetlb.len(), 1);
        assert_eq!(s.hugetlb["2MB"].failcnt, 4);
    }
}
