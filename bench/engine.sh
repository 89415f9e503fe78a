#!/usr/bin/env bash
# bench/engine.sh: the engine benchmark of issue #4. muelled (a private instance: its own
# data root, exec root and socket, started and stopped here) against docker.io 20.10
# (dockerd + containerd + containerd-shim-runc-v2 + runc) and podman (conmon + crun):
#
#  1. `run --rm --network none [OPTIONS] busybox true`, interleaved round by round with the starting
#     tool rotated, after WARMUP untimed rounds. Tools: the muelle CLI against muelled,
#     the docker CLIs 20.10 (/usr/bin) and 28 (/usr/local/bin, when present) against muelled
#     (DOCKER_HOST; shows the CLI's share separately, as does each CLI's `--version` time,
#     timed interleaved after the rounds), docker and podman. Wall time of the CLI process (bash $EPOCHREALTIME around it, no fork for
#     the clock). Every run uses --pull=never: nothing may reach a registry. OPTIONS: none,
#     a named volume, a bind mount, `--memory --cpus --pids-limit` (issue #11: each under
#     10% over the bare run), and networking (issue #12): the default bridge (`--network
#     bridge`) and a user-defined network made once per engine (`--network NET`), whose
#     ratio to the bare run is the cost of networking (goal: under 3 ms more for muelle;
#     docker pays about 90 ms here, podman about 180 ms).
#     The baseline of issue #14 runs in the same rounds: crun (Debian's) running /bin/true
#     from a prepared bundle of the same busybox rootfs in its own network namespace, and
#     for the networked variants crun in a namespace made and wired (one veth pair on a
#     bridge) in the same timed step. Each row has its median, p90, the ratio to crun and
#     p90/median. 1b: COLD_REPS cold starts of muelle and crun, each after COLD_IDLE s idle.
#  2. CONC_N (50) x `run -d --network none --name ... busybox sleep 300` started at once,
#     wall time until the last CLI exits; then the number running, memory, and the wall
#     time of one `rm -f` of all of them. CONC_REPS repetitions, the engine order rotated.
#  3. Memory. muelled's VmRSS (/proc/PID/status) and Pss (smaps_rollup) idle (image loaded,
#     no containers), idle again after the run --rm rounds, and with CONC_N running. Per
#     container, on the first repetition: Private_Clean+Private_Dirty, Pss and Rss from
#     /proc/PID/smaps_rollup of each container's supervisor -- muelle-shim, containerd-shim
#     (the parent of the container's init) and conmon (podman's State.ConmonPid) -- the
#     median over the CONC_N. Private memory is what one more container costs; Pss splits
#     the shared binary pages among the supervisors. dockerd/containerd are shared with
#     whatever else uses them on this machine, so their RSS is context only.
#
#  4. TCP throughput with iperf3 (Debian's, in a local image: scripts/busybox-rootfs.sh plus
#     /usr/bin/iperf3 and the libraries ldd names, `import`ed into each engine; nothing is
#     pulled), muelle against docker, IPERF_REPS interleaved repetitions of IPERF_SECS each:
#     container to container on a user-defined network (the server's address), and the
#     host's 127.0.0.1 to a port published on 127.0.0.1 (goal: at least docker's). Traffic
#     stays on 127.0.0.1 and container addresses.
#
# Targets (issue #4): run --rm median <= 0.1 x docker's and <= 0.2 x podman's; muelled idle
# RSS < 20 MiB; per-container overhead (the supervisor's private memory) < 1 MiB.
#
# Images: muelled gets busybox:latest from the project's own OCI image
# (scripts/busybox-image.sh -> tar -> `muelle load`); docker and podman get theirs from
# scripts/peers.sh (a `docker import`/`podman import` of scripts/busybox-rootfs.sh, the same
# busybox-static). If docker's or podman's busybox:latest is still missing after that, the
# script stops: it never pulls.
#
# A benchmark, not a test: it asserts nothing, but a tool with a failed run is reported
# INVALID and the exit status is then 1. The load of the machine (uptime, CPU busy % over
# one second) is printed before every section: on a shared machine the numbers are only
# comparable within one run.
#
# Environment: ROUNDS (run --rm rounds, default 20), WARMUP (2), CONC_N (50), CONC_REPS (2),
# IPERF_SECS (5), IPERF_REPS (3; 0 leaves section 4 out), COLD_REPS (3; 0 leaves 1b out),
# COLD_IDLE (30 s),
# MUELLE_BIN_DIR (default: the release build of scripts/build.sh, built here; it must hold
# muelle, muelled, muelle-shim, muelle-runtime), QUIET_PCT (20) and QUIET_MAX_WAIT (0 s: by
# default do not wait for a quiet machine; set e.g. 300 to wait, bounded, before each
# section). Needs root. Leaves nothing behind: containers (by the name prefix of this run,
# on all three engines), muelled, its shims, mounts and directories go on exit, also after
# a failure or ^C.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
export LC_ALL=C.UTF-8
ROUNDS=${ROUNDS:-20}
WARMUP=${WARMUP:-2}
CONC_N=${CONC_N:-50}
CONC_REPS=${CONC_REPS:-2}
IPERF_SECS=${IPERF_SECS:-5}
IPERF_REPS=${IPERF_REPS:-3}
QUIET_PCT=${QUIET_PCT:-20}
QUIET_MAX_WAIT=${QUIET_MAX_WAIT:-0}
COLD_REPS=${COLD_REPS:-3}
COLD_IDLE=${COLD_IDLE:-30}
TAG=mbench$$            # container name prefix of this run
IPERF_IMG=muelle-bench/iperf3:$TAG
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

DOCKER=/usr/bin/docker  # Debian's CLI, matching the 20.10 daemon (not /usr/local/bin's 28.x)
# The docker 28 CLI (scripts/peers.sh installs it), also timed against muelled: the CLI that
# issue #14 measured, and one that starts in a third of 20.10's time.
DOCKER28=/usr/local/bin/docker
PODMAN=/usr/bin/podman
unset DOCKER_HOST CONTAINER_HOST

# ------------------------------------------------------------------ binaries
if [ -n "${MUELLE_BIN_DIR:-}" ]; then BIN=$MUELLE_BIN_DIR; else
  log "scripts/build.sh (release build)"; BIN=$("$TOP/scripts/build.sh") || die "build failed"; fi
BIN=$(cd "$BIN" && pwd)
for b in muelle muelled muelle-shim muelle-runtime; do
  [ -x "$BIN/$b" ] || die "$BIN has no $b (muelled runs containers through muelle-shim beside it)"
done

# ------------------------------------------------------------------ work dirs + cleanup
W=$(mktemp -d /var/tmp/muelle-engine-bench.XXXXXX)   # data root, logs, image tar
R=$(mktemp -d /run/muelle-eb.XXXXXX)                 # exec root (short: sockets live there)
SOCK=$R/muelled.sock
MD_PID=""
M() { "$BIN/muelle" -H "unix://$SOCK" "$@"; }
D() { "$DOCKER" "$@"; }
P() { "$PODMAN" "$@"; }
HAVE_DOCKER=0 HAVE_PODMAN=0

rm_all() { # removes every container of this run on every engine
  local ids
  if [ -n "$MD_PID" ] && kill -0 "$MD_PID" 2>/dev/null; then
    ids=$(M ps -aq --filter "name=$TAG" 2>/dev/null || true)
    [ -z "$ids" ] || M rm -f $ids >/dev/null 2>&1 || true
  fi
  if [ $HAVE_DOCKER = 1 ]; then
    ids=$(D ps -aq --filter "name=$TAG" 2>/dev/null || true)
    [ -z "$ids" ] || D rm -f $ids >/dev/null 2>&1 || true
  fi
  if [ $HAVE_PODMAN = 1 ]; then
    ids=$(P ps -aq --filter "name=$TAG" 2>/dev/null || true)
    [ -z "$ids" ] || P rm -f -t 0 $ids >/dev/null 2>&1 || true
  fi
}
cleanup() {
  local p m
  set +e
  rm_all
  if [ -n "$MD_PID" ] && kill -0 "$MD_PID" 2>/dev/null; then M volume rm -f "$TAG-vol" >/dev/null 2>&1; fi
  [ $HAVE_DOCKER = 1 ] && D volume rm -f "$TAG-vol" >/dev/null 2>&1
  [ $HAVE_PODMAN = 1 ] && P volume rm -f "$TAG-vol" >/dev/null 2>&1
  if [ -n "$MD_PID" ] && kill -0 "$MD_PID" 2>/dev/null; then
    M network rm "$TAG-net" >/dev/null 2>&1; M rmi -f "$IPERF_IMG" >/dev/null 2>&1
  fi
  [ $HAVE_DOCKER = 1 ] && { D network rm "$TAG-net" >/dev/null 2>&1; D rmi -f "$IPERF_IMG" >/dev/null 2>&1; }
  [ $HAVE_PODMAN = 1 ] && P network rm -f "$TAG-net" >/dev/null 2>&1
  if [ -n "$MD_PID" ]; then
    kill "$MD_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$MD_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$MD_PID" 2>/dev/null; wait "$MD_PID" 2>/dev/null
  fi
  # shims (and their containers) of this muelled that outlived it: by PID, found by the
  # exec root in their command line
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = muelle-shim ] || continue
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$R/" || continue
    log "cleanup: killing leftover muelle-shim ${p#/proc/}"; kill -KILL "${p#/proc/}"
  done
  ip netns del "$TAG-cn" 2>/dev/null; ip link del "${TAG}r" 2>/dev/null
  [ -n "${CRUN:-}" ] && for c in $("$CRUN" --root "$R/crun" list -q 2>/dev/null); do "$CRUN" --root "$R/crun" delete -f "$c"; done
  for m in $(awk -v w="$W" -v r="$R" 'index($2, w) == 1 || index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m"
  done
  rm -rf "$W" "$R"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ load of the machine
cpu_busy_pct() {
  local a b c d e f g h t1 i1 t2 i2
  read -r _ a b c d e f g h _ </proc/stat; t1=$((a+b+c+d+e+f+g+h)); i1=$((d+e))
  sleep 1
  read -r _ a b c d e f g h _ </proc/stat; t2=$((a+b+c+d+e+f+g+h)); i2=$((d+e))
  echo $(( 100 * ((t2-t1) - (i2-i1)) / (t2-t1 > 0 ? t2-t1 : 1) ))
}
declare -a LOADS=()
note_load() { # note_load SECTION: waits (bounded by QUIET_MAX_WAIT) and records the load
  local waited=0 b
  while :; do
    b=$(cpu_busy_pct)
    { [ "$b" -le "$QUIET_PCT" ] || [ "$waited" -ge "$QUIET_MAX_WAIT" ]; } && break
    sleep 4; waited=$((waited+5))
  done
  LOADS+=("$(printf '%-26s CPU %3s%% busy;%s' "$1:" "$b" "$(uptime | sed 's/.*,  *load/ load/')")")
  log "${LOADS[-1]}"
}

# ------------------------------------------------------------------ peers and their images
log "scripts/peers.sh up (docker, podman, busybox imported locally)"
"$TOP/scripts/peers.sh" up >"$W/peers.log" 2>&1 || log "scripts/peers.sh up failed: $(tail -3 "$W/peers.log" | tr '\n' ' ')"
if [ -x $DOCKER ] && D version >/dev/null 2>&1; then
  HAVE_DOCKER=1
  D image inspect busybox:latest >/dev/null 2>&1 \
    || die "docker has no busybox:latest and this script never pulls: run scripts/peers.sh up (see $W/peers.log)"
else log "docker is not usable: its rows are left out"; fi
if [ -x $PODMAN ] && P version >/dev/null 2>&1; then
  HAVE_PODMAN=1
  P image exists busybox:latest \
    || die "podman has no busybox:latest and this script never pulls: run scripts/peers.sh up (see $W/peers.log)"
else log "podman is not usable: its rows are left out"; fi

# ------------------------------------------------------------------ muelled of its own
"$TOP/scripts/busybox-image.sh" "$W/busybox-oci" >/dev/null || die "scripts/busybox-image.sh failed"
tar -C "$W/busybox-oci" -cf "$W/busybox-oci.tar" .
"$BIN/muelled" -H "unix://$SOCK" --data-root "$W/root" --exec-root "$R" >"$W/muelled.log" 2>&1 &
MD_PID=$!
for _ in $(seq 100); do M version >/dev/null 2>&1 && break; sleep 0.1; done
M version >/dev/null 2>&1 || die "muelled did not start: $(tail -3 "$W/muelled.log")"
M load -q -i "$W/busybox-oci.tar" >/dev/null || die "muelle load of the busybox OCI image failed"
M image inspect busybox:latest >/dev/null || die "muelled has no busybox:latest after the load"

# ------------------------------------------------------------------ crun's bundles
CRUN=$(command -v crun || true)
if [ -n "$CRUN" ]; then
  "$TOP/scripts/busybox-rootfs.sh" "$W/crun/rootfs" >/dev/null || die "scripts/busybox-rootfs.sh failed"
  for b in new join; do
    mkdir -p "$W/crun/$b"
    (cd "$W/crun/$b" && "$CRUN" spec) || die "crun spec failed"
    python3 - "$W/crun/$b/config.json" "$b" "$TAG-cn" <<'PY' || die "making crun's bundle failed"
import json, sys
path, kind, ns = sys.argv[1:4]
c = json.load(open(path))
c["root"] = {"path": "../rootfs", "readonly": True}
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
net = {"type": "network"}
if kind == "join":
    net["path"] = "/run/netns/" + ns
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"] + [net]
json.dump(c, open(path, "w"))
PY
  done
  ip link add "${TAG}r" type bridge && ip link set "${TAG}r" up || die "making crun's bridge failed"
fi

# ------------------------------------------------------------------ memory helpers
vmrss() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
# smaps PID: "RSS PSS PRIVATE" in KiB, PRIVATE = Private_Clean + Private_Dirty
smaps() {
  awk '/^Rss:/{r=$2} /^Pss:/{p=$2} /^Private_Clean:/{c=$2} /^Private_Dirty:/{d=$2}
       END{print r+0, p+0, c+d}' "/proc/$1/smaps_rollup" 2>/dev/null
}
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
declare -A MEM=()   # MEM[key]="rss pss private" (KiB)
daemon_mem() { MEM[$1]="$(vmrss "$MD_PID") $(smaps "$MD_PID" | cut -d' ' -f2-)"; }
sleep 2; daemon_mem idle_loaded

# ------------------------------------------------------------------ statistics
# stats: numbers (one a line) in -> "n median p25 p75 min max" (nearest-rank quartiles)
stats() {
  sort -n | awk '{a[NR]=$1} END {
    if (NR == 0) { print 0, "nan", "nan", "nan", "nan", "nan"; exit }
    m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
    q1 = a[int((NR-1)*0.25)+1]; q3 = a[int((NR-1)*0.75+0.5)+1]
    print NR, m, q1, q3, a[1], a[NR] }'
}
p90() { sort -n | awk '{a[NR]=$1} END { if (NR == 0) print "nan"; else print a[int((NR-1)*0.9+0.5)+1] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.3f", a/b; else print "-" }'; }
usec() { local t=${1/./}; echo $((10#$t)); }   # $EPOCHREALTIME -> microseconds

# ------------------------------------------------------------------ 1. run --rm
# Variants, each timed for every tool in the same interleaved rounds: bare; a named volume
# (created once per engine before the rounds); a bind mount of a host directory; resource
# limits. Each should cost under 10% over the bare run.
VARIANTS=(bare volume bind limits bridge usernet)
declare -A VNET=([bare]=none [volume]=none [bind]=none [limits]=none [bridge]=bridge [usernet]="$TAG-net")
declare -A VARGS=(
  [bridge]=""
  [usernet]=""
  [bare]=""
  [volume]="-v $TAG-vol:/data"
  [bind]="-v $W/bind:/data"
  [limits]="--memory 64m --cpus 0.5 --pids-limit 100")
declare -A VLABEL=([bare]="(no options)" [volume]="-v NAMED:/data" [bind]="-v HOSTDIR:/data"
  [limits]="--memory 64m --cpus 0.5 --pids-limit 100"
  [bridge]="--network bridge (default bridge)" [usernet]="--network NET (user-defined)")
mkdir -p "$W/bind"
run_args() { # run_args VARIANT: the run command line
  # shellcheck disable=SC2206
  local extra=(${VARGS[$1]})
  RUNV=(run --rm --pull=never --network "${VNET[$1]}" "${extra[@]}" busybox true)
  CUR_V=$1
}
run_muelle()        { M "${RUNV[@]}"; }
run_docker_muelled(){ DOCKER_HOST="unix://$SOCK" "$DOCKER" "${RUNV[@]}"; }
run_docker28_muelled(){ DOCKER_HOST="unix://$SOCK" "$DOCKER28" "${RUNV[@]}"; }
run_docker()        { D "${RUNV[@]}"; }
run_podman()        { P "${RUNV[@]}"; }
# The physical baseline: crun running the same busybox rootfs from a prepared bundle with
# its own network namespace (bare, volume, bind, limits); for the networked variants crun
# joins a namespace made in the same timed step with one veth pair wired to a bridge (ip
# netns add + two `ip -batch` runs: the process starts of ip are in this baseline too).
CRUN_SEQ=0
run_crun() {
  local id=$TAG-c$((CRUN_SEQ += 1))
  case $CUR_V in
    bridge|usernet)
      ip netns add "$TAG-cn" || return 1
      printf 'link add %sx type veth peer name %sy netns %s\nlink set %sx master %sr up\n' \
        "$TAG" "$TAG" "$TAG-cn" "$TAG" "$TAG" | ip -batch - || { ip netns del "$TAG-cn"; return 1; }
      printf 'link set lo up\nlink set %sy up\naddr add 10.254.77.2/24 dev %sy\n' "$TAG" "$TAG" \
        | ip -n "$TAG-cn" -batch - || { ip netns del "$TAG-cn"; return 1; }
      "$CRUN" --root "$R/crun" run -b "$W/crun/join" "$id"; local rc=$?
      ip netns del "$TAG-cn"; return $rc ;;
    *) "$CRUN" --root "$R/crun" run -b "$W/crun/new" "$id" ;;
  esac
}
declare -A T=() BAD=() LABEL=(
  [muelle]="muelle -> muelled" [docker_muelled]="docker CLI -> muelled"
  [docker28_muelled]="docker 28 CLI -> muelled"
  [docker]="docker (dockerd 20.10)" [podman]="podman" [crun]="crun run (bundle)")
tools=(muelle docker_muelled)
[ -x "$DOCKER28" ] && tools+=(docker28_muelled)
[ -n "$CRUN" ] && tools+=(crun)
[ $HAVE_DOCKER = 1 ] && tools+=(docker)
[ $HAVE_PODMAN = 1 ] && tools+=(podman)
M volume create "$TAG-vol" >/dev/null || die "muelle volume create failed"
[ $HAVE_DOCKER = 1 ] && { D volume create "$TAG-vol" >/dev/null || die "docker volume create failed"; }
[ $HAVE_PODMAN = 1 ] && { P volume create "$TAG-vol" >/dev/null || die "podman volume create failed"; }
# The user-defined network of the usernet variant (and of the iperf3 section); an engine
# that cannot make one has its usernet runs fail, reported INVALID.
M network create "$TAG-net" >/dev/null 2>"$W/err.netcreate.muelle" || log "muelle network create failed: $(head -c 300 "$W/err.netcreate.muelle")"
[ $HAVE_DOCKER = 1 ] && { D network create "$TAG-net" >/dev/null || log "docker network create failed"; }
[ $HAVE_PODMAN = 1 ] && { P network create "$TAG-net" >/dev/null || log "podman network create failed"; }
note_load "run --rm"
log "run --rm: $WARMUP warm-up + $ROUNDS rounds of ${tools[*]} x ${VARIANTS[*]}"
n=${#tools[@]}
for ((r = -WARMUP; r < ROUNDS; r++)); do
  for v in "${VARIANTS[@]}"; do
    run_args "$v"
    for ((i = 0; i < n; i++)); do
      tool=${tools[$(((i + r + n * WARMUP) % n))]}
      t0=$EPOCHREALTIME
      if "run_$tool" >/dev/null 2>"$W/err.$tool.last"; then
        t1=$EPOCHREALTIME
        ((r < 0)) || T[$tool.$v]+="$(($(usec "$t1") - $(usec "$t0"))) "
      else
        rc=$?; BAD[$tool.$v]=1
        { echo "round $r, $v: exit $rc"; cat "$W/err.$tool.last"; } >>"$W/err.$tool"
        log "$tool run --rm ($v) failed (round $r, exit $rc): $(head -c 300 "$W/err.$tool.last")"
      fi
    done
  done
done
sleep 2; daemon_mem idle_after_runs

# The clients' own floor: each CLI printing its version (process start, config; no daemon),
# interleaved, so the share of a run that is the client's and not the engine's shows.
declare -A FLOOR=()
floor_clis=(muelle docker)
[ -x "$DOCKER28" ] && floor_clis+=(docker28)
for ((r = 0; r < ROUNDS; r++)); do
  for c in "${floor_clis[@]}"; do
    case $c in muelle) cmd=("$BIN/muelle" --version) ;; docker) cmd=("$DOCKER" --version) ;;
      docker28) cmd=("$DOCKER28" --version) ;; esac
    t0=$EPOCHREALTIME; "${cmd[@]}" >/dev/null 2>&1; t1=$EPOCHREALTIME
    FLOOR[$c]+="$(($(usec "$t1") - $(usec "$t0"))) "
  done
done

# ------------------------------------------------------------------ 1b. cold starts
# The first start after COLD_IDLE seconds without any: muelle and crun alternate, each after
# its own idle spell (caches, RCU-synchronised kernel paths and the daemon's pools go cold).
declare -A COLD=()
run_args bare
for ((r = 0; r < COLD_REPS; r++)); do
  for tool in muelle crun; do
    [ "$tool" = crun ] && [ -z "$CRUN" ] && continue
    sleep "$COLD_IDLE"
    t0=$EPOCHREALTIME
    if "run_$tool" >/dev/null 2>"$W/err.$tool.last"; then
      t1=$EPOCHREALTIME; COLD[$tool]+="$(($(usec "$t1") - $(usec "$t0"))) "
    else BAD[$tool.cold]=1; log "$tool cold run failed: $(head -c 300 "$W/err.$tool.last")"; fi
  done
done

# ------------------------------------------------------------------ 2. CONC_N concurrent run -d
# Supervisor of a container: muelle and docker: the parent of its init (muelle-shim,
# containerd-shim-runc-v2 -- the comm is cut at 15 characters); podman: State.ConmonPid.
sup_pids() { # sup_pids ENGINE ID...: "PID COMM" lines
  local e=$1; shift
  case $e in
    muelle|docker)
      local f=M; [ "$e" = docker ] && f=D
      $f inspect -f '{{.State.Pid}}' "$@" | while read -r p; do
        local pp; pp=$(awk '/^PPid:/{print $2}' "/proc/$p/status" 2>/dev/null) || continue
        echo "$pp $(cat "/proc/$pp/comm" 2>/dev/null)"
      done ;;
    podman)
      P inspect -f '{{.State.ConmonPid}}' "$@" | while read -r p; do echo "$p $(cat "/proc/$p/comm" 2>/dev/null)"; done ;;
  esac
}
declare -A SUP_NAME=([muelle]=muelle-shim [docker]=containerd-shim [podman]=conmon)
declare -A CT=() CRM=() CUP=() CFAIL=() SUP=()
conc_engines=(muelle)
[ $HAVE_DOCKER = 1 ] && conc_engines+=(docker)
[ $HAVE_PODMAN = 1 ] && conc_engines+=(podman)
conc_once() { # conc_once ENGINE REP
  local e=$1 rep=$2 f i t0 t1 fails=0 ids pids=() line pid comm
  case $e in muelle) f=M ;; docker) f=D ;; podman) f=P ;; esac
  t0=$EPOCHREALTIME
  for ((i = 1; i <= CONC_N; i++)); do
    $f run -d --pull=never --network none --name "$TAG-$e-$i" busybox sleep 300 \
      >/dev/null 2>"$W/conc.$e.$i.err" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || fails=$((fails + 1)); done
  t1=$EPOCHREALTIME
  CT[$e]+="$(($(usec "$t1") - $(usec "$t0"))) "
  ids=$($f ps -q --no-trunc --filter "name=$TAG-$e-")
  CUP[$e]+="$(echo "$ids" | grep -c . || true) "
  if [ $fails -gt 0 ]; then
    CFAIL[$e]=$((${CFAIL[$e]:-0} + fails))
    for ((i = 1; i <= CONC_N; i++)); do
      [ -s "$W/conc.$e.$i.err" ] && { echo "rep $rep, $TAG-$e-$i:"; cat "$W/conc.$e.$i.err"; } >>"$W/err.conc.$e"
    done
    log "$e: $fails of $CONC_N 'run -d' failed; first error: $(cat "$W"/conc."$e".*.err | grep . | head -1 | head -c 300)"
  fi
  log "$e: $CONC_N concurrent run -d: $(awk -v u="$(($(usec "$t1") - $(usec "$t0")))" 'BEGIN{printf "%.2f", u/1e6}') s, $(echo "$ids" | grep -c . || true) running"
  if [ "$rep" = 0 ] && [ -n "$ids" ]; then
    sleep 3   # let the supervisors settle (lazy allocations after start)
    # shellcheck disable=SC2086
    sup_pids "$e" $ids >"$W/sup.$e"
    : >"$W/supmem.$e"
    while read -r pid comm; do
      if [ "$comm" != "${SUP_NAME[$e]}" ]; then log "$e: supervisor pid $pid is '$comm', not ${SUP_NAME[$e]}: skipped"; continue; fi
      smaps "$pid" >>"$W/supmem.$e"
    done <"$W/sup.$e"
    [ "$e" = muelle ] && daemon_mem running
    if [ "$e" = docker ]; then
      local dp cp
      dp=$(pgrep -xo dockerd || true); cp=$(pgrep -xo containerd || true)
      [ -n "$dp" ] && MEM[dockerd_running]="$(vmrss "$dp") $(smaps "$dp" | cut -d' ' -f2-)"
      [ -n "$cp" ] && MEM[containerd_running]="$(vmrss "$cp") $(smaps "$cp" | cut -d' ' -f2-)"
    fi
  fi
  t0=$EPOCHREALTIME
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    case $e in podman) P rm -f -t 0 $ids >/dev/null 2>>"$W/err.rm.$e" ;; *) $f rm -f $ids >/dev/null 2>>"$W/err.rm.$e" ;; esac \
      || log "$e: rm -f failed: $(tail -1 "$W/err.rm.$e")"
  fi
  t1=$EPOCHREALTIME
  CRM[$e]+="$(($(usec "$t1") - $(usec "$t0"))) "
  # what rm -f left (and containers whose run -d failed half-way)
  ids=$($f ps -aq --filter "name=$TAG-$e-")
  # shellcheck disable=SC2086
  [ -z "$ids" ] || { log "$e: $(echo "$ids" | wc -l) containers left after rm -f; removing again"
    case $e in podman) P rm -f -t 0 $ids >/dev/null 2>&1 ;; *) $f rm -f $ids >/dev/null 2>&1 ;; esac || true; }
  rm -f "$W"/conc."$e".*.err
}
note_load "$CONC_N x run -d"
ne=${#conc_engines[@]}
for ((rep = 0; rep < CONC_REPS; rep++)); do
  for ((i = 0; i < ne; i++)); do conc_once "${conc_engines[$(((i + rep) % ne))]}" "$rep"; done
done

# ------------------------------------------------------------------ 4. TCP throughput (iperf3)
declare -A IP_C2C=() IP_H2P=() IBAD=()
iperf_engines=(muelle)
[ $HAVE_DOCKER = 1 ] && iperf_engines+=(docker)
build_iperf_image() { # a busybox rootfs with Debian's iperf3 and the libraries it links
  local rootfs=$W/iperf-rootfs lib
  "$TOP/scripts/busybox-rootfs.sh" "$rootfs" >/dev/null || return 1
  cp /usr/bin/iperf3 "$rootfs/usr/bin/iperf3"
  for lib in $(ldd /usr/bin/iperf3 | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
    mkdir -p "$rootfs$(dirname "$lib")"; cp -L "$lib" "$rootfs$lib"
  done
  tar -C "$rootfs" -cf "$W/iperf-rootfs.tar" .
}
gbps() { python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
iperf_run() { # iperf_run ENGINE KIND: one measurement (Gbit/s) into IP_KIND[ENGINE]
  local e=$1 k=$2 f out
  case $e in muelle) f=M ;; docker) f=D ;; esac
  if [ "$k" = c2c ]; then
    out=$($f run --rm --pull=never --network "$TAG-net" "$IPERF_IMG" iperf3 -c "${ISRV[$e]}" -t "$IPERF_SECS" -J 2>"$W/err.iperf.last")
  else
    out=$(iperf3 -c 127.0.0.1 -p "${IPORT[$e]}" -t "$IPERF_SECS" -J 2>"$W/err.iperf.last")
  fi
  local g; g=$(echo "$out" | gbps 2>/dev/null) || g=""
  if [ -z "$g" ]; then
    IBAD[$e.$k]=1
    { echo "$k:"; cat "$W/err.iperf.last"; echo "$out" | head -5; } >>"$W/err.iperf.$e"
    log "$e iperf3 $k failed: $(echo "$out" | grep -m1 error || head -c 200 "$W/err.iperf.last")"
    return
  fi
  if [ "$k" = c2c ]; then IP_C2C[$e]+="$g "; else IP_H2P[$e]+="$g "; fi
}
declare -A ISRV=() IPORT=()
if [ "$IPERF_REPS" -gt 0 ] && [ -x /usr/bin/iperf3 ] && build_iperf_image; then
  note_load "iperf3"
  for e in "${iperf_engines[@]}"; do
    case $e in muelle) f=M ;; docker) f=D ;; esac
    $f import -c 'CMD ["iperf3", "-s"]' "$W/iperf-rootfs.tar" "$IPERF_IMG" >/dev/null \
      || { log "$e: import of the iperf3 image failed"; IBAD[$e.c2c]=1; IBAD[$e.h2p]=1; continue; }
    IPORT[$e]=$(free_port)
    $f run -d --pull=never --network "$TAG-net" --name "$TAG-$e-ips" "$IPERF_IMG" iperf3 -s >/dev/null 2>>"$W/err.iperf.$e" \
      || { log "$e: the container-to-container iperf3 server did not start"; IBAD[$e.c2c]=1; }
    ISRV[$e]=$($f inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$TAG-$e-ips" 2>/dev/null || true)
    $f run -d --pull=never -p "127.0.0.1:${IPORT[$e]}:5201" --name "$TAG-$e-ipp" "$IPERF_IMG" iperf3 -s >/dev/null 2>>"$W/err.iperf.$e" \
      || { log "$e: the published iperf3 server did not start"; IBAD[$e.h2p]=1; }
  done
  sleep 1
  log "iperf3: $IPERF_REPS reps x ${iperf_engines[*]} x (container->container, host->published port), ${IPERF_SECS}s each"
  ni=${#iperf_engines[@]}
  for ((rep = 0; rep < IPERF_REPS; rep++)); do
    for k in c2c h2p; do
      for ((i = 0; i < ni; i++)); do
        e=${iperf_engines[$(((i + rep) % ni))]}
        [ -n "${IBAD[$e.$k]:-}" ] && continue
        iperf_run "$e" "$k"
      done
    done
  done
  rm -f "$W/err.iperf.last"
  rm_all
else
  log "iperf3 section left out (IPERF_REPS=$IPERF_REPS; /usr/bin/iperf3 from scripts/peers.sh install)"
fi
note_load "end"

# ------------------------------------------------------------------ report
ms() { awk -v u="$1" 'BEGIN{ if (u == "nan") print "nan"; else printf "%.1f", u/1000 }'; }
s2() { awk -v u="$1" 'BEGIN{ if (u == "nan") print "nan"; else printf "%.2f", u/1e6 }'; }
echo
echo "== engine benchmark: muelled $("$BIN/muelled" --version 2>/dev/null | awk '{print $NF}') ($BIN), $(date -u +%FT%TZ)"
echo "   $(nproc) CPUs; docker $([ $HAVE_DOCKER = 1 ] && D version -f '{{.Server.Version}}' 2>/dev/null || echo absent), $([ $HAVE_PODMAN = 1 ] && P --version || echo 'podman absent')"
for l in "${LOADS[@]}"; do echo "   load at $l"; done
echo
echo "== run --rm --pull=never --network none [OPTIONS] busybox true: $ROUNDS rounds interleaved, start rotated ($WARMUP warm-up rounds not counted)"
read -r _ base _ <<<"$(echo "${T[muelle.bare]:-}" | tr ' ' '\n' | grep . | stats)"
for v in "${VARIANTS[@]}"; do
  echo "-- ${VLABEL[$v]}"
  read -r _ vbase _ <<<"$(echo "${T[muelle.$v]:-}" | tr ' ' '\n' | grep . | stats)"
  read -r _ cmd _ <<<"$(echo "${T[crun.$v]:-}" | tr ' ' '\n' | grep . | stats)"
  printf '%-24s %3s %9s %8s %15s %15s %9s %9s %8s %8s\n' tool n "median ms" "p90 ms" "p25-p75 ms" "min-max ms" "muelle/x" "x/x bare" "x/crun" "p90/p50"
  for tool in "${tools[@]}"; do
    read -r n md q1 q3 lo hi <<<"$(echo "${T[$tool.$v]:-}" | tr ' ' '\n' | grep . | stats)"
    p9=$(echo "${T[$tool.$v]:-}" | tr ' ' '\n' | grep . | p90)
    read -r _ bmd _ <<<"$(echo "${T[$tool.bare]:-}" | tr ' ' '\n' | grep . | stats)"
    printf '%-24s %3s %9s %8s %15s %15s %9s %9s %8s %8s%s\n' "${LABEL[$tool]}" "$n" "$(ms "$md")" "$(ms "$p9")" "$(ms "$q1")-$(ms "$q3")" \
      "$(ms "$lo")-$(ms "$hi")" "$(ratio "$vbase" "$md")" "$(ratio "$md" "$bmd")" "$(ratio "$md" "$cmd")" "$(ratio "$p9" "$md")" "${BAD[$tool.$v]:+  INVALID (a run failed)}"
  done
done
if [ "$COLD_REPS" -gt 0 ]; then
  echo "-- cold: the first run after ${COLD_IDLE}s idle, $COLD_REPS each (ms, in order)"
  for tool in muelle crun; do [ -n "${COLD[$tool]:-}" ] && echo "  $tool: $(echo "${COLD[$tool]}" | awk '{for (i = 1; i <= NF; i++) printf "%.1f ", $i/1000}')"; done
fi
for tool in "${tools[@]}"; do echo "  runs $tool bare (ms, in order): $(echo "${T[$tool.bare]:-}" | awk '{for (i = 1; i <= NF; i++) printf "%.1f ", $i/1000}')"; done

echo
echo "== $CONC_N x 'run -d --pull=never --network none busybox sleep 300' started at once: $CONC_REPS reps, order rotated"
read -r _ cbase _ <<<"$(echo "${CT[muelle]:-}" | tr ' ' '\n' | grep . | stats)"
read -r _ rbase _ <<<"$(echo "${CRM[muelle]:-}" | tr ' ' '\n' | grep . | stats)"
printf '%-10s %12s %14s %9s %10s %14s %9s %s\n' engine "wall s (med)" "min-max s" muelle/x running "rm -f s (med)" muelle/x failed
for e in "${conc_engines[@]}"; do
  read -r _ md _ _ lo hi <<<"$(echo "${CT[$e]:-}" | tr ' ' '\n' | grep . | stats)"
  read -r _ rmd _ _ _ _ <<<"$(echo "${CRM[$e]:-}" | tr ' ' '\n' | grep . | stats)"
  printf '%-10s %12s %14s %9s %10s %14s %9s %s\n' "$e" "$(s2 "$md")" "$(s2 "$lo")-$(s2 "$hi")" "$(ratio "$cbase" "$md")" \
    "$(echo "${CUP[$e]:-}" | tr ' ' '/' | sed 's,/$,,')" "$(s2 "$rmd")" "$(ratio "$rbase" "$rmd")" \
    "${CFAIL[$e]:-0}${CFAIL[$e]:+  INVALID}"
done

echo
echo "== memory (KiB; per-container rows: median over the $CONC_N supervisors of the first rep, p25-p75 of private)"
printf '%-40s %4s %8s %8s %9s %15s %9s\n' what n RSS PSS private "private p25-p75" muelle/x
memrow() { read -r r p v <<<"${MEM[$2]:-- - -}"; printf '%-40s %4s %8s %8s %9s %15s %9s\n' "$1" 1 "$r" "$p" "$v" "" ""; }
memrow "muelled idle (image loaded)" idle_loaded
memrow "muelled idle after the run --rm rounds" idle_after_runs
memrow "muelled with $CONC_N running" running
declare -A PRIV=()
for e in muelle docker podman; do [ -s "$W/supmem.$e" ] && read -r _ PRIV[$e] _ <<<"$(cut -d' ' -f3 "$W/supmem.$e" | stats)"; done
for e in muelle docker podman; do
  [ -s "$W/supmem.$e" ] || continue
  read -r n rm_ _ <<<"$(cut -d' ' -f1 "$W/supmem.$e" | stats)"
  read -r _ pm _ <<<"$(cut -d' ' -f2 "$W/supmem.$e" | stats)"
  read -r _ vm q1 q3 _ _ <<<"$(cut -d' ' -f3 "$W/supmem.$e" | stats)"
  name=${SUP_NAME[$e]}; [ "$e" = docker ] && name=containerd-shim-runc-v2
  printf '%-40s %4s %8s %8s %9s %15s %9s\n' "$name (per container)" "$n" "$rm_" "$pm" "$vm" "$q1-$q3" "$(ratio "${PRIV[muelle]:-}" "$vm")"
done
if [ -n "${MEM[running]:-}" ]; then
  read -r r0 _ _ <<<"${MEM[idle_after_runs]}"; read -r r1 _ _ <<<"${MEM[running]}"
  echo "  muelled RSS growth per running container: $(awk -v a="$r0" -v b="$r1" -v n="$CONC_N" 'BEGIN{printf "%.0f", (b-a)/n}') KiB"
fi
[ -n "${MEM[dockerd_running]:-}" ] && echo "  context (shared daemons, with docker's $CONC_N running): dockerd RSS $(mib "${MEM[dockerd_running]%% *}") MiB, containerd RSS $(mib "${MEM[containerd_running]%% *}") MiB"

if [ -n "${IP_C2C[*]:-}${IP_H2P[*]:-}${IBAD[*]:-}" ]; then
  echo
  echo "== TCP throughput, iperf3 -t $IPERF_SECS: $IPERF_REPS reps interleaved, start rotated (Gbit/s)"
  printf '%-44s %-8s %3s %8s %15s %10s\n' path engine n median min-max muelle/x
  iperf_rows() { # iperf_rows LABEL KIND ARRAY
    local -n arr=$3
    local mbase n md lo hi e
    read -r _ mbase _ <<<"$(echo "${arr[muelle]:-}" | tr ' ' '\n' | grep . | stats)"
    for e in "${iperf_engines[@]}"; do
      read -r n md _ _ lo hi <<<"$(echo "${arr[$e]:-}" | tr ' ' '\n' | grep . | stats)"
      # Higher is better: muelle/x above 1 means muelle is faster.
      printf '%-44s %-8s %3s %8s %15s %10s%s\n' "$1" "$e" "$n" "$md" "$lo-$hi" "$(ratio "$mbase" "$md")" "${IBAD[$e.$2]:+  INVALID}"
    done
  }
  iperf_rows "container -> container (user network)" c2c IP_C2C
  iperf_rows "host 127.0.0.1 -> published 127.0.0.1 port" h2p IP_H2P
fi

echo
echo "== targets (issue #4)"
verdict() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || a == "nan" || b == "nan") print "n/a"; else if (a+0 <= b+0) print "PASS"; else print "FAIL" }'; }
if [ -n "${T[docker.bare]:-}" ]; then
  read -r _ dm _ <<<"$(echo "${T[docker.bare]}" | tr ' ' '\n' | grep . | stats)"
  lim=$(awk -v d="$dm" 'BEGIN{print d*0.1}')
  printf '  run --rm  <= 0.1 x docker median   %8s ms <= %8s ms  %s\n' "$(ms "$base")" "$(ms "$lim")" "$(verdict "$base" "$lim")"
fi
if [ -n "${T[podman.bare]:-}" ]; then
  read -r _ pm _ <<<"$(echo "${T[podman.bare]}" | tr ' ' '\n' | grep . | stats)"
  lim=$(awk -v d="$pm" 'BEGIN{print d*0.2}')
  printf '  run --rm  <= 0.2 x podman median   %8s ms <= %8s ms  %s\n' "$(ms "$base")" "$(ms "$lim")" "$(verdict "$base" "$lim")"
fi
read -r idle _ _ <<<"${MEM[idle_loaded]}"
printf '  muelled idle RSS < 20 MiB          %8s MiB < %7s MiB  %s\n' "$(mib "$idle")" 20 "$(verdict "$idle" 20479)"
for v in volume bind limits; do
  read -r _ vm _ <<<"$(echo "${T[muelle.$v]:-}" | tr ' ' '\n' | grep . | stats)"
  lim=$(awk -v b="$base" 'BEGIN{print b*1.1}')
  printf '  run --rm %-7s <= 1.1 x bare     %8s ms <= %8s ms  %s\n' "$v" "$(ms "$vm")" "$(ms "$lim")" "$(verdict "$vm" "$lim")"
done
[ -n "${PRIV[muelle]:-}" ] && printf '  per-container private < 1 MiB      %8s KiB < %7s KiB  %s\n' "${PRIV[muelle]}" 1024 "$(verdict "${PRIV[muelle]}" 1023)"
for v in bridge usernet; do   # issue #12: networking adds under 3 ms to run
  read -r _ vm _ <<<"$(echo "${T[muelle.$v]:-}" | tr ' ' '\n' | grep . | stats)"
  add=$(awk -v a="$vm" -v b="$base" 'BEGIN{ if (a == "nan" || b == "nan" || a == "") print "nan"; else print a-b }')
  printf '  run --rm %-7s adds < 3 ms        %8s ms <  %8s ms  %s\n' "$v" "$(ms "$add")" 3.0 "$(verdict "$add" 2999)"
done
if [ -n "${IP_H2P[muelle]:-}" ] && [ -n "${IP_H2P[docker]:-}" ]; then
  read -r _ mh _ <<<"$(echo "${IP_H2P[muelle]}" | tr ' ' '\n' | grep . | stats)"
  read -r _ dh _ <<<"$(echo "${IP_H2P[docker]}" | tr ' ' '\n' | grep . | stats)"
  printf '  published-port Gbit/s >= docker    %8s    >= %8s     %s\n' "$mh" "$dh" "$(verdict "$dh" "$mh")"
fi
if [ -n "${T[crun.bare]:-}" ]; then
  echo "== targets (issue #14: against crun in the same run)"
  read -r _ cb _ <<<"$(echo "${T[crun.bare]}" | tr ' ' '\n' | grep . | stats)"
  lim=$(awk -v c="$cb" 'BEGIN{print c*1.5}')
  printf '  run --rm none <= 1.5 x crun        %8s ms <= %8s ms  %s\n' "$(ms "$base")" "$(ms "$lim")" "$(verdict "$base" "$lim")"
  read -r _ dmu _ <<<"$(echo "${T[docker_muelled.bare]:-}" | tr ' ' '\n' | grep . | stats)"
  lim=$(awk -v c="$cb" 'BEGIN{print c*2}')
  printf '  docker CLI -> muelled <= 2 x crun  %8s ms <= %8s ms  %s\n' "$(ms "$dmu")" "$(ms "$lim")" "$(verdict "$dmu" "$lim")"
  if [ -n "${T[docker28_muelled.bare]:-}" ]; then
    read -r _ d28 _ <<<"$(echo "${T[docker28_muelled.bare]}" | tr ' ' '\n' | grep . | stats)"
    printf '  docker 28 CLI -> muelled <= 2 x crun %6s ms <= %8s ms  %s\n' "$(ms "$d28")" "$(ms "$lim")" "$(verdict "$d28" "$lim")"
  fi
  for c in "${floor_clis[@]}"; do
    read -r _ fl _ <<<"$(echo "${FLOOR[$c]:-}" | tr ' ' '\n' | grep . | stats)"
    printf '  (CLI floor: %-8s --version  %8s ms, in the same run)\n' "$c" "$(ms "$fl")"
  done
  read -r _ bb _ <<<"$(echo "${T[muelle.bridge]:-}" | tr ' ' '\n' | grep . | stats)"
  read -r _ cv _ <<<"$(echo "${T[crun.bridge]:-}" | tr ' ' '\n' | grep . | stats)"
  lim=$(awk -v c="$cv" 'BEGIN{print c*1.5}')
  printf '  run --rm bridge <= 1.5 x crun+veth %8s ms <= %8s ms  %s\n' "$(ms "$bb")" "$(ms "$lim")" "$(verdict "$bb" "$lim")"
  p9=$(echo "${T[muelle.bare]}" | tr ' ' '\n' | grep . | p90)
  lim=$(awk -v c="$base" 'BEGIN{print c*1.3}')
  printf '  run --rm p90 <= 1.3 x its median   %8s ms <= %8s ms  %s\n' "$(ms "$p9")" "$(ms "$lim")" "$(verdict "$p9" "$lim")"
fi
if [ -n "${CT[docker]:-}" ]; then
  read -r _ dct _ <<<"$(echo "${CT[docker]}" | tr ' ' '\n' | grep . | stats)"
  lim=$(awk -v c="$dct" 'BEGIN{print c*0.05}')
  printf '  %s x run -d <= 0.05 x docker      %8s s  <= %8s s   %s\n' "$CONC_N" "$(s2 "$cbase")" "$(s2 "$lim")" "$(verdict "$cbase" "$lim")"
fi

# ------------------------------------------------------------------ problems
problems=0
for f in "$W"/err.*; do
  [ -s "$f" ] || continue
  case $f in *.last) continue ;; esac
  problems=1
  echo; echo "== errors: ${f##*/err.} (first 20 lines)"; head -20 "$f"
done
if [ $problems = 1 ] || [ ${#BAD[@]} -gt 0 ] || [ ${#CFAIL[@]} -gt 0 ]; then
  echo; echo "== muelled log (last 30 lines)"; tail -30 "$W/muelled.log"
  exit 1
fi
