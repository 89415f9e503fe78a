#!/usr/bin/env bash
# bench/pull.sh: cold pull of a 4-layer, ~100 MB (compressed) Debian-minbase image from a
# local docker-registry, to a runnable (unpacked) image: `muelle pull` against `docker pull`,
# `podman pull` and `skopeo copy` (into containers-storage, which unpacks, and into an OCI
# directory, which only downloads), interleaved round by round with the starting tool
# rotated. Then `muelle load` against `docker load` and `podman load` of the same
# docker-archive tar. A benchmark, not a test: it asserts nothing, but a tool whose run
# fails is reported INVALID.
#
# "Cold": before every timed run the image and its layers are removed from that tool's
# store (untimed). The registry's files are in the page cache for everyone alike.
#
# Environment: ROUNDS (default 5), BENCH_CACHE (/var/tmp/muelle-bench: debootstrap rootfs
# and image layout, built once by bench/images.sh), MUELLE_BIN_DIR (default: the static
# release build of scripts/build.sh, built here). Needs root, and the peers from
# scripts/peers.sh (started here if needed). Leaves nothing behind but the cache.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
export LC_ALL=C.UTF-8
ROUNDS=${ROUNDS:-5}
CACHE=${BENCH_CACHE:-/var/tmp/muelle-bench}
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

DOCKER=/usr/bin/docker
PODMAN=/usr/bin/podman
SKOPEO=/usr/bin/skopeo
"$TOP/scripts/peers.sh" up >/dev/null 2>&1 || log "scripts/peers.sh up failed: docker may be missing"

if [ -n "${MUELLE_BIN_DIR:-}" ]; then BIN=$MUELLE_BIN_DIR; else
  log "scripts/build.sh (static release build)"; BIN=$("$TOP/scripts/build.sh") || die "build failed"; fi
[ -x "$BIN/muelle" ] && [ -x "$BIN/muelled" ] || die "$BIN has no muelle/muelled"

W=$(mktemp -d /var/tmp/muelle-pull-bench.XXXXXX)
REG_PID="" MD_PID=""
cleanup() {
  set +e
  [ -n "$MD_PID" ] && kill "$MD_PID" 2>/dev/null && wait "$MD_PID" 2>/dev/null
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  [ -n "${IMG:-}" ] && { $DOCKER rmi -f "$IMG" >/dev/null 2>&1; $PODMAN rmi -f "$IMG" >/dev/null 2>&1; }
  for m in $(awk -v w="$W" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r); do umount -l "$m"; done
  rm -rf "$W"
}
trap cleanup EXIT

# ------------------------------------------------------------------ image and registry
layout=$CACHE/layout
[ -f "$layout/index.json" ] || bash "$HERE/images.sh" "$layout"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$W/registry.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $W/registry-data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
EOF
/usr/bin/docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
IMG=127.0.0.1:$port/bench/multi:1
$SKOPEO copy -q --dest-tls-verify=false "oci:$layout:multi" "docker://$IMG"
$SKOPEO copy -q "oci:$layout:multi" "docker-archive:$W/multi.tar:$IMG"
log "image $IMG: $(du -sh "$layout" | cut -f1) compressed in the layout, docker-archive $(du -sh "$W/multi.tar" | cut -f1)"

# ------------------------------------------------------------------ muelled of its own
SOCK=$W/muelle.sock
"$BIN/muelled" -H "unix://$SOCK" --data-root "$W/muelle-root" --exec-root "$W/muelle-run" \
  --insecure-registry "127.0.0.1:$port" >"$W/muelled.log" 2>&1 &
MD_PID=$!
M() { "$BIN/muelle" -H "unix://$SOCK" "$@"; }
for _ in $(seq 100); do M version >/dev/null 2>&1 && break; sleep 0.1; done
M version >/dev/null 2>&1 || die "muelled did not start: $(tail -3 "$W/muelled.log")"

# ------------------------------------------------------------------ tools
# Each tool: a "clean" step (untimed) and a "run" step (timed). Quiet output, and every run
# is checked to have produced a runnable image where the tool unpacks.
clean_muelle()  { M rmi -f "$IMG" >/dev/null 2>&1 || true; M image prune -a -f >/dev/null 2>&1 || true; }
run_muelle()    { M pull -q "$IMG" >/dev/null; }
clean_docker()  { $DOCKER rmi -f "$IMG" >/dev/null 2>&1 || true; }
run_docker()    { $DOCKER pull -q "$IMG" >/dev/null; }
clean_podman()  { $PODMAN rmi -f "$IMG" >/dev/null 2>&1 || true; }
run_podman()    { $PODMAN pull -q --tls-verify=false "$IMG" >/dev/null; }
clean_skopeo_cs() { clean_podman; }
run_skopeo_cs() { $SKOPEO copy -q --src-tls-verify=false "docker://$IMG" "containers-storage:$IMG"; }
clean_skopeo_oci() { rm -rf "$W/skopeo-oci"; }
run_skopeo_oci() { $SKOPEO copy -q --src-tls-verify=false "docker://$IMG" "oci:$W/skopeo-oci:multi"; }

clean_muelle_load() { clean_muelle; }
run_muelle_load()   { M load -q -i "$W/multi.tar" >/dev/null; }
clean_docker_load() { clean_docker; }
run_docker_load()   { $DOCKER load -q -i "$W/multi.tar" >/dev/null; }
clean_podman_load() { clean_podman; }
run_podman_load()   { $PODMAN load -q -i "$W/multi.tar" >/dev/null; }

now() { date +%s%N; }
declare -A T=() BAD=()
bench() { # bench GROUP TOOL...
  local group=$1; shift
  local tools=("$@") n=${#tools[@]} r i t0 t1 tool
  for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do
      tool=${tools[$(((i + r) % n))]}
      "clean_$tool" || true; sync
      t0=$(now)
      if "run_$tool" 2>>"$W/errors.log"; then
        t1=$(now); T[$tool]+="$(((t1 - t0) / 1000000)) "
      else
        BAD[$tool]=1; log "$tool failed (round $r): $(tail -1 "$W/errors.log")"
      fi
    done
  done
  for tool in "${tools[@]}"; do "clean_$tool" || true; done
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

have() { [ -x "$1" ]; }
pull_tools=(muelle)
have $DOCKER && $DOCKER version >/dev/null 2>&1 && pull_tools+=(docker)
have $PODMAN && pull_tools+=(podman)
have $SKOPEO && pull_tools+=(skopeo_cs skopeo_oci)
log "cold pull, $ROUNDS rounds: ${pull_tools[*]}"
bench pull "${pull_tools[@]}"
load_tools=(muelle_load)
have $DOCKER && $DOCKER version >/dev/null 2>&1 && load_tools+=(docker_load)
have $PODMAN && load_tools+=(podman_load)
log "load of the docker-archive, $ROUNDS rounds: ${load_tools[*]}"
bench load "${load_tools[@]}"

report() { # report BASE TOOL...
  local base=$1; shift
  local bm; bm=$(echo "${T[$base]:-}" | median)
  printf '%-18s %10s %10s   %s\n' tool "median ms" "muelle/x" "runs (ms)"
  for tool in "$@"; do
    local m; m=$(echo "${T[$tool]:-}" | median)
    local ratio; ratio=$(awk -v a="$bm" -v b="$m" 'BEGIN{ if (b+0>0 && a+0>0) printf "%.2f", a/b; else print "-" }')
    printf '%-18s %10s %10s   %s%s\n' "$tool" "$m" "$ratio" "${T[$tool]:-}" "${BAD[$tool]:+  INVALID (a run failed)}"
  done
}
echo
echo "== cold pull of $IMG to an unpacked image (skopeo_oci: download only, no unpack)"
report muelle "${pull_tools[@]}"
echo
echo "== load of the same image from a docker-archive tar ($(du -sh "$W/multi.tar" | cut -f1))"
report muelle_load "${load_tools[@]}"
[ ${#BAD[@]} -eq 0 ]
