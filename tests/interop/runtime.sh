#!/usr/bin/env bash
# tests/interop/runtime.sh: muelle-runtime driven by the real, stock clients.
#
# docker (Debian's docker.io, runtime "muelle" registered by scripts/peers.sh), podman
# (--runtime <abs path>) and a parity check against runc and crun on one OCI bundle.
# Prints one TAP-like line per case ("ok - NAME" / "not ok - NAME: why" / "ok - NAME # skip why")
# and closes with the line "N passed, N failed, N skipped"; a skipped case is never counted as
# passed. Exits 1 if any case failed, or, with CI set, if any case was skipped (CI machines
# have every peer), except the cgroup v1 cases on a cgroup v2 host, which cannot have v1.
#
# Environment: MUELLE_RUNTIME_BIN (default: the static release build of scripts/build.sh,
# built here when the variable is not set), MUELLE_TEST_PEERS=skip (do not run
# scripts/peers.sh up; ignored with CI), CASE_TIMEOUT
# (seconds for one client command, default 60), ONLY (a regex: run only the cases it matches).
# Everything it creates is named muelle-it-<pid>-* and removed on exit, also on failure.
# Needs root (docker, podman, runc).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
export LC_ALL=C.UTF-8
T=${CASE_TIMEOUT:-60}
ONLY=${ONLY:-}
PREFIX=muelle-it-$$
WORK=$(mktemp -d /tmp/muelle-interop.XXXXXX)
# The image may carry a newer docker CLI in /usr/local/bin; Debian's own CLI matches the
# Debian daemon.
DOCKER=/usr/bin/docker; [ -x "$DOCKER" ] || DOCKER=$(command -v docker 2>/dev/null || echo /usr/bin/docker)
PODMAN=/usr/bin/podman; [ -x "$PODMAN" ] || PODMAN=$(command -v podman 2>/dev/null || echo /usr/bin/podman)

RT=${MUELLE_RUNTIME_BIN:-}
passed=0 failed=0 skipped=0 excused=0
DOCKER_SKIP="" PODMAN_SKIP="" BUILD_FAILED=""

# ------------------------------------------------------------------ cleanup
cleanup() {
  local ids
  if [ -x "$DOCKER" ]; then
    ids=$(timeout 30 "$DOCKER" ps -aq --filter "name=$PREFIX" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && timeout 60 "$DOCKER" rm -f $ids >/dev/null 2>&1
  fi
  if [ -x "$PODMAN" ]; then
    ids=$(timeout 30 "$PODMAN" ps -aq --filter "name=$PREFIX" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && timeout 60 "$PODMAN" --runtime "$RT" rm -f -t 0 $ids >/dev/null 2>&1
  fi
  command -v tmux >/dev/null 2>&1 && tmux kill-session -t "$PREFIX-tty" >/dev/null 2>&1
  # parity bundles: each runtime has its own --root below $WORK
  local r
  for r in "$WORK"/root-*; do
    [ -d "$r" ] || continue
    case "$r" in
      */root-runc) runc --root "$r" delete -f "$PREFIX-par" >/dev/null 2>&1 ;;
      */root-crun) crun --root "$r" delete -f "$PREFIX-par" >/dev/null 2>&1 ;;
      */root-muelle) "$RT" --root "$r" delete -f "$PREFIX-par" >/dev/null 2>&1 ;;
    esac
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ harness
# A case is a function: it returns 0 (ok), 77 (skip) or anything else (not ok) and prints
# why on stdout (the last non-empty line is used; newlines are folded).
run_case() {
  local name=$1 fn=$2 out rc why
  if [ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]]; then return; fi
  out=$("$fn" 2>&1); rc=$?
  why=$(printf '%s' "$out" | tr '\r\n\t' '   ' | sed 's/  */ /g; s/^ //; s/ $//' | cut -c1-400)
  case $rc in
    0) passed=$((passed+1)); echo "ok - $name" ;;
    77) skipped=$((skipped+1)); echo "ok - $name # skip ${why:-skipped}" ;;
    78) skipped=$((skipped+1)); excused=$((excused+1)); echo "ok - $name # skip ${why:-skipped}" ;;
    *) failed=$((failed+1)); echo "not ok - $name: ${why:-exit status $rc}" ;;
  esac
}
# need_docker / need_podman: skip (77) when the peer is unusable
need_docker() { [ -z "$DOCKER_SKIP" ] || { echo "$DOCKER_SKIP"; return 77; }; }
need_podman() { [ -z "$PODMAN_SKIP" ] || { echo "$PODMAN_SKIP"; return 77; }; }
# need_cgroupv1: for cases that read cgroup v1 files; a skip CI accepts (78) on a unified
# cgroup v2 host, which cannot have them, and an ordinary one (77) elsewhere.
need_cgroupv1() {
  [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ] && [ -d /sys/fs/cgroup/freezer ] && return 0
  if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
    echo "reads cgroup v1 files: this host is cgroup v2"; return 78
  fi
  echo "reads cgroup v1 files: no v1 memory and freezer hierarchies here"; return 77
}
d()  { timeout "$T" "$DOCKER" "$@"; }
dr() { timeout "$T" "$DOCKER" run --runtime muelle "$@"; }
p()  { timeout "$T" "$PODMAN" --runtime "$RT" "$@"; }
# expect WHAT WANT GOT
expect() { [ "$2" = "$3" ] && return 0; printf '%s: want %q, got %q\n' "$1" "$2" "$3"; return 1; }
# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds
wait_for() {
  local n=$(( $1 * 10 )); shift
  while [ "$n" -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n-1)); done
  return 1
}

# ------------------------------------------------------------------ docker cases
case_docker_echo() {
  need_docker || return
  local out; out=$(dr --rm busybox echo hi 2>&1) || { echo "docker run failed: $out"; return 1; }
  expect "output" hi "$out"
}

case_docker_exit_code() {
  need_docker || return
  local rc; dr --rm busybox sh -c 'exit 7' >/dev/null 2>&1; rc=$?
  expect "exit code" 7 "$rc"
}

case_docker_exit_127() {
  need_docker || return
  # docker maps the runtime's "executable file not found" error to 127, as with runc
  local out rc; out=$(dr --rm busybox /no/such/command 2>&1); rc=$?
  expect "exit code (${out##*: })" 127 "$rc"
}

case_docker_detached_exec_stop_rm() {
  need_docker || return
  local n=$PREFIX-detached out rc st t0 t1
  out=$(dr -d --name "$n" busybox sleep 300 2>&1) || { echo "run -d: $out"; return 1; }
  st=$(d inspect -f '{{.State.Status}}' "$n" 2>&1); expect "status after run -d" running "$st" || return 1
  # stdout and stderr come back on their own streams
  out=$(d exec "$n" sh -c 'echo exec-out; echo exec-err >&2; exit 3' 2>"$WORK/exec.err"); rc=$?
  expect "exec stdout" exec-out "$out" || return 1
  expect "exec stderr" exec-err "$(cat "$WORK/exec.err")" || return 1
  expect "exec exit code" 3 "$rc" || return 1
  out=$(d exec "$n" cat /proc/1/cmdline | tr '\0' ' ' 2>&1)
  expect "pid 1 seen by exec" "sleep 300 " "$out" || return 1
  # sleep as pid 1 ignores SIGTERM: stop must fall back to SIGKILL after 1 s
  t0=$(date +%s); out=$(d stop -t 1 "$n" 2>&1) || { echo "stop: $out"; return 1; }; t1=$(date +%s)
  [ $((t1 - t0)) -le 10 ] || { echo "stop -t 1 took $((t1 - t0)) s"; return 1; }
  st=$(d inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$n" 2>&1)
  expect "state after stop" "exited 137" "$st" || return 1
  out=$(d rm "$n" 2>&1) || { echo "rm: $out"; return 1; }
  ! d inspect "$n" >/dev/null 2>&1 || { echo "container still there after rm"; return 1; }
}

case_docker_memory_limit() {
  need_docker || return
  need_cgroupv1 || return
  local out; out=$(dr --rm -m 32m busybox cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>&1)
  expect "memory.limit_in_bytes inside" 33554432 "$out"
}

# tty_screen: the tmux pane, history included
tty_screen() { tmux capture-pane -p -J -S - -t "$PREFIX-tty" 2>/dev/null; }
tty_has() { tty_screen | grep -qE "$1"; }
case_docker_tty_interactive() {
  need_docker || return
  command -v tmux >/dev/null 2>&1 || { echo "tmux is not installed (bash scripts/peers.sh install)"; return 77; }
  # a real pty (tmux pane) running the docker CLI with -it; the exit status lands on screen
  tmux new-session -d -s "$PREFIX-tty" -x 100 -y 30 \
    "$DOCKER run --runtime muelle -it --rm --name $PREFIX-tty busybox sh; echo TTY-EXIT=\$?; sleep 60" \
    || { echo "tmux new-session failed"; return 1; }
  wait_for 30 tty_has '/ # ' || { echo "no shell prompt; screen: $(tty_screen | tail -5)"; return 1; }
  # the tty must be a real terminal inside: test -t 0
  tmux send-keys -t "$PREFIX-tty" 'test -t 0 && echo IS-A-TTY; echo $((6*7))' Enter
  wait_for 15 tty_has '^42' || { echo "42 did not appear; screen: $(tty_screen | tail -5)"; return 1; }
  tty_has '^IS-A-TTY' || { echo "stdin is not a tty inside; screen: $(tty_screen | tail -5)"; return 1; }
  tmux send-keys -t "$PREFIX-tty" 'exit' Enter
  wait_for 30 tty_has 'TTY-EXIT=' || { echo "docker run -it did not end after exit; screen: $(tty_screen | tail -5)"; return 1; }
  local rc; rc=$(tty_screen | sed -n 's/.*TTY-EXIT=\([0-9]*\).*/\1/p' | tail -1)
  tmux kill-session -t "$PREFIX-tty" >/dev/null 2>&1
  expect "exit status of docker run -it" 0 "$rc"
}

case_docker_stdin_pipe() {
  need_docker || return
  local out want
  # all of stdin must arrive and its end must reach the container (cat ends at EOF)
  want=$(seq 1 20000 | md5sum | cut -d' ' -f1)
  out=$(seq 1 20000 | dr -i --rm busybox sh -c 'cat | md5sum' 2>&1 | cut -d' ' -f1)
  expect "md5 of stdin seen inside" "$want" "$out"
}

case_docker_kill_signal() {
  need_docker || return
  local n=$PREFIX-sig out rc
  out=$(dr -d --name "$n" busybox sh -c 'trap "echo usr1 >/tmp/got; exit 42" USR1; touch /tmp/ready; while :; do sleep 0.1; done' 2>&1) \
    || { echo "run -d: $out"; return 1; }
  wait_for 10 d exec "$n" test -e /tmp/ready || { echo "container never got ready"; return 1; }
  out=$(d kill -s USR1 "$n" 2>&1) || { echo "kill -s USR1: $out"; return 1; }
  rc=$(timeout 20 "$DOCKER" wait "$n" 2>&1) || { echo "container did not exit after USR1 ($rc)"; return 1; }
  expect "exit code set by the USR1 trap" 42 "$rc" || return 1
  out=$(d cp "$n:/tmp/got" - 2>&1 | tar -xO 2>&1)
  expect "file written by the USR1 trap" usr1 "$out"
}

# freezer.state of the container's init, read on the host
freezer_state() {
  local pid=$1 cg
  cg=$(awk -F: '$2 ~ /(^|,)freezer(,|$)/ {print $3}' "/proc/$pid/cgroup")
  cat "/sys/fs/cgroup/freezer$cg/freezer.state"
}
case_docker_pause_unpause() {
  need_docker || return
  need_cgroupv1 || return
  local n=$PREFIX-pause out pid a b st
  out=$(dr -d --name "$n" busybox sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/c; sleep 0.05; done' 2>&1) \
    || { echo "run -d: $out"; return 1; }
  pid=$(d inspect -f '{{.State.Pid}}' "$n")
  out=$(d pause "$n" 2>&1) || { echo "pause: $out"; return 1; }
  st=$(d inspect -f '{{.State.Status}}' "$n"); expect "status after pause" paused "$st" || return 1
  st=$(freezer_state "$pid" 2>&1); expect "freezer.state after pause" FROZEN "$st" || return 1
  # nothing runs while frozen: the counter file (read through /proc/PID/root) stands still
  a=$(cat "/proc/$pid/root/tmp/c"); sleep 0.5; b=$(cat "/proc/$pid/root/tmp/c")
  expect "counter while paused" "$a" "$b" || return 1
  out=$(d unpause "$n" 2>&1) || { echo "unpause: $out"; return 1; }
  st=$(d inspect -f '{{.State.Status}}' "$n"); expect "status after unpause" running "$st" || return 1
  st=$(freezer_state "$pid" 2>&1); expect "freezer.state after unpause" THAWED "$st" || return 1
  wait_for 5 sh -c "[ \"\$(cat /proc/$pid/root/tmp/c)\" != '$a' ]" \
    || { echo "counter did not move after unpause (stays at '$a')"; return 1; }
  d rm -f "$n" >/dev/null 2>&1
}

case_docker_top() {
  need_docker || return
  local n=$PREFIX-top out pid
  out=$(dr -d --name "$n" busybox sh -c 'sleep 301 & sleep 302' 2>&1) || { echo "run -d: $out"; return 1; }
  pid=$(d inspect -f '{{.State.Pid}}' "$n")
  wait_for 10 sh -c "'$DOCKER' top '$n' | grep -q 'sleep 301'"
  out=$(d top "$n" 2>&1) || { echo "top: $out"; return 1; }
  printf '%s\n' "$out" | grep -q 'sleep 301' || { echo "no 'sleep 301' in top: $out"; return 1; }
  printf '%s\n' "$out" | grep -q 'sleep 302' || { echo "no 'sleep 302' in top: $out"; return 1; }
  printf '%s\n' "$out" | awk 'NR>1 {print $2}' | grep -qx "$pid" || { echo "init pid $pid not in top: $out"; return 1; }
  d rm -f "$n" >/dev/null 2>&1
}

# ------------------------------------------------------------------ podman cases
case_podman_echo() {
  need_podman || return
  local out; out=$(p run --rm busybox echo hi 2>&1) || { echo "podman run failed: $out"; return 1; }
  expect "output" hi "$out"
}

case_podman_exit_code() {
  need_podman || return
  local rc; p run --rm busybox sh -c 'exit 7' >/dev/null 2>&1; rc=$?
  expect "exit code" 7 "$rc"
}

case_podman_exit_127() {
  need_podman || return
  local out rc; out=$(p run --rm busybox /no/such/command 2>&1); rc=$?
  expect "exit code (${out##*: })" 127 "$rc"
}

case_podman_detached_exec_stop_rm() {
  need_podman || return
  local n=$PREFIX-pdetached out rc st t0 t1
  out=$(p run -d --name "$n" busybox sleep 300 2>&1) || { echo "run -d: $out"; return 1; }
  st=$(p inspect -f '{{.State.Status}}' "$n" 2>&1); expect "status after run -d" running "$st" || return 1
  out=$(p exec "$n" sh -c 'echo exec-out; exit 3' 2>&1); rc=$?
  expect "exec output" exec-out "$out" || return 1
  expect "exec exit code" 3 "$rc" || return 1
  t0=$(date +%s); out=$(p stop -t 1 "$n" 2>&1) || { echo "stop: $out"; return 1; }; t1=$(date +%s)
  [ $((t1 - t0)) -le 10 ] || { echo "stop -t 1 took $((t1 - t0)) s"; return 1; }
  st=$(p inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$n" 2>&1)
  expect "state after stop" "exited 137" "$st" || return 1
  out=$(p rm "$n" 2>&1) || { echo "rm: $out"; return 1; }
  ! p container exists "$n" >/dev/null 2>&1 || { echo "container still there after rm"; return 1; }
}

# ------------------------------------------------------------------ runc / crun parity
case_parity_runc_crun() {
  local b=$WORK/bundle rt name out rc have=0 rootfs=${PEERS_RUN:-/run/muelle-peers}/busybox-rootfs
  command -v jq >/dev/null 2>&1 || { echo "jq is not installed (bash scripts/peers.sh install)"; return 77; }
  [ -x "$rootfs/bin/busybox" ] || "$TOP/scripts/busybox-rootfs.sh" "$rootfs" >/dev/null 2>&1 \
    || { echo "cannot build the busybox rootfs"; return 1; }
  mkdir -p "$b"
  (cd "$b" && "$RT" spec) || { echo "muelle-runtime spec failed"; return 1; }
  # ociVersion: muelle-runtime spec writes "1.2.0"; crun 1.8.1 refuses every version that
  # does not contain "1.0" ("unknown version specified"), so the bundle says 1.0.2 (what
  # runc 1.1 writes). Nothing in this config differs between the spec versions.
  jq --arg root "$rootfs" '.ociVersion = "1.0.2" | .root.path = $root | .root.readonly = true
      | .process.terminal = false
      | .process.args = ["sh", "-c", "id; hostname; cat /proc/self/status | grep -E \"^(Cap|NoNewPrivs)\""]' \
    "$b/config.json" >"$b/c.tmp" && mv "$b/c.tmp" "$b/config.json" || { echo "jq edit failed"; return 1; }
  local -A res
  for name in muelle runc crun; do
    case $name in muelle) rt=$RT ;; *) rt=$(command -v "$name") || continue ;; esac
    mkdir -p "$WORK/root-$name"
    out=$(timeout "$T" "$rt" --root "$WORK/root-$name" run --bundle "$b" "$PREFIX-par" 2>&1); rc=$?
    "$rt" --root "$WORK/root-$name" delete -f "$PREFIX-par" >/dev/null 2>&1
    [ "$rc" = 0 ] || { echo "$name run exited $rc: $out"; return 1; }
    res[$name]=$out
    [ "$name" = muelle ] || have=$((have+1))
  done
  [ "$have" -gt 0 ] || { echo "neither runc nor crun is installed"; return 77; }
  printf '%s\n' "${res[muelle]}" | grep -q '^NoNewPrivs:' || { echo "unexpected muelle output: ${res[muelle]}"; return 1; }
  # The three outputs are compared whole (uid/gid line, hostname, every Cap* line and
  # NoNewPrivs); runc 1.1.5 and crun 1.8.1 agree on all of them with this config.
  for name in runc crun; do
    [ -n "${res[$name]+x}" ] || continue
    if [ "${res[$name]}" != "${res[muelle]}" ]; then
      echo "muelle and $name differ: $(diff <(printf '%s\n' "${res[$name]}") <(printf '%s\n' "${res[muelle]}") | grep '^[<>]' | tr '\n' ' ')"
      return 1
    fi
  done
}

# ------------------------------------------------------------------ setup
RT=${MUELLE_RUNTIME_BIN:-}
if [ -z "$RT" ]; then
  if BINDIR=$("$TOP/scripts/build.sh" 2>"$WORK/build.log"); then
    RT=$BINDIR/muelle-runtime
  else
    RT=/nonexistent/muelle-runtime
    BUILD_FAILED="scripts/build.sh failed: $(tail -3 "$WORK/build.log" | tr '\n' ' ')"
  fi
fi
case $RT in /*) ;; *) RT=$(cd "$(dirname "$RT")" && pwd)/$(basename "$RT") ;; esac
export MUELLE_RUNTIME_BIN=$RT
case_build() { [ -z "$BUILD_FAILED" ] || { echo "$BUILD_FAILED"; return 1; }; [ -x "$RT" ] || { echo "$RT is not executable"; return 1; }; }
# always reported, whatever ONLY says: nothing else can run without the binary
ONLY_CASES=$ONLY; ONLY=""
run_case muelle_runtime_binary case_build
ONLY=$ONLY_CASES
if [ -n "$BUILD_FAILED" ] || ! [ -x "$RT" ]; then
  echo "$passed passed, $failed failed, $skipped skipped"; exit 1
fi

if [ "$(id -u)" != 0 ]; then
  DOCKER_SKIP="needs root"; PODMAN_SKIP="needs root"
elif [ "${MUELLE_TEST_PEERS:-up}" = skip ] && [ -z "${CI:-}" ]; then
  : # scripts/test.sh was told not to install or start peers: use whatever runs
elif ! "$TOP/scripts/peers.sh" up >"$WORK/peers.log" 2>&1; then
  DOCKER_SKIP="scripts/peers.sh up failed: $(tail -2 "$WORK/peers.log" | tr '\n' ' ')"
  PODMAN_SKIP=$DOCKER_SKIP
fi
[ -n "$DOCKER_SKIP" ] || [ -x "$DOCKER" ] || DOCKER_SKIP="no docker client"
[ -n "$PODMAN_SKIP" ] || [ -x "$PODMAN" ] || PODMAN_SKIP="no podman"
if [ -z "$DOCKER_SKIP" ]; then
  # dockerd keeps the runtime path it was started with: make sure it is this binary
  reg=$(timeout 30 "$DOCKER" info --format '{{with index .Runtimes "muelle"}}{{.Path}}{{end}}' 2>/dev/null)
  if [ -z "$reg" ]; then
    DOCKER_SKIP="dockerd has no runtime \"muelle\" (was it started by scripts/peers.sh?)"
  elif [ "$reg" != "$RT" ]; then
    DOCKER_SKIP="dockerd's runtime muelle is $reg, not $RT (scripts/peers.sh down; then rerun)"
  fi
fi

run_case docker_run_echo_hi             case_docker_echo
run_case docker_exit_code_7             case_docker_exit_code
run_case docker_exit_code_127           case_docker_exit_127
run_case docker_detached_exec_stop_rm   case_docker_detached_exec_stop_rm
run_case docker_memory_limit_32m        case_docker_memory_limit
run_case docker_tty_interactive         case_docker_tty_interactive
run_case docker_stdin_pipe              case_docker_stdin_pipe
run_case docker_kill_usr1               case_docker_kill_signal
run_case docker_pause_unpause           case_docker_pause_unpause
run_case docker_top                     case_docker_top
run_case podman_run_echo_hi             case_podman_echo
run_case podman_exit_code_7             case_podman_exit_code
run_case podman_exit_code_127           case_podman_exit_127
run_case podman_detached_exec_stop_rm   case_podman_detached_exec_stop_rm
run_case parity_runc_crun_muelle        case_parity_runc_crun

echo "$passed passed, $failed failed, $skipped skipped"
if [ -n "${CI:-}" ] && [ "$skipped" -gt "$excused" ]; then
  echo "CI is set: $((skipped - excused)) case(s) skipped for a missing peer (bash scripts/peers.sh up)" >&2
  exit 1
fi
[ "$failed" -eq 0 ]
