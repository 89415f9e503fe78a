#!/usr/bin/env bash
# bench/push.sh: push of the 4-layer bench image (bench/images.sh's shape: Debian minbase,
# 500 small files, 50 MiB random, ~15 MiB text) loaded from a docker-archive, whose layers
# are therefore stored uncompressed, to an EMPTY local docker-registry, compressed:
#   muelle       `muelle push` (gzip), the image loaded afresh before each round (untimed)
#                so the round compresses: nothing is reused from an earlier push
#   muelle_warm  `muelle push` again, reusing the compressed blobs the store kept
#   muelle_zstd  `muelle push --compression zstd`, loaded afresh like `muelle`
#   docker       `docker push` (dockerd 20.10, gzip), from `docker load` of the same tar
#   podman       `podman push` (gzip), from `podman load` of the same tar
#   skopeo       `skopeo copy docker-archive:X.tar docker://...` (gzip)
# Every timed push goes to a registry of its own, started empty for it on a fresh
# 127.0.0.1 port with its own storage, stopped after it; the tools are interleaved round by
# round with the starting tool rotated. Reported: median wall time (bash clock around the
# client), ratios, the bytes the registry then stores (du of its storage), and for muelle
# the CPU time muelled spent (utime+stime from /proc/PID/stat, less load-sensitive than wall
# time on a shared machine). Then muelled's memory: VmRSS fresh (started, nothing loaded),
# idle after the load, the peak during a push (VmHWM, reset before each push with
# clear_refs 5), and idle 3 s after all its pushes (2 x ROUNDS + ROUNDS zstd).
# A benchmark, not a test: asserts nothing; a tool whose run fails is reported INVALID and
# the script exits 1. Nothing is pulled from outside: the image is built locally.
#
# Environment: ROUNDS (5), BENCH_CACHE (/var/tmp/muelle-bench; the Debian rootfs is taken
# from there, or extracted from DEBIAN_ROOTFS_TAR, default /var/tmp/muelle-test-debian-v1.tar,
# the integration tests' Debian rootfs), MUELLE_BIN_DIR (default: scripts/build.sh's release
# build, built here). Needs root, dockerd running, podman, skopeo, umoci, docker-registry.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
export LC_ALL=C.UTF-8
ROUNDS=${ROUNDS:-5}
CACHE=${BENCH_CACHE:-/var/tmp/muelle-bench}
DEBIAN_ROOTFS_TAR=${DEBIAN_ROOTFS_TAR:-/var/tmp/muelle-test-debian-v1.tar}
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
DOCKER=/usr/bin/docker
PODMAN=/usr/bin/podman
SKOPEO=/usr/bin/skopeo
for b in $DOCKER $PODMAN $SKOPEO /usr/bin/docker-registry /usr/bin/umoci; do
  [ -x "$b" ] || die "$b is missing"
done

if [ -n "${MUELLE_BIN_DIR:-}" ]; then BIN=$MUELLE_BIN_DIR; else
  log "scripts/build.sh (static release build)"; BIN=$("$TOP/scripts/build.sh") || die "build failed"; fi
{ [ -x "$BIN/muelle" ] && [ -x "$BIN/muelled" ]; } || die "$BIN has no muelle/muelled"

W=$(mktemp -d /var/tmp/muelle-push-bench.XXXXXX)
NAME=muellepushbench$$
REG_PID="" MD_PID=""
stop_registry() {
  if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null || true; REG_PID=""; fi
  return 0
}
cleanup() {
  set +e
  stop_registry
  [ -n "$MD_PID" ] && kill "$MD_PID" 2>/dev/null && wait "$MD_PID" 2>/dev/null
  [ -n "${HAVE_DOCKER:-}" ] && $DOCKER images --format '{{.Repository}}:{{.Tag}}' | grep "$NAME" | xargs -r $DOCKER rmi -f >/dev/null 2>&1
  $PODMAN images --format '{{.Repository}}:{{.Tag}}' | grep "$NAME" | xargs -r $PODMAN rmi -f >/dev/null 2>&1
  for m in $(awk -v w="$W" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r); do umount -l "$m"; done
  rm -rf "$W"
}
trap cleanup EXIT

# ------------------------------------------------------------------ the image
layout=$CACHE/layout
if [ ! -f "$layout/index.json" ]; then
  deb=$CACHE/debian-rootfs extra=$CACHE/extra
  if [ ! -x "$deb/bin/bash" ]; then
    [ -f "$DEBIAN_ROOTFS_TAR" ] || die "no $deb and no $DEBIAN_ROOTFS_TAR: run bench/images.sh once"
    log "Debian rootfs from $DEBIAN_ROOTFS_TAR"
    rm -rf "$deb.tmp"; mkdir -p "$deb.tmp"; tar -xf "$DEBIAN_ROOTFS_TAR" -C "$deb.tmp"; mv "$deb.tmp" "$deb"
  fi
  if [ ! -f "$extra/done" ]; then
    rm -rf "$extra"; mkdir -p "$extra/small/opt/app" "$extra/random/opt/blob" "$extra/text/opt" "$extra/text/etc"
    for i in $(seq 1 500); do head -c 4096 /dev/urandom >"$extra/small/opt/app/f$i"; done
    head -c 52428800 /dev/urandom >"$extra/random/opt/blob/random50M.bin"
    seq 1 2000000 >"$extra/text/opt/seq.txt"
    echo "bench multi-layer image" >"$extra/text/etc/bench-release"
    touch "$extra/done"
  fi
  # The same steps as bench/images.sh, without its debootstrap.
  rm -rf "$layout"
  umoci init --layout "$layout"
  umoci new --image "$layout:multi"
  umoci insert --image "$layout:multi" "$deb" /
  umoci insert --image "$layout:multi" "$extra/small/opt/app" /opt/app
  umoci insert --image "$layout:multi" "$extra/random/opt/blob" /opt/blob
  umoci insert --image "$layout:multi" "$extra/text/opt" /opt
  umoci config --image "$layout:multi" --config.env BENCH=1 --config.cmd /bin/bash
  umoci gc --layout "$layout"
fi
SRC=localhost/$NAME/multi:1
$SKOPEO copy -q "oci:$layout:multi" "docker-archive:$W/multi.tar:$SRC"
log "docker-archive $(du -sh "$W/multi.tar" | cut -f1) (layers uncompressed)"

# ------------------------------------------------------------------ registries
port=""
start_registry() { # a fresh, empty registry on a new port
  stop_registry
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  rm -rf "$W/reg"; mkdir -p "$W/reg/data"
  cat >"$W/reg/config.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $W/reg/data}}
http: {addr: 127.0.0.1:$port}
EOF
  /usr/bin/docker-registry serve "$W/reg/config.yml" >"$W/registry.log" 2>&1 &
  REG_PID=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && return 0; sleep 0.05; done
  die "docker-registry did not start: $(tail -3 "$W/registry.log")"
}
stored_bytes() { du -sb "$W/reg/data" | cut -f1; }

# ------------------------------------------------------------------ muelled
SOCK=$W/muelle.sock
"$BIN/muelled" -H "unix://$SOCK" --data-root "$W/muelle-root" --exec-root "$W/muelle-run" \
  >"$W/muelled.log" 2>&1 &
MD_PID=$!
M() { "$BIN/muelle" -H "unix://$SOCK" "$@"; }
for _ in $(seq 100); do M version >/dev/null 2>&1 && break; sleep 0.1; done
M version >/dev/null 2>&1 || die "muelled did not start: $(tail -3 "$W/muelled.log")"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$MD_PID/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$MD_PID/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$MD_PID/stat"; }
TICK=$(getconf CLK_TCK)
sleep 1
RSS_FRESH=$(rss)
M load -q -i "$W/multi.tar" >/dev/null
sleep 3
RSS_LOADED=$(rss)
HAVE_DOCKER=""
if $DOCKER version >/dev/null 2>&1; then HAVE_DOCKER=1; $DOCKER load -q -i "$W/multi.tar" >/dev/null
else log "dockerd does not answer: docker is left out"; fi
$PODMAN load -q -i "$W/multi.tar" >/dev/null

# ------------------------------------------------------------------ tools
DST() { echo "127.0.0.1:$port/bench/multi:1"; }
fresh_muelle() { M rmi -f "$SRC" >/dev/null 2>&1 || true; M image prune -a -f >/dev/null 2>&1 || true; M load -q -i "$W/multi.tar" >/dev/null; }
clean_muelle()      { fresh_muelle; M tag "$SRC" "$(DST)"; }
run_muelle()        { M push -q "$(DST)" >/dev/null; }
clean_muelle_warm() { M tag "$SRC" "$(DST)"; }
run_muelle_warm()   { M push -q "$(DST)" >/dev/null; }
clean_muelle_zstd() { fresh_muelle; M tag "$SRC" "$(DST)"; }
run_muelle_zstd()   { M push -q --compression zstd "$(DST)" >/dev/null; }
clean_docker()      { $DOCKER tag "$SRC" "$(DST)"; }
run_docker()        { $DOCKER push -q "$(DST)" >/dev/null 2>&1 || $DOCKER push "$(DST)" >/dev/null; }
clean_podman()      { $PODMAN tag "$SRC" "$(DST)"; }
run_podman()        { $PODMAN push -q --tls-verify=false "$(DST)"; }
clean_skopeo()      { :; }
run_skopeo()        { $SKOPEO copy -q --dest-tls-verify=false "docker-archive:$W/multi.tar" "docker://$(DST)"; }
untag() { # the per-round registry name, removed from each tool's store
  case $1 in
    muelle*) M rmi "$(DST)" >/dev/null 2>&1 || true ;;
    docker) $DOCKER rmi "$(DST)" >/dev/null 2>&1 || true ;;
    podman) $PODMAN rmi "$(DST)" >/dev/null 2>&1 || true ;;
  esac
}

declare -A T=() BYTES=() CPU=() PEAK=() BAD=()
tools=(muelle muelle_warm muelle_zstd ${HAVE_DOCKER:+docker} podman skopeo)
n=${#tools[@]}
log "$ROUNDS rounds: ${tools[*]}"
for ((r = 0; r < ROUNDS; r++)); do
  for ((i = 0; i < n; i++)); do
    tool=${tools[$(((i + r) % n))]}
    start_registry
    "clean_$tool" || true
    sync
    echo 5 >"/proc/$MD_PID/clear_refs"
    c0=$(cpu_ticks)
    t0=$EPOCHREALTIME
    if "run_$tool" 2>>"$W/errors.log"; then
      t1=$EPOCHREALTIME
      T[$tool]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%d", (b-a)*1000}') "
      BYTES[$tool]=$(stored_bytes)
      case $tool in muelle*)
        CPU[$tool]+="$(( ($(cpu_ticks) - c0) * 1000 / TICK )) "
        PEAK[$tool]+="$(hwm) " ;;
      esac
    else
      BAD[$tool]=1; log "$tool failed (round $r): $(tail -1 "$W/errors.log")"
    fi
    untag "$tool"
  done
done
stop_registry
sleep 3
RSS_AFTER=$(rss)

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
echo
echo "== push of the 4-layer image from a docker-archive to an empty registry ($ROUNDS rounds, medians)"
bm=$(echo "${T[muelle]:-}" | median)
printf '%-12s %9s %9s %12s %13s %14s   %s\n' tool "wall ms" "muelle/x" "stored MB" "muelled cpu" "muelled peak" "runs (ms)"
for tool in "${tools[@]}"; do
  m=$(echo "${T[$tool]:-}" | median)
  ratio=$(awk -v a="$bm" -v b="$m" 'BEGIN{ if (b+0>0 && a+0>0) printf "%.3f", a/b; else print "-" }')
  mb=$(awk -v b="${BYTES[$tool]:-0}" 'BEGIN{printf "%.1f", b/1e6}')
  cpu=$( [ -n "${CPU[$tool]:-}" ] && echo "$(echo "${CPU[$tool]}" | median) ms" || echo "-")
  peak=$( [ -n "${PEAK[$tool]:-}" ] && echo "$(echo "${PEAK[$tool]}" | median | awk '{printf "%.1f MiB", $1/1024}')" || echo "-")
  printf '%-12s %9s %9s %12s %13s %14s   %s%s\n' "$tool" "$m" "$ratio" "$mb" "$cpu" "$peak" "${T[$tool]:-}" "${BAD[$tool]:+  INVALID (a run failed)}"
done
echo
pushes=$(( $(echo "${T[muelle]:-} ${T[muelle_warm]:-} ${T[muelle_zstd]:-}" | wc -w) ))
awk -v f="$RSS_FRESH" -v l="$RSS_LOADED" -v a="$RSS_AFTER" -v p="$pushes" 'BEGIN{
  printf "muelled VmRSS: fresh %.1f MiB, idle after the load %.1f MiB, idle 3 s after %d pushes %.1f MiB (%.2f x fresh, %.2f x loaded)\n",
    f/1024, l/1024, p, a/1024, a/f, a/l }'
[ ${#BAD[@]} -eq 0 ] || { echo "INVALID: a run failed (see above)"; exit 1; }
