#!/usr/bin/env bash
# build.sh: the release binaries, statically linked (glibc and libseccomp), in
# target/x86_64-unknown-linux-gnu/release/. Static because muelle-init is injected into
# containers whose images have no glibc, and because muelle-runtime is executed twice per
# container (once more through a read-only view of itself) and dynamic loading showed up in
# bench/runtime.sh. Prints the binaries' directory.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP"
TRIPLE=x86_64-unknown-linux-gnu
# --target keeps RUSTFLAGS away from build scripts and proc-macros, which cannot be static.
LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH=/usr/lib/x86_64-linux-gnu \
  RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --quiet --target "$TRIPLE" -p muelle-runtime >&2
echo "$TOP/target/$TRIPLE/release"
