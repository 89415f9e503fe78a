#!/usr/bin/env bash
# host-kinds.sh [table|missing|filter]: which host kinds the tests need this machine has, and
# the nextest filterset that leaves out the tests it cannot run (nextest then reports them as
# skipped). The one place that maps test names to host kinds; scripts/test.sh uses it, and
# so can a developer: cargo nextest run -E "$(bash scripts/host-kinds.sh filter)".
#
# A test that needs something beyond root and the build deps says so in its name: a path
# segment that is, or ends with, `needs_` followed by kinds joined by `_`, e.g.
#   pull_and_push_with_a_local_registry_needs_docker_registry_skopeo
#   needs_dockerd::dockerd::check_images   (the CLI tests' module per daemon)
# The kinds (one word each):
#   cgroupv1  the cgroup v1 memory, pids and freezer hierarchies (v1 or hybrid hosts)
#   memcg     a memory controller where containers' cgroups go: the v1 hierarchy, or
#             `memory` in cgroup.controllers of a unified v2 /sys/fs/cgroup
#   docker    the docker CLI (Debian's docker.io)
#   dockerd   the shared dockerd of scripts/peers.sh up, with busybox:latest (implies docker)
#   registry  docker-registry and htpasswd (apache2-utils)
#   skopeo    skopeo
#   umoci     umoci
#   dockerpy  python3-docker
#   compose   docker-compose (Debian's 1.29)
#   openssl   the openssl CLI
# Inside a test, a missing kind is a failure with the reason, never a quiet pass.
#
# MUELLE_TEST_WITHOUT="kind ..." treats those kinds as missing (say, to keep off a dockerd
# someone else runs).
#
# With CI set, `filter` and `missing` fail (exit 1) when any kind is missing, except
# cgroupv1 on a unified cgroup v2 host (which cannot have it) and memcg on a cgroup v2 view
# without controllers: CI machines have every peer.
set -uo pipefail
DOCKERD_HOST=unix:///var/run/docker.sock
KINDS="cgroupv1 memcg docker dockerd registry skopeo umoci dockerpy compose openssl"

has() {
  case " ${MUELLE_TEST_WITHOUT:-} " in *" $1 "*) return 1 ;; esac
  case $1 in
    cgroupv1) [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ] && [ -d /sys/fs/cgroup/pids ] \
                && [ -d /sys/fs/cgroup/freezer ] ;;
    memcg) if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
             grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null
           else
             [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]
           fi ;;
    docker) [ -x /usr/bin/docker ] ;;
    dockerd) [ -x /usr/bin/docker ] \
               && timeout 30 /usr/bin/docker -H "$DOCKERD_HOST" image inspect busybox:latest >/dev/null 2>&1 ;;
    registry) [ -x /usr/bin/docker-registry ] && [ -x /usr/bin/htpasswd ] ;;
    skopeo) [ -x /usr/bin/skopeo ] ;;
    umoci) [ -x /usr/bin/umoci ] ;;
    dockerpy) [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import docker' >/dev/null 2>&1 ;;
    compose) [ -x /usr/bin/docker-compose ] ;;
    openssl) [ -x /usr/bin/openssl ] ;;
    *) echo "host-kinds: unknown kind $1" >&2; return 2 ;;
  esac
}

# Whether CI may run without this kind: only cgroup v1 on a unified v2 host, and a memory
# controller on a v2 view without controllers (scripts/test.sh's second runtime run on a
# hybrid host mounts cgroup2 alone; the v1 hierarchies hold the controllers).
excusable() {
  [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] || return 1
  case $1 in
    cgroupv1) return 0 ;;
    memcg) ! grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null ;;
    *) return 1 ;;
  esac
}

# The filterset of the tests that need kind $1.
kind_set() {
  local v
  v=$(echo "$KINDS" | tr ' ' '|')
  printf 'test(/(^|::|_)needs(_(%s))*_%s(_(%s))*(::|$)/)' "$v" "$1" "$v"
}

missing=""
for k in $KINDS; do has "$k" || missing="$missing $k"; done
missing=${missing# }

ci_check() {
  local k bad=""
  [ -n "${CI:-}" ] || return 0
  for k in $missing; do excusable "$k" || bad="$bad $k"; done
  if [ -n "$bad" ]; then
    echo "host-kinds: CI is set and this machine lacks:$bad (bash scripts/peers.sh up provides the peers)" >&2
    return 1
  fi
}

case ${1:-table} in
  table)
    for k in $KINDS; do
      if has "$k"; then echo "$k yes"; else echo "$k no"; fi
    done ;;
  missing) ci_check || exit 1; echo "$missing" ;;
  filter)
    ci_check || exit 1
    if [ -z "$missing" ]; then echo 'all()'; exit 0; fi
    expr=""
    for k in $missing; do expr="$expr${expr:+ | }$(kind_set "$k")"; done
    echo "not ($expr)" ;;
  *) echo "usage: host-kinds.sh [table|missing|filter]" >&2; exit 2 ;;
esac
