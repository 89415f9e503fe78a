#!/usr/bin/env bash
# bench/images.sh OUT_LAYOUT: builds the multi-layer benchmark image as an OCI layout, tag
# "multi", without any registry or daemon:
#   layer 1  a Debian bookworm minbase rootfs (debootstrap from the apt mirror)
#   layer 2  500 small files (4 KiB random each)
#   layer 3  50 MiB of incompressible random data
#   layer 4  ~15 MiB of compressible text
# The same shape as /work/shared/bench/peers.sh's bench-multi image. Layers are added with
# umoci (gzip), so the image is what any OCI tool would build. The debootstrap rootfs is
# cached in $BENCH_CACHE (default /var/tmp/muelle-bench); rebuilding the layout takes seconds.
set -euo pipefail
OUT=${1:?usage: bench/images.sh OUT_LAYOUT}
CACHE=${BENCH_CACHE:-/var/tmp/muelle-bench}
log() { printf '[%(%H:%M:%S)T] images: %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

need=""
for p in debootstrap umoci; do command -v "$p" >/dev/null || need="$need $p"; done
if [ -n "$need" ]; then
  log "installing$need"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $need >/dev/null; } || die "apt-get install$need failed"
fi

mkdir -p "$CACHE"
deb=$CACHE/debian-rootfs
if [ ! -x "$deb/bin/bash" ]; then
  mirror=$(grep -rhoE '^URIs: *http[^ ]*/debian$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}' || true)
  [ -n "$mirror" ] || mirror=$(grep -hoE '^deb +http[^ ]*/debian ' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}' || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  log "debootstrap --variant=minbase bookworm from $mirror (once; cached in $deb)"
  rm -rf "$deb.tmp"
  debootstrap --variant=minbase bookworm "$deb.tmp" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $CACHE/debootstrap.log"
  # As the official image: no .debs, no apt lists, an empty /dev.
  rm -rf "$deb.tmp"/var/cache/apt/archives/*.deb "$deb.tmp"/var/cache/apt/*.bin \
         "$deb.tmp"/var/lib/apt/lists/* "$deb.tmp"/dev/* "$deb.tmp"/var/log/*
  mkdir -p "$deb.tmp/var/lib/apt/lists/partial"
  mv "$deb.tmp" "$deb"
fi

extra=$CACHE/extra
if [ ! -f "$extra/done" ]; then
  rm -rf "$extra"; mkdir -p "$extra/small/opt/app" "$extra/random/opt/blob" "$extra/text/opt" "$extra/text/etc"
  for i in $(seq 1 500); do head -c 4096 /dev/urandom >"$extra/small/opt/app/f$i"; done
  head -c 52428800 /dev/urandom >"$extra/random/opt/blob/random50M.bin"
  seq 1 2000000 >"$extra/text/opt/seq.txt"
  echo "bench multi-layer image" >"$extra/text/etc/bench-release"
  touch "$extra/done"
fi

rm -rf "$OUT"
umoci init --layout "$OUT"
umoci new --image "$OUT:multi"
umoci insert --image "$OUT:multi" "$deb" /
umoci insert --image "$OUT:multi" "$extra/small/opt/app" /opt/app
umoci insert --image "$OUT:multi" "$extra/random/opt/blob" /opt/blob
# umoci 0.4.7 ends every inserted layer right after the last file's data (no padding, no
# end-of-archive blocks); muelle accepts that as docker and podman do (Python's tarfile and
# GNU tar do not).
umoci insert --image "$OUT:multi" "$extra/text/opt" /opt
umoci config --image "$OUT:multi" --config.env BENCH=1 --config.cmd /bin/bash
# umoci config leaves the old manifest behind under no name; gc drops it.
umoci gc --layout "$OUT"
log "built $OUT:multi ($(du -sh "$OUT" | cut -f1))"
