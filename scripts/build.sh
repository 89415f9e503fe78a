#!/usr/bin/env bash
# build.sh: the release binaries in target/x86_64-unknown-linux-gnu/release/: muelle-runtime,
# muelle-init and muelle-shim statically linked (glibc and libseccomp), muelle and muelled
# beside them. Static because muelle-init is injected into containers whose images have no
# glibc, because muelle-runtime is executed twice per container (once more through a
# read-only view of itself) and dynamic loading showed up in bench/runtime.sh, and because a
# static supervisor has no loader relocations: its private memory is what one container
# costs. Non-PIE (relocation-model=static): a static-pie binary relocates itself at every
# start (15 000 relocations, a copy-on-write fault for each page of .data.rel.ro), twice per
# `run`; without PIE the runtime's `run` took ~135 fewer page faults and ~0.6 ms less CPU in
# bench/runtime.sh. The price is a fixed load address for these binaries' own code (the heap,
# stack and mmaps stay randomised), as for Debian's runc and Go binaries generally.
# Prints the binaries' directory.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP"
TRIPLE=x86_64-unknown-linux-gnu
# --target keeps RUSTFLAGS away from build scripts and proc-macros, which cannot be static.
LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH=/usr/lib/x86_64-linux-gnu \
  RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
  cargo build --release --quiet --target "$TRIPLE" -p muelle-runtime -p muelle-supervisor >&2
# The daemon and the CLI link glibc dynamically: a static glibc cannot use NSS (getaddrinfo
# for registry hosts, getpwnam), and they are long-lived or run once per command, so the
# loader's cost does not matter the way it does for the runtime. They are copied beside the
# runtime so one directory holds the whole set.
cargo build --release --quiet -p muelle-cli -p muelle-api >&2
install -m 0755 "$TOP/target/release/muelle" "$TOP/target/release/muelled" "$TOP/target/$TRIPLE/release/"
echo "$TOP/target/$TRIPLE/release"
