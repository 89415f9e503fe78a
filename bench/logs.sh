#!/usr/bin/env bash
# bench/logs.sh: how fast a container can log. A busybox container writes SIZE_MB MiB of
# `yes` lines (`yes LINE | head -c N`; LINE is 99 bytes by default, LINE= for `yes`'s own
# 2-byte lines, the worst case per byte: one json-file entry per 2 bytes) to stdout; the time is the wall time from `run -d` to the end of `wait`, so it
# includes the container's start (tens of ms) and the log writer catching up. Compared:
#  - muelled with its default rotation (json-file, max-size 20m, max-file 5);
#  - muelled with compress=true (rotated files gzipped in the supervisor);
#  - muelled with the local driver (Docker's defaults: 20m, 5 files, compressed);
#  - dockerd 20.10 json-file (its default: no rotation), and with the same
#    max-size/max-file/compress options as muelled's, and the local driver.
# Also the muelle-shim's largest Private_Dirty (smaps_rollup, sampled every 0.2 s) while it
# logs (Private_Clean is the binary's pages, private only while one shim runs): the sampling
# costs muelled's rows a little time.
# A benchmark, not a test: it asserts nothing. Environment: SIZE_MB (50), ROUNDS (3),
# MUELLE_BIN_DIR (muelled with muelle-shim beside it; default target/debug -- build the
# shim in release for meaningful figures, see scripts/build.sh).
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${MUELLE_BIN_DIR:-$TOP/target/debug}
SIZE_MB=${SIZE_MB:-50}
ROUNDS=${ROUNDS:-3}
DOCKER=${DOCKER:-/usr/bin/docker}
BYTES=$((SIZE_MB * 1024 * 1024))
LINE=${LINE-0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklm}
W=$(mktemp -d /var/tmp/bench-logs.XXXXXX)
SOCK=$W/run/muelled.sock
unset DOCKER_HOST
cleanup() {
  [ -n "${MD_PID:-}" ] && kill "$MD_PID" 2>/dev/null && wait "$MD_PID" 2>/dev/null
  rm -rf "$W" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo '{}' >"$W/daemon.json"
"$BIN/muelled" -H "unix://$SOCK" --data-root "$W/root" --exec-root "$W/run" \
  --config-file "$W/daemon.json" >"$W/muelled.log" 2>&1 &
MD_PID=$!
M() { DOCKER_HOST="unix://$SOCK" "$DOCKER" "$@"; }
D() { "$DOCKER" "$@"; }
for _ in $(seq 100); do M version >/dev/null 2>&1 && break; sleep 0.1; done
"$TOP/scripts/busybox-image.sh" "$W/busybox-oci" >/dev/null
tar -C "$W/busybox-oci" -cf "$W/busybox-oci.tar" .
M load -q -i "$W/busybox-oci.tar" >/dev/null

# one ENGINE NAME OPTS...: the seconds one run takes; for muelled, the largest private
# memory of its muelle-shim seen while it ran goes to $W/priv
one() {
  local e=$1 name=$2; shift 2
  local t0 t1 id shim p max=0
  t0=$EPOCHREALTIME
  id=$($e run -d --name "$name" --network none "$@" busybox sh -c "yes $LINE | head -c $BYTES")
  if [ "$e" = M ]; then
    shim=$(pgrep -f -- "muelle-shim --id $id" | head -1 || true)
    while [ -n "$shim" ] && [ -e "/proc/$shim" ]; do
      p=$(awk '/^Private_Dirty:/{s+=$2} END{print s+0}' "/proc/$shim/smaps_rollup" 2>/dev/null || echo 0)
      [ "$p" -gt "$max" ] && max=$p
      sleep 0.2
    done
    echo "$max" >"$W/priv"
  fi
  $e wait "$name" >/dev/null
  t1=$EPOCHREALTIME
  $e rm -f "$name" >/dev/null
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}'
}

row() { # row LABEL ENGINE OPTS...
  local label=$1 e=$2; shift 2
  local best=999 t
  echo - >"$W/priv"
  for r in $(seq "$ROUNDS"); do
    t=$(one "$e" "benchlogs-$$-$r" "$@")
    best=$(awk -v a="$t" -v b="$best" 'BEGIN{print (a<b)?a:b}')
  done
  printf '%-44s best %6.2f s  %7.1f MiB/s  shim private dirty max %s KiB\n' "$label" "$best" \
    "$(awk -v s="$SIZE_MB" -v t="$best" 'BEGIN{printf "%.1f", s/t}')" "$(cat "$W/priv")"
}

LINE_BYTES=$(( ${#LINE} + 1 )); [ -n "$LINE" ] || LINE_BYTES=2   # `yes` alone prints "y"
echo "$SIZE_MB MiB of 'yes' lines of $LINE_BYTES bytes, best of $ROUNDS; $(uptime | sed 's/.*load/load/')"
row "muelled json-file (default 20m x 5)" M
row "muelled json-file 20m x 5 compress" M --log-opt compress=true
row "muelled local (20m x 5, compressed)" M --log-driver local
row "dockerd json-file (default: unbounded)" D
row "dockerd json-file 20m x 5" D --log-opt max-size=20m --log-opt max-file=5
row "dockerd json-file 20m x 5 compress" D --log-opt max-size=20m --log-opt max-file=5 --log-opt compress=true
row "dockerd local" D --log-driver local
