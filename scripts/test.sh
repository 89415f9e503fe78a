#!/usr/bin/env bash
# test.sh: installs what the tests need (Debian packages: the peers docker, podman, runc,
# crun, skopeo, umoci...), builds once, and runs every test: formatting and lints, the unit
# and integration tests (cargo-nextest, real namespaces and cgroups: run as root), and the
# interop tests with the stock docker and podman clients, and the OCI runtime-tools validation
# suite against crun.
#
# Skips: a test never passes without running. Tests that need a host kind (cgroup v1, a
# peer; see scripts/host-kinds.sh) say so in their name, and the ones this host cannot run
# are left out by a nextest filter, so nextest counts them as skipped. With CI set nothing
# may be missing (the filter step fails instead), and a failed peer install, peer start or
# fixture always fails the run. MUELLE_TEST_PEERS=skip (not with CI) tests without
# installing or starting the peers: what they would provide is skipped.
set -uo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP" || exit 1
log() { printf 'test: %s\n' "$*" >&2; }
fail=0
CI=${CI:-}
peers=${MUELLE_TEST_PEERS:-up}
if [ -n "$CI" ] && [ "$peers" != up ]; then
  log "CI is set: MUELLE_TEST_PEERS=$peers ignored, the peers are installed and started"
  peers=up
fi

[ "$(id -u)" = 0 ] || { log "run as root (namespaces, cgroups, mounts and the peers need it)"; exit 1; }
bash scripts/setup.sh >/dev/null || { log "setup failed"; exit 1; }
if [ "$peers" = up ]; then
  scripts/peers.sh install || { log "could not install the peers (scripts/peers.sh install)"; exit 1; }
fi

log "cargo fmt --check"
cargo fmt --all -- --check || { log "formatting differs: run cargo fmt --all"; fail=1; }
log "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings || fail=1

bin=$("$TOP/scripts/build.sh") || { log "scripts/build.sh failed"; exit 1; }
export MUELLE_STATIC_BIN_DIR="$bin"

# The busybox image every daemon test starts from: a broken fixture fails the run here once,
# rather than in each test.
fixture=$(mktemp -d)
if ! scripts/busybox-image.sh "$fixture/layout" >/dev/null; then
  rm -rf "$fixture"
  log "the busybox image fixture failed (scripts/busybox-image.sh)"
  exit 1
fi
rm -rf "$fixture"

if [ "$peers" = up ]; then
  # dockerd (runtime "muelle" = this build) and podman, for the interop tests and the tests
  # against the shared dockerd.
  if ! MUELLE_RUNTIME_BIN="$bin/muelle-runtime" scripts/peers.sh up; then
    [ -z "$CI" ] || { log "scripts/peers.sh up failed"; exit 1; }
    log "scripts/peers.sh up failed: the tests that need dockerd are skipped"
  fi
fi

log "interop tests (docker, podman, runc, crun)"
MUELLE_RUNTIME_BIN="$bin/muelle-runtime" bash tests/interop/runtime.sh || fail=1
log "OCI runtime-tools validation suite (every assertion crun passes)"
MUELLE_RUNTIME_BIN="$bin/muelle-runtime" bash tests/interop/runtime-tools.sh || fail=1

log "host kinds (scripts/host-kinds.sh):"
bash scripts/host-kinds.sh table | sed 's/^/  /' >&2
filter=$(bash scripts/host-kinds.sh filter) || exit 1
[ "$filter" = 'all()' ] || log "left out (reported as skipped): tests that need:$(bash scripts/host-kinds.sh missing | sed 's/^/ /')"

log "unit and integration tests"
if command -v cargo-nextest >/dev/null; then
  cargo nextest run --workspace --no-fail-fast -E "$filter" || fail=1
else
  [ -z "$CI" ] || { log "CI is set and cargo-nextest is missing"; exit 1; }
  [ "$filter" = 'all()' ] || log "cargo test cannot leave tests out: the ones this host cannot run will fail"
  cargo test --workspace --no-fail-fast || fail=1
fi

# A hybrid (v1) host also runs the runtime and supervisor tests on a cgroup v2 view: a
# private mount namespace with the cgroup2 hierarchy on /sys/fs/cgroup (no controllers: the
# v1 hierarchies hold them), so the v2 code drives real containers here too.
if command -v cargo-nextest >/dev/null && [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] \
  && grep -qw cgroup2 /proc/filesystems; then
  log "runtime and supervisor tests on a cgroup v2 view of this host"
  # shellcheck disable=SC2016
  unshare --mount --propagation private sh -c '
    umount -l /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup || exit 1
    filter=$(bash scripts/host-kinds.sh filter) || exit 1
    exec cargo nextest run -p muelle-runtime -p muelle-supervisor --no-fail-fast -E "$filter"' \
    || fail=1
fi
exit $fail
