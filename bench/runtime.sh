#!/usr/bin/env bash
# bench/runtime.sh: `run` of /bin/true from an OCI bundle, muelle-runtime against crun and
# runc (Debian's packages). A benchmark, not a test: it asserts nothing, but every run must
# succeed for a runtime's numbers to be reported as valid.
#
# The bundle: the busybox rootfs (scripts/busybox-rootfs.sh, read-only), process /bin/true,
# pid + mount + ipc + uts + network namespaces, and a cgroup whose linux.cgroupsPath is
# unique per run (one bundle dir per run, all sharing the rootfs). Runs are interleaved
# round-robin, the starting runtime rotating every round, after WARMUP rounds that are not counted;
# each runtime has its own fresh --root on a private tmpfs; container ids are unique.
# Wall time per run is taken by a small python3 loop (posix_spawn + wait4 between two
# perf_counter_ns reads), the same code path for every runtime; CPU time is the user+sys
# that wait4 returns (the runtime and every child it waited for, the container's process
# included), less sensitive than wall time to other load on the machine. p50 and p90 of each.
# Peak RSS: a separate interleaved batch under `/usr/bin/time -f %M` (the largest RSS of
# the runtime process or of any of its waited-for children, in KiB); without GNU time, the
# ru_maxrss that wait4 returned for the timed runs (the same quantity).
#
# Environment: RUNS (rounds, default 100), WARMUP (5), RSS_RUNS (rounds of the RSS batch,
# 10), BENCH_JSON (a file to write the raw per-run times and RSS to), MUELLE_RUNTIME_BIN (default: the static build of scripts/build.sh, built here first),
# EXTRA_RUNTIME (another runc-compatible binary, e.g. an older muelle-runtime, run as a fourth
# runtime in the same rounds; EXTRA_NAME names it, default "old"),
# QUIET_PCT (20) and QUIET_MAX_WAIT (300 s): wait, bounded, until the CPUs are at most
# QUIET_PCT % busy, like /work/shared/bench/peers.sh does.
# Exit status 1 when some run failed (that runtime's numbers are then marked INVALID).
# Needs root. Leaves nothing behind: tmpfs, state dirs and cgroups are removed on exit.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
export LC_ALL=C.UTF-8
RUNS=${RUNS:-100}
WARMUP=${WARMUP:-5}
RSS_RUNS=${RSS_RUNS:-10}
QUIET_PCT=${QUIET_PCT:-20}
QUIET_MAX_WAIT=${QUIET_MAX_WAIT:-300}
TAG=muelle-bench-$$

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

# ------------------------------------------------------------------ tools
need_pkgs=""
for p in runc crun busybox-static time; do dpkg -s "$p" >/dev/null 2>&1 || need_pkgs="$need_pkgs $p"; done
if [ -n "$need_pkgs" ]; then
  log "installing$need_pkgs"
  export DEBIAN_FRONTEND=noninteractive
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  # shellcheck disable=SC2086
  { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $need_pkgs >/dev/null; } \
    || log "apt-get install$need_pkgs failed; going on with what is there"
fi
RUNC=$(command -v runc) || die "runc missing"
CRUN=$(command -v crun) || die "crun missing"
GNU_TIME=""; [ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1 && GNU_TIME=/usr/bin/time

if [ -n "${MUELLE_RUNTIME_BIN:-}" ]; then
  MUELLE=$MUELLE_RUNTIME_BIN
else
  log "scripts/build.sh (static release build)"
  MUELLE=$("$TOP/scripts/build.sh")/muelle-runtime || die "build failed"
fi
case $MUELLE in /*) ;; *) MUELLE=$(cd "$(dirname "$MUELLE")" && pwd)/$(basename "$MUELLE") ;; esac
[ -x "$MUELLE" ] || die "$MUELLE is not executable"
EXTRA=${EXTRA_RUNTIME:-}
EXTRA_NAME=${EXTRA_NAME:-old}
if [ -n "$EXTRA" ]; then
  case $EXTRA in /*) ;; *) EXTRA=$(cd "$(dirname "$EXTRA")" && pwd)/$(basename "$EXTRA") ;; esac
  [ -x "$EXTRA" ] || die "EXTRA_RUNTIME $EXTRA is not executable"
  # the name is the first dash-separated part of cgroup dir names, and a directory name
  case $EXTRA_NAME in *[!a-z0-9_]*|''|muelle|crun|runc) die "EXTRA_NAME must be [a-z0-9_]+ and new" ;; esac
fi

# Hybrid cgroups: controllers left on the v2 mount (hugetlb) need their own v1 hierarchy,
# or crun refuses to run (the same host fix as scripts/peers.sh).
if [ -r /sys/fs/cgroup/unified/cgroup.controllers ]; then
  for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
    mkdir -p "/sys/fs/cgroup/$c"
    mountpoint -q "/sys/fs/cgroup/$c" || mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
  done
fi

# ------------------------------------------------------------------ work dir + cleanup
W=$(mktemp -d /tmp/muelle-bench.XXXXXX)
mount -t tmpfs -o size=512m,mode=0755 "$TAG" "$W"
cleanup() {
  local rt r id d
  set +e
  for rt in muelle crun runc ${EXTRA:+"$EXTRA_NAME"}; do
    r=$W/root-$rt
    [ -d "$r" ] || continue
    case $rt in muelle) d=$MUELLE ;; crun) d=$CRUN ;; runc) d=$RUNC ;; *) d=$EXTRA ;; esac
    for id in $(ls "$r" 2>/dev/null); do "$d" --root "$r" delete -f "$id" >/dev/null 2>&1; done
  done
  # the cgroups: runs' own ones if a runtime left them, then the common parent
  find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -depth -type d -path "*/$TAG*" -exec rmdir {} + 2>/dev/null
  umount "$W" 2>/dev/null
  rmdir "$W" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ bundle
"$TOP/scripts/busybox-rootfs.sh" "$W/rootfs" >/dev/null
(cd "$W" && "$MUELLE" spec && mv config.json base.json) || die "$MUELLE spec failed"

# ------------------------------------------------------------------ quiet machine
cpu_busy_pct() {
  local a b c d e f g h t1 i1 t2 i2
  read -r _ a b c d e f g h _ </proc/stat; t1=$((a+b+c+d+e+f+g+h)); i1=$((d+e))
  sleep 1
  read -r _ a b c d e f g h _ </proc/stat; t2=$((a+b+c+d+e+f+g+h)); i2=$((d+e))
  echo $(( 100 * ((t2-t1) - (i2-i1)) / (t2-t1 > 0 ? t2-t1 : 1) ))
}
wait_quiet() {
  local waited=0 b
  while :; do
    b=$(cpu_busy_pct)
    [ "$b" -le "$QUIET_PCT" ] && break
    if [ "$waited" -ge "$QUIET_MAX_WAIT" ]; then log "machine still ${b}% busy after ${waited}s; going on"; break; fi
    sleep 4; waited=$((waited+5))
  done
  echo "$b"
}
log "waiting for a quiet machine (<= ${QUIET_PCT}% busy, at most ${QUIET_MAX_WAIT}s)"
BUSY=$(wait_quiet)
log "machine ${BUSY}% busy before the runs; $WARMUP warm-up + $RUNS rounds, RSS batch $RSS_RUNS rounds"

# ------------------------------------------------------------------ the runs
[ -z "${BENCH_JSON:-}" ] || case $BENCH_JSON in /*) ;; *) BENCH_JSON=$PWD/$BENCH_JSON ;; esac
export W TAG RUNS WARMUP RSS_RUNS BUSY MUELLE CRUN RUNC GNU_TIME BENCH_JSON=${BENCH_JSON:-} EXTRA EXTRA_NAME
python3 - <<'PY'
import json, os, statistics, subprocess, sys, time

W, TAG = os.environ["W"], os.environ["TAG"]
RUNS, WARMUP, RSS_RUNS = (int(os.environ[k]) for k in ("RUNS", "WARMUP", "RSS_RUNS"))
GNU_TIME = os.environ["GNU_TIME"]
RTS = [("muelle", os.environ["MUELLE"]), ("crun", os.environ["CRUN"]), ("runc", os.environ["RUNC"])]
if os.environ["EXTRA"]:
    RTS.append((os.environ["EXTRA_NAME"], os.environ["EXTRA"]))

base = json.load(open(f"{W}/base.json"))
# crun 1.8.1 refuses an ociVersion without "1.0" in it; nothing here depends on 1.2
base["ociVersion"] = "1.0.2"
base["root"] = {"path": f"{W}/rootfs", "readonly": True}
base["process"]["terminal"] = False
base["process"]["args"] = ["/bin/true"]
base["linux"]["namespaces"] = [{"type": t} for t in ("pid", "mount", "ipc", "uts", "network")]

seq = 0
def bundle(rt):
    """A fresh bundle dir (own config.json, unique cgroupsPath) and a unique container id."""
    global seq
    seq += 1
    cid = f"{TAG}-{rt}-{seq}"
    d = f"{W}/b/{cid}"
    os.makedirs(d)
    cfg = dict(base)
    cfg["linux"] = dict(base["linux"], cgroupsPath=f"/{TAG}/{rt}-{seq}")
    with open(f"{d}/config.json", "w") as f:
        json.dump(cfg, f)
    return cid, d

for rt, _ in RTS:
    os.makedirs(f"{W}/root-{rt}")
ERR = f"{W}/stderr"
fails = {rt: [] for rt, _ in RTS}

def spawn_wait(argv):
    """Run argv (stdin/stdout /dev/null, stderr to a file); wall ns, exit code, rusage."""
    fa = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
          (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
          (os.POSIX_SPAWN_OPEN, 2, ERR, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=fa)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.perf_counter_ns()
    return t1 - t0, os.waitstatus_to_exitcode(status), ru

def one(rt, exe, prefix=()):
    cid, d = bundle(rt)
    argv = list(prefix) + [exe, "--root", f"{W}/root-{rt}", "run", "--bundle", d, cid]
    ns, code, ru = spawn_wait(argv)
    if code != 0:
        err = open(ERR, errors="replace").read().strip().replace("\n", " | ")[:300]
        fails[rt].append(f"{cid}: exit {code}: {err}")
    return ns, code, ru

times = {rt: [] for rt, _ in RTS}
cpu = {rt: [] for rt, _ in RTS}
wait4_rss = {rt: [] for rt, _ in RTS}
for r in range(WARMUP + RUNS):
    # Rotate who goes first each round: a runtime's first cgroup move pays an RCU grace
    # period when the previous move was long ago, so a fixed order would always charge that
    # to whoever follows the slowest runtime.
    k = r % len(RTS)
    for rt, exe in RTS[k:] + RTS[:k]:
        ns, code, ru = one(rt, exe)
        if r >= WARMUP:
            times[rt].append(ns / 1e6)
            cpu[rt].append((ru.ru_utime + ru.ru_stime) * 1e3)
            wait4_rss[rt].append(ru.ru_maxrss)
        elif code != 0:
            fails[rt][-1] = "(warm-up) " + fails[rt][-1]

# peak RSS batch
rss = {rt: [] for rt, _ in RTS}
if GNU_TIME:
    rss_src = "/usr/bin/time -f %M"
    for r in range(RSS_RUNS):
        for rt, exe in RTS:
            out = f"{W}/time.out"
            ns, code, _ = one(rt, exe, prefix=(GNU_TIME, "-f", "%M", "-o", out))
            if code == 0:
                rss[rt].append(int(open(out).read().split()[-1]))
else:
    rss_src = "wait4 ru_maxrss of the timed runs"
    rss = wait4_rss

# leftovers: state dirs and cgroups each runtime should have removed at the end of `run`
left_state = {rt: len(os.listdir(f"{W}/root-{rt}")) for rt, _ in RTS}
left_cg = {rt: 0 for rt, _ in RTS}
for ctl in os.listdir("/sys/fs/cgroup"):
    p = f"/sys/fs/cgroup/{ctl}/{TAG}"
    if os.path.isdir(p):
        for sub in os.listdir(p):
            rtname = sub.split("-")[0]
            if os.path.isdir(f"{p}/{sub}") and rtname in left_cg:
                left_cg[rtname] += 1

def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)

print()
print(f"runtime `run` of /bin/true (pid+mnt+ipc+uts+net ns, own cgroup), {RUNS} interleaved rounds "
      f"after {WARMUP} warm-up; machine {os.environ['BUSY']}% busy before")
# What every runtime's cost grows with: a new mount namespace copies the host's mounts, and
# pivot_root visits every process.
n_mounts = sum(1 for _ in open("/proc/self/mountinfo"))
n_procs = sum(1 for d in os.listdir("/proc") if d.isdigit())
print(f"host: {n_mounts} mounts, {n_procs} processes, load average {os.getloadavg()[0]:.1f} after the runs")
vers = {}
for rt, exe in RTS:

    v = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip().splitlines()
    vers[rt] = v[0] if v else "?"
hdr = (f"{'runtime':8} {'ok/runs':>9} {'p50 ms':>8} {'p90 ms':>8} {'p10 ms':>8} {'cpu p50':>8} {'cpu p90':>8}"
       f" {'peak RSS KiB (median/max)':>26}  version")
print(hdr)
print("-" * len(hdr))
valid = {}
for rt, _ in RTS:
    n_fail = len(fails[rt])
    total = WARMUP + RUNS + (RSS_RUNS if GNU_TIME else 0)
    ok = n_fail == 0
    valid[rt] = ok
    t = times[rt]
    r = rss[rt]
    rs = f"{int(statistics.median(r))}/{max(r)}" if r else "-"
    if ok:
        c = cpu[rt]
        print(f"{rt:8} {total - n_fail:>4}/{total:<4} {pct(t, .5):>8.2f} {pct(t, .9):>8.2f} {pct(t, .1):>8.2f}"
              f" {pct(c, .5):>8.2f} {pct(c, .9):>8.2f} {rs:>26}  {vers[rt]}")
    else:
        print(f"{rt:8} {total - n_fail:>4}/{total:<4} {'INVALID: ' + str(n_fail) + ' failed run(s)':>71}  {vers[rt]}")
print()
for mine in [rt for rt, _ in RTS if rt not in ("crun", "runc")]:
    for other in ("crun", "runc"):
        if valid[mine] and valid[other]:
            a, b = times[mine], times[other]
            print(f"{mine}/{other}: p50 {pct(a, .5) / pct(b, .5):.2f}, p90 {pct(a, .9) / pct(b, .9):.2f},"
                  f" cpu p50 {pct(cpu[mine], .5) / pct(cpu[other], .5):.2f}")
        else:
            print(f"{mine}/{other}: n/a (failed runs)")
print("(ms: wall time per `run`; cpu: user+sys of the runtime and its waited-for children, ms)")
print(f"peak RSS from: {rss_src}")
for rt, _ in RTS:
    if left_state[rt] or left_cg[rt]:
        print(f"WARNING: {rt} left {left_state[rt]} state dir(s) and {left_cg[rt]} cgroup dir(s) behind")
bad = False
for rt, _ in RTS:
    if fails[rt]:
        bad = True
        print(f"\nFAILED runs of {rt} ({len(fails[rt])}):")
        for f in fails[rt][:10]:
            print(f"  {f}")
        if len(fails[rt]) > 10:
            print(f"  ... and {len(fails[rt]) - 10} more")
if os.environ.get("BENCH_JSON"):
    with open(os.environ["BENCH_JSON"], "w") as f:
        json.dump({"runs": RUNS, "warmup": WARMUP, "busy_before_pct": int(os.environ["BUSY"]),
                   "times_ms": times, "cpu_ms": cpu, "peak_rss_kib": rss, "failures": fails}, f)
sys.exit(1 if bad else 0)
PY
