#!/usr/bin/env bash
# test.sh: installs what the tests need (Debian packages: the peers docker, podman, runc,
# crun, skopeo, umoci...), builds once, and runs every test: formatting and lints, the unit
# and integration tests (cargo-nextest, real namespaces and cgroups: run as root), and the
# interop tests with the stock docker and podman clients, and the OCI runtime-tools validation
# suite against crun.
set -uo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP"
log() { printf 'test: %s\n' "$*" >&2; }
fail=0

bash scripts/setup.sh >/dev/null || { log "setup failed"; exit 1; }
scripts/peers.sh install || log "could not install the peers: interop cases will be skipped"

log "cargo fmt --check"
cargo fmt --all -- --check || { log "formatting differs: run cargo fmt --all"; fail=1; }
log "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings || fail=1

log "interop tests (docker, podman, runc, crun)"
bin=$("$TOP/scripts/build.sh")
export MUELLE_STATIC_BIN_DIR="$bin"
MUELLE_RUNTIME_BIN="$bin/muelle-runtime" bash tests/interop/runtime.sh || fail=1
log "OCI runtime-tools validation suite (every assertion crun passes)"
MUELLE_RUNTIME_BIN="$bin/muelle-runtime" bash tests/interop/runtime-tools.sh || fail=1

log "unit and integration tests"
if command -v cargo-nextest >/dev/null; then
  cargo nextest run --workspace --no-fail-fast || fail=1
else
  cargo test --workspace --no-fail-fast || fail=1
fi
exit $fail
