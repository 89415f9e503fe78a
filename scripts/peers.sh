#!/usr/bin/env bash
# peers.sh up|down: install and start the real peers the interop tests use (containerd +
# dockerd with muelle-runtime registered as the runtime "muelle", podman), with the host
# fixes this VM needs, and import the locally built busybox image into both.
# Idempotent; everything listens on unix sockets only. State of what it started: $PEERS_RUN.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
PEERS_RUN=${PEERS_RUN:-/run/muelle-peers}
RUNTIME=${MUELLE_RUNTIME_BIN:-$TOP/target/x86_64-unknown-linux-gnu/release/muelle-runtime}
mkdir -p "$PEERS_RUN"
log() { printf 'peers: %s\n' "$*" >&2; }

install() {
  local want="docker.io containerd podman runc crun busybox-static skopeo docker-registry umoci iproute2 uidmap catatonit python3-docker apache2-utils openssl tmux jq docker-compose iperf3 nftables util-linux gcc-12 libc6-dev binutils"
  local missing=""
  for p in $want; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  [ -z "$missing" ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  log "installing$missing"
  apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null
}

host_fixes() {
  # No CAP_SYS_RESOURCE in the bounding set here: podman's default rlimits cannot be set.
  if [ ! -e /etc/containers/containers.conf ]; then
    mkdir -p /etc/containers
    cat >/etc/containers/containers.conf <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  fi
  # Hybrid cgroups: controllers left on the v2 mount (hugetlb) get their own v1 hierarchy,
  # which crun and podman need.
  if [ -r /sys/fs/cgroup/unified/cgroup.controllers ]; then
    for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
      mkdir -p "/sys/fs/cgroup/$c"
      mountpoint -q "/sys/fs/cgroup/$c" || mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
    done
  fi
}

start_docker() {
  if ! [ -S /run/containerd/containerd.sock ] || ! pgrep -x containerd >/dev/null; then
    setsid /usr/bin/containerd </dev/null >"$PEERS_RUN/containerd.log" 2>&1 &
    echo $! >"$PEERS_RUN/containerd.pid"
    for _ in $(seq 50); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.2; done
  fi
  mkdir -p /etc/docker
  cat >"$PEERS_RUN/daemon.json" <<JSON
{"storage-driver": "overlay2", "runtimes": {"muelle": {"path": "$RUNTIME"}, "crun": {"path": "/usr/bin/crun"}}}
JSON
  if ! /usr/bin/docker -H unix:///run/docker.sock info >/dev/null 2>&1; then
    setsid /usr/sbin/dockerd --config-file "$PEERS_RUN/daemon.json" --containerd=/run/containerd/containerd.sock \
      </dev/null >"$PEERS_RUN/dockerd.log" 2>&1 &
    echo $! >"$PEERS_RUN/dockerd.pid"
    for _ in $(seq 150); do /usr/bin/docker info >/dev/null 2>&1 && break; sleep 0.2; done
  fi
  /usr/bin/docker info >/dev/null 2>&1 || { tail -20 "$PEERS_RUN/dockerd.log" >&2; log "dockerd did not start"; return 1; }
}

images() {
  local rootfs="$PEERS_RUN/busybox-rootfs"
  [ -x "$rootfs/bin/busybox" ] || "$HERE/busybox-rootfs.sh" "$rootfs"
  if ! /usr/bin/docker image inspect busybox:latest >/dev/null 2>&1; then
    tar -C "$rootfs" -c . | /usr/bin/docker import -c 'CMD ["/bin/sh"]' - busybox:latest >/dev/null
  fi
  if ! podman image exists busybox:latest 2>/dev/null; then
    tar -C "$rootfs" -c . | podman import -c 'CMD ["/bin/sh"]' - busybox:latest >/dev/null
  fi
}

down() {
  for d in dockerd containerd; do
    if [ -f "$PEERS_RUN/$d.pid" ]; then
      kill "$(cat "$PEERS_RUN/$d.pid")" 2>/dev/null || true
      rm -f "$PEERS_RUN/$d.pid"
    fi
  done
}

case "${1:-up}" in
  up) install; host_fixes; start_docker; images; log "docker and podman ready (runtime muelle = $RUNTIME)" ;;
  install) install ;;
  down) down ;;
  *) echo "usage: peers.sh up|install|down" >&2; exit 2 ;;
esac
