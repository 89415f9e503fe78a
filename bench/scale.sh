#!/usr/bin/env bash
# bench/scale.sh: the engine at scale (issue #14). Each engine is measured twice, EMPTY
# (busybox and one exited probe container) and FULL (the same plus N_RUN running
# `sleep` containers, N_EXIT exited ones and N_IMG more images), with the three engines
# interleaved round by round (start rotated) in each phase and medians taken:
#
#   ps -a                  `ps -a` (the CLI prints every container)
#   inspect                `inspect PROBE` by name (one container among all)
#   images                 `images`
#   run --rm               `run --rm --pull=never --network none busybox true`
#   restart                the daemon stopped (SIGTERM, until its process is gone), started
#                          again, until `_ping` answers and `ps -aq` lists every container
#                          (RESTART_ROUNDS rounds; podman has no daemon: not measured)
#
# Engines, all private to this run, so that nothing shared is counted or restarted:
#  - muelled with its own data root, exec root and socket (as bench/engine.sh starts it);
#  - dockerd 20.10 with its own --data-root, --exec-root, -H, --pidfile, `--live-restore`
#    (containers survive the restart, as muelle's do), `--bridge none --iptables=false`
#    (the shared dockerd's docker0 and rules stay untouched), and its own containerd
#    (own root, state, socket; the CRI plugin off) started here;
#  - podman with its own --root, --runroot and --tmpdir.
# Containers: N_RUN `run -d --network none NAME busybox sleep 1000000` (BRIDGE_N of them on
# the default bridge instead, for muelle and podman; the private dockerd has no bridge), and
# N_EXIT `run -d --network none busybox true` that exited. Images: busybox:latest imported
# from scripts/busybox-rootfs.sh (the same files in all three), and N_IMG tiny distinct
# images `import`ed from a one-file tar each. Nothing is pulled.
#
# Figures: wall time of the CLI process (bash $EPOCHREALTIME), median and p90; FULL/EMPTY
# per operation and engine (target <= 1.2 for muelle), muelle/docker and muelle/podman in
# each phase. For muelle and dockerd (+ its containerd) also the daemons' CPU time per
# operation (utime+stime from /proc/PID/stat, before and after), which the load of the
# machine disturbs less than wall times.
# Memory: muelled VmRSS fresh (after the first `_ping`, nothing loaded), with the images and
# the probe (EMPTY), FULL, and after the workload (everything of FULL removed, 3 s idle).
# Per running container: the daemon's share ((RSS FULL - RSS EMPTY) / N_RUN; for docker
# dockerd + containerd) plus the supervisor's Pss (smaps_rollup; median over every
# supervisor: muelle-shim, containerd-shim-runc-v2, conmon). Targets: <= 0.3 MiB per running
# container for muelle; muelled fresh <= 10 MiB, after the workload <= 1.5 x fresh.
#
# A benchmark, not a test: it asserts nothing; a failed setup or a failed timed run makes
# the result INVALID and the exit status 1. The load of the machine is printed per phase.
# Leaves nothing behind: containers, images, the private daemons (muelled, dockerd,
# containerd), their shims, mounts and directories go on exit, also after a failure or ^C.
#
# Environment: ROUNDS (timed rounds per phase, default 15), RESTART_ROUNDS (5), N_RUN (500),
# N_EXIT (500), N_IMG (100), BRIDGE_N (50), PAR (fill parallelism, 8), ENGINES ("muelle
# docker podman"), MUELLE_BIN_DIR (default: scripts/build.sh's release build, built here).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
export LC_ALL=C.UTF-8
ROUNDS=${ROUNDS:-15}
RESTART_ROUNDS=${RESTART_ROUNDS:-5}
N_RUN=${N_RUN:-500}
N_EXIT=${N_EXIT:-500}
N_IMG=${N_IMG:-100}
BRIDGE_N=${BRIDGE_N:-50}
PAR=${PAR:-8}
read -r -a ENGINES <<<"${ENGINES:-muelle docker podman}"
TAG=mscale$$
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
has() { [[ " ${ENGINES[*]} " == *" $1 "* ]]; }
unset DOCKER_HOST CONTAINER_HOST

if [ -n "${MUELLE_BIN_DIR:-}" ]; then BIN=$MUELLE_BIN_DIR; else
  log "scripts/build.sh (release build)"; BIN=$("$TOP/scripts/build.sh") || die "build failed"; fi
BIN=$(cd "$BIN" && pwd)
for b in muelle muelled muelle-shim muelle-runtime; do [ -x "$BIN/$b" ] || die "$BIN has no $b"; done

# ------------------------------------------------------------------ private roots + cleanup
W=$(mktemp -d /var/tmp/muelle-scale.XXXXXX)   # data roots, logs, tars
R=$(mktemp -d /run/mscale.XXXXXX)             # exec roots and sockets (short paths)
mkdir -p "$R/m" "$R/d" "$R/c" "$R/p" "$W/m" "$W/d" "$W/c" "$W/p" "$W/ptmp"
MSOCK=$R/m/muelled.sock DSOCK=$R/d/docker.sock CSOCK=$R/c/containerd.sock
MD_PID="" DD_PID="" CD_PID=""
M() { "$BIN/muelle" -H "unix://$MSOCK" "$@"; }
D() { /usr/bin/docker -H "unix://$DSOCK" "$@"; }
P() { /usr/bin/podman --root "$W/p" --runroot "$R/p" --tmpdir "$W/ptmp" --cgroup-manager cgroupfs "$@"; }
declare -A UP=()   # engines whose daemon/store was set up (cleanup needs to know)

stop_pid() { # stop_pid PID: TERM, wait up to 30 s, KILL
  local p=$1; [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null || return 0
  for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
}
cleanup() {
  local p m ids
  set +e
  trap - INT TERM
  log "cleanup"
  if [ -n "${UP[muelle]:-}" ] && [ -n "$MD_PID" ] && kill -0 "$MD_PID" 2>/dev/null; then
    ids=$(M ps -aq 2>/dev/null); [ -z "$ids" ] || M rm -f $ids >/dev/null 2>&1
  fi
  if [ -n "${UP[docker]:-}" ] && [ -n "$DD_PID" ] && kill -0 "$DD_PID" 2>/dev/null; then
    ids=$(D ps -aq 2>/dev/null); [ -z "$ids" ] || D rm -f $ids >/dev/null 2>&1
  fi
  if [ -n "${UP[podman]:-}" ]; then
    P rm -af -t 0 >/dev/null 2>&1; P rmi -af >/dev/null 2>&1
  fi
  stop_pid "$MD_PID"; stop_pid "$DD_PID"; stop_pid "$CD_PID"
  # supervisors of our engines that outlived them: found by our roots in their command line
  for p in /proc/[0-9]*; do
    case "$(cat "$p/comm" 2>/dev/null)" in muelle-shim|containerd-shim*|conmon) ;; *) continue ;; esac
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qE -- "$R/|$W/" || continue
    log "cleanup: killing leftover $(cat "$p/comm") ${p#/proc/}"; kill -KILL "${p#/proc/}" 2>/dev/null
  done
  sleep 0.5
  for m in $(awk -v w="$W" -v r="$R" 'index($2, w) == 1 || index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  rm -rf "$W" "$R"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ helpers
cpu_busy_pct() {
  local a b c d e f g h t1 i1 t2 i2
  read -r _ a b c d e f g h _ </proc/stat; t1=$((a+b+c+d+e+f+g+h)); i1=$((d+e))
  sleep 1
  read -r _ a b c d e f g h _ </proc/stat; t2=$((a+b+c+d+e+f+g+h)); i2=$((d+e))
  echo $(( 100 * ((t2-t1) - (i2-i1)) / (t2-t1 > 0 ? t2-t1 : 1) ))
}
declare -a LOADS=()
note_load() { LOADS+=("$(printf '%-16s CPU %3s%% busy;%s' "$1:" "$(cpu_busy_pct)" "$(uptime | sed 's/.*,  *load/ load/')")"); log "${LOADS[-1]}"; }
usec() { local t=${1/./}; echo $((10#$t)); }
# cputicks PID...: utime+stime of the processes, in clock ticks
cputicks() { local s=0 p; for p in "$@"; do [ -n "$p" ] && [ -r "/proc/$p/stat" ] || continue
  s=$((s + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat"))); done; echo $s; }
TICK_MS=$(awk -v h="$(getconf CLK_TCK)" 'BEGIN{print 1000/h}')
vmrss() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
pss() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
stats() { # numbers in -> "n median p90 min max"
  sort -n | awk '{a[NR]=$1} END {
    if (NR == 0) { print 0, "nan", "nan", "nan", "nan"; exit }
    m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
    p = a[int(0.9*NR + 0.999999) > NR ? NR : int(0.9*NR + 0.999999)]
    print NR, m, p, a[1], a[NR] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.2f", a/b; else print "-" }'; }
ms() { awk -v u="$1" 'BEGIN{ if (u == "nan" || u == "") print "-"; else printf "%.1f", u/1000 }'; }
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
wait_until() { # wait_until SECONDS CMD...: polls every 10 ms
  local end=$(( $(usec "$EPOCHREALTIME") + $1 * 1000000 )); shift
  until "$@" >/dev/null 2>&1; do [ "$(usec "$EPOCHREALTIME")" -lt $end ] || return 1; sleep 0.01; done
}
ping_sock() { curl -sf --max-time 1 --unix-socket "$1" http://x/_ping >/dev/null; }

# ------------------------------------------------------------------ daemons
start_muelled() {
  "$BIN/muelled" -H "unix://$MSOCK" --data-root "$W/m" --exec-root "$R/m" >>"$W/muelled.log" 2>&1 &
  MD_PID=$!
}
start_containerd() {
  cat >"$W/c/config.toml" <<EOF
version = 2
root = "$W/c/root"
state = "$R/c/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CSOCK"
[ttrpc]
  address = "$CSOCK.ttrpc"
[debug]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$W/c/opt"
EOF
  containerd --config "$W/c/config.toml" >>"$W/containerd.log" 2>&1 &
  CD_PID=$!
  wait_until 20 test -S "$CSOCK"
}
start_dockerd() {
  dockerd --data-root "$W/d" --exec-root "$R/d" --pidfile "$R/d/docker.pid" -H "unix://$DSOCK" \
    --containerd "$CSOCK" --live-restore --bridge none --iptables=false --ip-masq=false \
    --ip-forward=false --userland-proxy=false --log-level warn >>"$W/dockerd.log" 2>&1 &
  DD_PID=$!
}
daemon_pids() { case $1 in muelle) echo "$MD_PID" ;; docker) echo "$DD_PID $CD_PID" ;; *) echo "" ;; esac; }

log "busybox rootfs and the $N_IMG small images' tars"
"$TOP/scripts/busybox-rootfs.sh" "$W/rootfs" >/dev/null || die "scripts/busybox-rootfs.sh failed"
tar -C "$W/rootfs" -cf "$W/busybox.tar" .
mkdir -p "$W/imgs"
for ((i = 1; i <= N_IMG; i++)); do
  mkdir -p "$W/imgs/$i"; echo "image $i of $TAG" >"$W/imgs/$i/n"; tar -C "$W/imgs/$i" -cf "$W/imgs/$i.tar" n
done

declare -A FRESH=()
if has muelle; then
  start_muelled; UP[muelle]=1
  wait_until 20 ping_sock "$MSOCK" || die "muelled did not start: $(tail -3 "$W/muelled.log")"
  sleep 1; FRESH[muelle]=$(vmrss "$MD_PID")
fi
if has docker; then
  command -v dockerd >/dev/null && command -v containerd >/dev/null || die "dockerd/containerd missing (ENGINES without docker to leave it out)"
  start_containerd || die "containerd did not start: $(tail -3 "$W/containerd.log")"
  start_dockerd; UP[docker]=1
  wait_until 60 ping_sock "$DSOCK" || die "the private dockerd did not start: $(tail -3 "$W/dockerd.log")"
fi
has podman && UP[podman]=1
for e in "${ENGINES[@]}"; do
  case $e in muelle) f=M ;; docker) f=D ;; podman) f=P ;; *) die "unknown engine $e" ;; esac
  $f import -c 'CMD ["/bin/sh"]' "$W/busybox.tar" busybox:latest >/dev/null 2>"$W/err.import" \
    || die "$e: import of busybox failed: $(head -c 300 "$W/err.import")"
  $f run --pull=never --network none --name "$TAG-probe" busybox true >/dev/null 2>"$W/err.probe" \
    || die "$e: the probe container failed: $(head -c 300 "$W/err.probe")"
done

# ------------------------------------------------------------------ timed operations
op_ps()      { "$1" ps -a; }
op_inspect() { "$1" inspect "$TAG-probe"; }
op_images()  { "$1" images; }
op_run()     { "$1" run --rm --pull=never --network none busybox true; }
OPS=(ps inspect images run)
declare -A OPLABEL=([ps]="ps -a" [inspect]="inspect NAME" [images]="images" [run]="run --rm none" [restart]="daemon restart")
declare -A T=() CPU=() BAD=()
fn_of() { case $1 in muelle) echo M ;; docker) echo D ;; podman) echo P ;; esac; }

timed_rounds() { # timed_rounds PHASE
  local phase=$1 r i o e n=${#ENGINES[@]} f t0 t1 c0 c1 pids
  for ((r = -1; r < ROUNDS; r++)); do       # round -1: warm-up, not counted
    for o in "${OPS[@]}"; do
      for ((i = 0; i < n; i++)); do
        e=${ENGINES[$(((i + r + n) % n))]}; f=$(fn_of "$e"); pids=$(daemon_pids "$e")
        # shellcheck disable=SC2086
        c0=$(cputicks $pids); t0=$EPOCHREALTIME
        if "op_$o" "$f" >/dev/null 2>"$W/err.last"; then
          t1=$EPOCHREALTIME
          # shellcheck disable=SC2086
          c1=$(cputicks $pids)
          if ((r >= 0)); then
            T[$phase.$e.$o]+="$(($(usec "$t1") - $(usec "$t0"))) "
            CPU[$phase.$e.$o]+="$((c1 - c0)) "
          fi
        else
          BAD[$phase.$e.$o]=1
          { echo "$phase round $r $o:"; cat "$W/err.last"; } >>"$W/err.$e"
          log "$e $o failed ($phase, round $r): $(head -c 200 "$W/err.last")"
        fi
      done
    done
  done
}

count_is() { [ "$("$1" ps -aq | grep -c .)" -ge "$2" ]; }
restart_once() { # restart_once ENGINE PHASE EXPECTED
  local e=$1 phase=$2 want=$3 t0 t1
  t0=$EPOCHREALTIME
  case $e in
    muelle)
      stop_pid "$MD_PID"; start_muelled
      wait_until 120 ping_sock "$MSOCK" && wait_until 120 count_is M "$want" || { BAD[$phase.$e.restart]=1; return; } ;;
    docker)
      stop_pid "$DD_PID"; start_dockerd
      wait_until 120 ping_sock "$DSOCK" && wait_until 120 count_is D "$want" || { BAD[$phase.$e.restart]=1; return; } ;;
  esac
  t1=$EPOCHREALTIME
  T[$phase.$e.restart]+="$(($(usec "$t1") - $(usec "$t0"))) "
}
restart_rounds() { # restart_rounds PHASE EXPECTED
  local r e
  for ((r = 0; r < RESTART_ROUNDS; r++)); do
    for e in "${ENGINES[@]}"; do
      case $e in muelle|docker) restart_once "$e" "$1" "$2"; sleep 1 ;; esac
    done
  done
}

# ------------------------------------------------------------------ memory
declare -A MEM=()
sup_pss() { # sup_pss ENGINE: Pss (KiB) of each running container's supervisor, one a line
  local e=$1 f; f=$(fn_of "$e"); cli "$e"
  case $e in
    muelle|docker)
      $f ps -q --no-trunc | xargs -r "${CLI[@]}" inspect -f '{{.State.Pid}}' | while read -r p; do
        pss "$(awk '/^PPid:/{print $2}' "/proc/$p/status" 2>/dev/null)"
      done ;;
    podman) P ps -q | xargs -r "${CLI[@]}" inspect -f '{{.State.ConmonPid}}' \
      | while read -r p; do pss "$p"; done ;;
  esac
}
daemon_rss() { local s=0 p; for p in $(daemon_pids "$1"); do s=$((s + $(vmrss "$p"))); done; echo $s; }

# ------------------------------------------------------------------ EMPTY phase
note_load "empty"
log "EMPTY: $ROUNDS rounds of ${ENGINES[*]} x ${OPS[*]}"
timed_rounds empty
for e in muelle docker; do has $e && MEM[$e.empty]=$(daemon_rss "$e"); done
log "EMPTY: $RESTART_ROUNDS restarts"
restart_rounds empty 1

# ------------------------------------------------------------------ fill
cli() { # cli ENGINE: the engine's CLI command line into CLI (for xargs)
  case $1 in
    muelle) CLI=("$BIN/muelle" -H "unix://$MSOCK") ;;
    docker) CLI=(/usr/bin/docker -H "unix://$DSOCK") ;;
    podman) CLI=(/usr/bin/podman --root "$W/p" --runroot "$R/p" --tmpdir "$W/ptmp" --cgroup-manager cgroupfs) ;;
  esac
}
fill() { # fill ENGINE
  local e=$1 f i net nr na ni bridge=$BRIDGE_N; f=$(fn_of "$e"); cli "$e"
  [ "$e" = docker ] && bridge=0
  log "$e: $N_IMG images, $N_RUN running ($bridge on the default bridge), $N_EXIT exited"
  seq 1 "$N_IMG" | xargs -P "$PAR" -I{} "${CLI[@]}" import "$W/imgs/{}.tar" "$TAG/img:{}" >/dev/null 2>>"$W/err.fill.$e" || true
  for ((i = 1; i <= N_RUN; i++)); do
    net=none; [ "$i" -le "$bridge" ] && net=bridge
    echo "run -d --pull=never --network $net --name $TAG-r-$i busybox sleep 1000000"
  done | xargs -P "$PAR" -L1 "${CLI[@]}" >/dev/null 2>>"$W/err.fill.$e" || true
  for ((i = 1; i <= N_EXIT; i++)); do
    echo "run -d --pull=never --network none --name $TAG-x-$i busybox true"
  done | xargs -P "$PAR" -L1 "${CLI[@]}" >/dev/null 2>>"$W/err.fill.$e" || true
  sleep 3
  nr=$($f ps -q | grep -c . || true); na=$($f ps -aq | grep -c . || true); ni=$($f images -q | sort -u | grep -c . || true)
  log "$e: $nr running, $na containers, $ni images"
  FILLED[$e]="$nr $na $ni"
  [ "$nr" -ge "$N_RUN" ] && [ "$na" -ge $((N_RUN + N_EXIT + 1)) ] && [ "$ni" -ge $((N_IMG + 1)) ] \
    || { BAD[fill.$e]=1; log "$e: fill incomplete: $(grep . "$W/err.fill.$e" 2>/dev/null | head -1 | head -c 300)"; }
}
declare -A FILLED=()
note_load "fill"
for e in "${ENGINES[@]}"; do fill "$e"; done

# ------------------------------------------------------------------ FULL phase
sleep 5
for e in muelle docker; do has $e && MEM[$e.full]=$(daemon_rss "$e"); done
for e in "${ENGINES[@]}"; do sup_pss "$e" >"$W/sup.$e"; done
note_load "full"
log "FULL: $ROUNDS rounds of ${ENGINES[*]} x ${OPS[*]}"
timed_rounds full
log "FULL: $RESTART_ROUNDS restarts"
restart_rounds full $((N_RUN + N_EXIT + 1))

# ------------------------------------------------------------------ after the workload
log "removing what FULL added"
for e in "${ENGINES[@]}"; do
  f=$(fn_of "$e"); cli "$e"
  rmf=(rm -f); [ "$e" = podman ] && rmf=(rm -f -t 0)   # podman's rm -f waits the stop timeout
  $f ps -aq --filter "name=$TAG-[rx]-" | xargs -r -n 100 "${CLI[@]}" "${rmf[@]}" >/dev/null 2>&1 || true
done
if has muelle; then sleep 3; MEM[muelle.after]=$(vmrss "$MD_PID"); fi

# ------------------------------------------------------------------ report
echo
echo "== scale benchmark: muelled $("$BIN/muelled" --version 2>/dev/null | awk '{print $NF}') ($BIN), $(date -u +%FT%TZ)"
echo "   $(nproc) CPUs; private dockerd $(dockerd --version 2>/dev/null | awk '{print $3}' | tr -d ,), $(podman --version 2>/dev/null)"
echo "   EMPTY: busybox + 1 exited container; FULL: + $N_RUN running ($BRIDGE_N on the default bridge for muelle and podman), $N_EXIT exited, $N_IMG images"
for e in "${ENGINES[@]}"; do echo "   $e FULL as listed: ${FILLED[$e]:-?} (running, all, images)"; done
for l in "${LOADS[@]}"; do echo "   load at $l"; done
echo
# mean_ms "TICKS...": the mean in ms (one tick is 10 ms: a median of ticks would say 0)
mean_ms() { echo "$1" | tr ' ' '\n' | grep . | awk -v t="$TICK_MS" '{s+=$1; n++} END{ if (n) printf "%.1f", s*t/n; else print "-" }'; }
echo "== wall ms (median, p90); daemon CPU ms per op (mean over the rounds; muelled, dockerd+containerd); $ROUNDS rounds per phase, engines interleaved"
printf '%-16s %-7s %16s %16s %9s %9s %9s %10s %10s\n' op engine "EMPTY med/p90" "FULL med/p90" full/empty "cpu empty" "cpu full" "muelle/x E" "muelle/x F"
for o in "${OPS[@]}" restart; do
  for e in "${ENGINES[@]}"; do
    [ "$o" = restart ] && [ "$e" = podman ] && { printf '%-16s %-7s %s\n' "${OPLABEL[$o]}" "$e" "no daemon: not measured"; continue; }
    read -r _ em ep _ <<<"$(echo "${T[empty.$e.$o]:-}" | tr ' ' '\n' | grep . | stats)"
    read -r _ fm fp _ <<<"$(echo "${T[full.$e.$o]:-}" | tr ' ' '\n' | grep . | stats)"
    read -r _ mem_ _ <<<"$(echo "${T[empty.muelle.$o]:-}" | tr ' ' '\n' | grep . | stats)"
    read -r _ mfm _ <<<"$(echo "${T[full.muelle.$o]:-}" | tr ' ' '\n' | grep . | stats)"
    ce=- cf=-
    if [ "$o" != restart ] && [ "$e" != podman ]; then
      ce=$(mean_ms "${CPU[empty.$e.$o]:-}"); cf=$(mean_ms "${CPU[full.$e.$o]:-}")
    fi
    bad=""; [ -n "${BAD[empty.$e.$o]:-}${BAD[full.$e.$o]:-}" ] && bad="  INVALID (a run failed)"
    printf '%-16s %-7s %16s %16s %9s %9s %9s %10s %10s%s\n' "${OPLABEL[$o]}" "$e" "$(ms "$em")/$(ms "$ep")" "$(ms "$fm")/$(ms "$fp")" \
      "$(ratio "$fm" "$em")" "$ce" "$cf" "$(ratio "$mem_" "$em")" "$(ratio "$mfm" "$fm")" "$bad"
  done
done
echo
echo "== memory (KiB)"
if has muelle; then
  printf '  muelled RSS fresh %s, EMPTY %s, FULL %s, after the workload %s\n' "${FRESH[muelle]:-?}" "${MEM[muelle.empty]:-?}" "${MEM[muelle.full]:-?}" "${MEM[muelle.after]:-?}"
fi
has docker && printf '  dockerd+containerd RSS EMPTY %s, FULL %s\n' "${MEM[docker.empty]:-?}" "${MEM[docker.full]:-?}"
declare -A PERC=()
for e in "${ENGINES[@]}"; do
  read -r n sm _ <<<"$(grep . "$W/sup.$e" 2>/dev/null | stats)"
  share=0
  [ -n "${MEM[$e.full]:-}" ] && share=$(awk -v a="${MEM[$e.empty]}" -v b="${MEM[$e.full]}" -v n="$N_RUN" 'BEGIN{printf "%.0f", (b-a)/n}')
  PERC[$e]=$(awk -v s="$share" -v p="$sm" 'BEGIN{printf "%.0f", s + p}')
  printf '  %-7s per running container: daemon share %5s + supervisor Pss %5s (median of %s) = %5s KiB (%s MiB)\n' \
    "$e" "$share" "$sm" "$n" "${PERC[$e]}" "$(mib "${PERC[$e]}")"
done
echo
echo "== targets (muelle)"
verdict() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || a == "-" || a == "nan") print "n/a"; else if (a+0 <= b+0) print "PASS"; else print "FAIL" }'; }
if has muelle; then
  for o in "${OPS[@]}" restart; do
    read -r _ em _ <<<"$(echo "${T[empty.muelle.$o]:-}" | tr ' ' '\n' | grep . | stats)"
    read -r _ fm _ <<<"$(echo "${T[full.muelle.$o]:-}" | tr ' ' '\n' | grep . | stats)"
    x=$(ratio "$fm" "$em"); printf '  %-16s FULL/EMPTY %5s <= 1.2   %s\n' "${OPLABEL[$o]}" "$x" "$(verdict "$x" 1.2)"
  done
  printf '  per running container %5s KiB <= 307 KiB   %s\n' "${PERC[muelle]}" "$(verdict "${PERC[muelle]}" 307)"
  printf '  muelled fresh RSS   %6s KiB <= 10240    %s\n' "${FRESH[muelle]:-}" "$(verdict "${FRESH[muelle]:-}" 10240)"
  lim=$(( ${FRESH[muelle]:-0} * 3 / 2 ))
  printf '  muelled after work  %6s KiB <= %s (1.5 x fresh)  %s\n' "${MEM[muelle.after]:-}" "$lim" "$(verdict "${MEM[muelle.after]:-}" "$lim")"
fi
problems=0
for f in "$W"/err.*; do
  [ -s "$f" ] || continue
  # the fill's stderr holds podman's import progress: the counts after it decide (BAD[fill.*])
  case $f in *.last|*.import|*.probe|*.fill.*) continue ;; esac
  problems=1; echo; echo "== errors: ${f##*/err.} (first 10 lines)"; head -10 "$f"
done
if [ $problems = 1 ] || [ ${#BAD[@]} -gt 0 ]; then
  echo; echo "INVALID: ${!BAD[*]}"; exit 1
fi
