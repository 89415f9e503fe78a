#!/usr/bin/env bash
# setup.sh: everything a fresh Debian 12 machine (root) needs, then the main job on embedded
# defaults: build muelle, make the busybox bundle from Debian's busybox-static and run it
# with muelle-runtime, then load the busybox image (built from the same busybox-static) into
# the engine as busybox:latest with the muelle CLI, which starts muelled on first use, and
# run a container from it through muelled (`muelle run --rm busybox`). No
# registry is needed.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP"
log() { printf 'setup: %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { log "run as root (namespaces, cgroups and mounts need it)"; exit 1; }

need="pkg-config libseccomp-dev busybox-static file python3"
missing=""
for p in $need; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  log "installing$missing"
  apt-get update -q >/dev/null
  apt-get install -y -q $missing >/dev/null
fi
# The group whose members may use the daemon's socket (root:muelle 0660), as Docker's
# packages create the docker group.
getent group muelle >/dev/null || groupadd --system muelle
command -v cargo >/dev/null || { log "cargo not found: install a Rust toolchain (rustup)"; exit 1; }

log "building (release, static)"
bin=$("$TOP/scripts/build.sh")
install -m 0755 "$bin/muelle-runtime" "$bin/muelle-init" "$bin/muelle-shim" "$bin/muelle" "$bin/muelled" /usr/local/bin/

bundle=/var/lib/muelle/bundles/busybox
log "busybox bundle in $bundle"
"$TOP/scripts/busybox-rootfs.sh" "$bundle/rootfs"
rm -f "$bundle/config.json"
(cd "$bundle" && muelle-runtime spec)
python3 - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "echo \"hello from muelle: $(hostname), pid $$, $(id)\"; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status"]
json.dump(c, open(p, "w"), indent=2)
PY
log "running it"
muelle-runtime run --bundle "$bundle" "setup-demo-$$"

log "loading the busybox image into muelled as busybox:latest"
img=$(mktemp -d)
trap 'rm -rf "$img"' EXIT
"$TOP/scripts/busybox-image.sh" "$img/layout" >/dev/null
tar -C "$img/layout" -cf "$img/busybox.tar" .
# A muelled started by an older setup keeps running the old binary: restart it.
if [ -f /run/muelle/muelled.pid ] && kill -0 "$(cat /run/muelle/muelled.pid)" 2>/dev/null; then
  # Wait for the process itself: it removes its socket before it lets go of the data
  # root's lock, and a new daemon started in between finds the data root in use.
  old=$(cat /run/muelle/muelled.pid)
  kill "$old"
  for _ in $(seq 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
fi
muelle load -i "$img/busybox.tar"
muelle images
log "running a container through muelled: muelle run --rm busybox"
muelle run --rm --network none busybox sh -c 'echo "hello from a muelle container: $(hostname), $(id)"'
