#!/usr/bin/env bash
# tests/interop/runtime-tools.sh: the OCI runtime-tools validation suite against crun and
# muelle-runtime. Every assertion crun passes, muelle-runtime must pass too.
#
# Everything comes from Debian. golang-go, crun, golang-github-opencontainers-runtime-tools-dev
# and golang-github-google-uuid-dev are installed with apt-get. The -dev package only ships the
# library half of runtime-tools: validation/, cmd/runtimetest and rootfs-amd64.tar.gz are
# missing. So runtime-tools' Debian *source* package is fetched with
# `apt-get source --download-only` (apt checks it against the signed Sources index). It goes
# through a private deb-src list and lists directory, so the system's apt setup is left alone.
# The source is kept in $RTOOLS_CACHE. The one import Debian does not package,
# github.com/mndrix/tap-go, is stood in for by tests/interop/runtime-tools/tap.go. The
# validation binaries (`validation/*/`, as the Makefile's validation-executables target
# builds them) and the static runtimetest are built offline in GOPATH mode:
# GO111MODULE=off GOPATH=<temp>:/usr/share/gocode.
#
# Each binary runs with RUNTIME set to a wrapper that gives the runtime a --root of its own.
# crun and muelle-runtime take turns on each binary, the first one alternating, and each run
# gets CASE_TIMEOUT seconds. The assertions of a binary are
#   - each TAP test point, named by its description and how many times that description has
#     already appeared (a `# SKIP` or `# TODO` point is never counted as passed);
#   - "exit status 0". A binary that prints no test point needs "and no error diagnostic" as
#     well: the hooks tests only report through a YAML block, the *_fail tests only through
#     their exit status.
# The closing line is "N passed, N failed, N skipped":
#   passed  = assertions crun passes and muelle-runtime passes;
#   failed  = assertions crun passes and muelle-runtime fails or never prints;
#   skipped = assertions crun fails or skips too. This includes every assertion of a binary
#             whose crun run exits non-zero: the binary failed as a whole for crun (for a
#             *_fail test, the test points it printed belong to a container it expected to be
#             refused).
# Some validation tests are racy for any runtime. killsig sends the signal as soon as `state`
# says running, and sh may not have installed its trap yet. poststart races the hook's echo
# against the process's echo. So a binary where muelle-runtime fails assertions is run again
# with muelle-runtime, up to RETRIES more times. An assertion that passes on a retry counts as
# passed, and its line is marked "flaky".
# Exits 1 on any failure.
#
# Environment:
#   MUELLE_RUNTIME_BIN  the runtime. Default: the static release build of scripts/build.sh,
#                       built here.
#   CRUN_BIN            default: crun on PATH
#   CASE_TIMEOUT        seconds for one run of one binary. Default 60.
#   RETRIES             default 2
#   ONLY                a regex; only the binaries whose names match it are run
#   RTOOLS_CACHE        keeps the source package and Go's build cache.
#                       Default /var/cache/muelle/runtime-tools.
#   KEEP=1              keep the work directory (outputs of every run), and print where it is
# Needs root. Creates everything under a mktemp directory (the bundles, both runtimes' --root,
# the GOPATH) and removes it on exit. Before that it runs `delete -f` on any container left in
# either root and unmounts whatever a container left mounted in a bundle. It also removes the
# empty cgroups named cgrouptest that the validation tests ask for.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
export LC_ALL=C.UTF-8
T=${CASE_TIMEOUT:-60}
RETRIES=${RETRIES:-2}
ONLY=${ONLY:-}
CACHE=${RTOOLS_CACHE:-/var/cache/muelle/runtime-tools}
SRCPKG=golang-github-opencontainers-runtime-tools
# The source version this script was written against (Debian's 0.9.0.109.ge931285-1, in
# trixie and sid): it builds with bookworm's Go 1.19 and -dev packages. The installed -dev
# package's own version is tried first, then this one, then whatever else the Sources lists
# offer.
KNOWN_GOOD=0.9.0.109.ge931285-1
PKGS=(golang-go "$SRCPKG-dev" golang-github-google-uuid-dev crun)
WORK=$(mktemp -d /tmp/muelle-rtools.XXXXXX)
T0=$(date +%s)

RT=${MUELLE_RUNTIME_BIN:-}
CRUN=${CRUN_BIN:-}

log() { printf '# %s\n' "$*"; }
# fatal WHY: the suite could not be set up; that is a failure, never a skip
fatal() {
  echo "not ok - setup: $*"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
}

# ------------------------------------------------------------------ cleanup
# delete_all ROOT BIN: delete -f every container in ROOT
delete_all() {
  local root=$1 bin=$2 id ids
  [ -d "$root" ] || return 0
  ids=$(timeout 20 "$bin" --root "$root" list -q 2>/dev/null)
  # both runtimes keep one directory per container under --root
  ids=$(printf '%s\n' $ids $(ls -A "$root" 2>/dev/null) | sort -u)
  for id in $ids; do
    case $id in *.lock|*.json) continue ;; esac
    timeout 30 "$bin" --root "$root" delete -f "$id" >/dev/null 2>&1
  done
}
# The validation tests ask for the cgroups /cgrouptest and testdir/cgrouptest (relative to the
# caller's cgroup). The runtimes remove the leaf they created but, like runc, not its parents.
# Only empty ones are removed (rmdir).
clean_cgroups() {
  local d
  while IFS= read -r d; do
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    case $d in */testdir/cgrouptest) rmdir "${d%/cgrouptest}" 2>/dev/null ;; esac
  done < <(find /sys/fs/cgroup -type d -name cgrouptest -prune 2>/dev/null)
}
# unmount_under DIR: a container without a mount namespace of its own (linux_ns_itype) has its
# /proc, /sys and /dev mounted in the host's namespace, inside its bundle. crun leaves them
# there after delete. They go before any rm -rf, or rm would walk into them (or into a bind
# mount of a host directory).
unmount_under() {
  local m
  awk -v d="$1/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r \
    | while read -r m; do umount -l "$m" 2>/dev/null; done
}
# remove DIR: unmount what is below it, then remove it without crossing into another filesystem
remove() {
  unmount_under "$1"
  rm -rf --one-file-system "$1" 2>/dev/null
}
cleanup() {
  [ -n "$RT" ] && delete_all "$WORK/root-muelle" "$RT"
  [ -n "$CRUN" ] && delete_all "$WORK/root-crun" "$CRUN"
  clean_cgroups
  if [ "${KEEP:-}" = 1 ]; then
    unmount_under "$WORK"
    echo "# kept $WORK" >&2
  else
    remove "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || fatal "needs root"

# ------------------------------------------------------------------ install (Debian only)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}"; } \
    >"$WORK/apt-install.log" 2>&1 \
    || fatal "apt-get install ${missing[*]} failed: $(tail -3 "$WORK/apt-install.log" | tr '\n' ' ')"
fi
[ -n "$CRUN" ] || CRUN=$(command -v crun) || fatal "no crun after installing it"
GO=$(command -v go || echo /usr/lib/go/bin/go)
[ -x "$GO" ] || fatal "no go after installing golang-go"

# ------------------------------------------------------------------ the runtime under test
if [ -z "$RT" ]; then
  log "building muelle-runtime (scripts/build.sh)"
  BINDIR=$("$TOP/scripts/build.sh" 2>"$WORK/build.log") \
    || fatal "scripts/build.sh failed: $(tail -3 "$WORK/build.log" | tr '\n' ' ')"
  RT=$BINDIR/muelle-runtime
fi
case $RT in /*) ;; *) RT=$(cd "$(dirname "$RT")" && pwd)/$(basename "$RT") ;; esac
[ -x "$RT" ] || fatal "$RT is not executable"

# ------------------------------------------------------------------ runtime-tools' source
# fetch_source: the path of an orig tarball of runtime-tools that has validation/, fetched once
# into $CACHE/src
fetch_source() {
  local have f v a=$WORK/apt codename suites versions
  mkdir -p "$CACHE/src"
  for f in "$CACHE"/src/"${SRCPKG}"_*.orig.tar.*; do
    [ -f "$f" ] && tar tf "$f" 2>/dev/null | grep -q '/validation/util/test.go$' && { echo "$f"; return 0; }
  done
  mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/parts" "$a/dl"
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  suites=$(printf '%s\n' "$codename" trixie sid | awk '!seen[$0]++' | tr '\n' ' ')
  cat >"$a/src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suites
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  local opts=(-o "Dir::Etc::SourceList=$a/src.sources" -o "Dir::Etc::SourceParts=$a/parts"
    -o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a/cache" -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" -qq update >"$a/update.log" 2>&1 \
    || { echo "apt-get update (deb-src) failed: $(tail -2 "$a/update.log" | tr '\n' ' ')" >&2; return 1; }
  have=$(dpkg-query -W -f='${Version}' "$SRCPKG-dev" 2>/dev/null)
  versions=$( { echo "$have"; echo "$KNOWN_GOOD";
    apt-cache "${opts[@]}" showsrc "$SRCPKG" 2>/dev/null | awk '/^Version:/ {print $2}'; } \
    | awk 'NF && !seen[$0]++')
  for v in $versions; do
    rm -f "$a"/dl/*
    # a missing .dsc or debian.tar does not matter: only the orig tarball is used, and apt
    # checks each file it gets against the Sources index
    (cd "$a/dl" && apt-get "${opts[@]}" -qq source --download-only "$SRCPKG=$v" >>"$a/source.log" 2>&1)
    for f in "$a"/dl/"${SRCPKG}"_*.orig.tar.*; do
      [ -f "$f" ] || continue
      case $f in *.asc) continue ;; esac
      if tar tf "$f" 2>/dev/null | grep -q '/validation/util/test.go$'; then
        mv "$f" "$CACHE/src/" && echo "$CACHE/src/${f##*/}" && return 0
      fi
    done
  done
  echo "no source of $SRCPKG with validation/ could be fetched (tried: $(echo $versions)): $(grep -E '^(E|W):' "$a/source.log" | tail -2 | tr '\n' ' ')" >&2
  return 1
}
log "runtime-tools source"
SRC_TAR=$(fetch_source 2>"$WORK/fetch.err") || fatal "$(cat "$WORK/fetch.err")"
log "using ${SRC_TAR##*/}"

# ------------------------------------------------------------------ build (offline, GOPATH)
GP=$WORK/gopath
RTSRC=$GP/src/github.com/opencontainers/runtime-tools
mkdir -p "$RTSRC" "$GP/src/github.com/mndrix/tap-go" "$WORK/tests" "$WORK/run" "$CACHE/gocache"
tar xf "$SRC_TAR" -C "$RTSRC" --strip-components=1 || fatal "cannot unpack $SRC_TAR"
cp "$HERE/runtime-tools/tap.go" "$GP/src/github.com/mndrix/tap-go/tap.go"
export GO111MODULE=off GOPATH="$GP:/usr/share/gocode" GOFLAGS= GOCACHE="$CACHE/gocache" \
  GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=0
log "building the validation binaries ($("$GO" version | awk '{print $3}'))"
(cd "$RTSRC" && "$GO" build -tags "netgo osusergo" -o "$WORK/run/runtimetest" ./cmd/runtimetest) \
  >"$WORK/go-build.log" 2>&1 || fatal "go build runtimetest failed: $(tail -5 "$WORK/go-build.log" | tr '\n' ' ')"
# Older layouts have validation/*.go, one test per file. Newer ones have one package per test
# in validation/*/, next to the shared validation/util.
if compgen -G "$RTSRC/validation/*/*.go" >/dev/null; then
  pkgs=$(cd "$RTSRC" && for d in validation/*/; do d=${d%/}; [ "$d" = validation/util ] || echo "./$d"; done)
  # shellcheck disable=SC2086
  if ! (cd "$RTSRC" && "$GO" build -o "$WORK/tests/" $pkgs) >>"$WORK/go-build.log" 2>&1; then
    # one package that does not build must not take the others with it
    for p in $pkgs; do
      (cd "$RTSRC" && "$GO" build -o "$WORK/tests/${p##*/}" "$p") >>"$WORK/go-build.log" 2>&1 \
        || echo "${p##*/}" >>"$WORK/unbuilt"
    done
  fi
else
  for f in "$RTSRC"/validation/*.go; do
    n=$(basename "$f" .go)
    (cd "$RTSRC" && "$GO" build -o "$WORK/tests/$n" "$f") >>"$WORK/go-build.log" 2>&1 \
      || echo "$n" >>"$WORK/unbuilt"
  done
fi
[ -n "$(ls -A "$WORK/tests")" ] || fatal "no validation binary built: $(tail -5 "$WORK/go-build.log" | tr '\n' ' ')"
# The binaries untar rootfs-$GOARCH.tar.gz from their working directory and copy runtimetest
# into each bundle.
ARCH=$("$GO" env GOARCH)
if [ -f "$RTSRC/rootfs-$ARCH.tar.gz" ]; then
  cp "$RTSRC/rootfs-$ARCH.tar.gz" "$WORK/run/"
else
  log "no rootfs-$ARCH.tar.gz in the source: building one from busybox-static"
  bash "$TOP/scripts/busybox-rootfs.sh" "$WORK/rootfs" >"$WORK/rootfs.log" 2>&1 \
    || fatal "busybox-rootfs.sh failed: $(tail -2 "$WORK/rootfs.log" | tr '\n' ' ')"
  tar czf "$WORK/run/rootfs-$ARCH.tar.gz" -C "$WORK/rootfs" . || fatal "cannot pack the rootfs"
fi
log "built $(ls "$WORK/tests" | wc -l) binaries in $(( $(date +%s) - T0 ))s"

# ------------------------------------------------------------------ running
mkdir -p "$WORK/out" "$WORK/root-crun" "$WORK/root-muelle"
for r in crun muelle; do
  bin=$CRUN; [ $r = muelle ] && bin=$RT
  # LIBC_FATAL_STDERR_: a glibc abort message goes to the captured stderr, not to /dev/tty
  printf '#!/bin/sh\nLIBC_FATAL_STDERR_=1 exec %q --root %q "$@"\n' "$bin" "$WORK/root-$r" >"$WORK/rt-$r"
  chmod +x "$WORK/rt-$r"
done

# run_one BINARY RUNTIME ATTEMPT: runs it; leaves out/B.R.A.{out,err,rc}
run_one() {
  local b=$1 r=$2 n=$3 base=$WORK/out/$1.$2.$3 tmp=$WORK/tmp/$1.$2.$3 rc bin=$CRUN
  [ "$r" = muelle ] && bin=$RT
  mkdir -p "$tmp"
  (cd "$WORK/run" && RUNTIME="$WORK/rt-$r" TMPDIR="$tmp" \
    timeout -k 10 "$T" "$WORK/tests/$b" </dev/null >"$base.out" 2>"$base.err")
  rc=$?
  echo "$rc" >"$base.rc"
  delete_all "$WORK/root-$r" "$bin"
  remove "$tmp"
}

# assertions FILE_BASE: "status<TAB>key" lines, status ok|notok|skip
assertions() {
  local base=$1
  awk -v rc="$(cat "$base.rc")" '
    /^(not )?ok([ \t]|$)/ {
      st = ($0 ~ /^not ok/) ? "notok" : "ok"
      d = $0
      sub(/^(not )?ok[ \t]*[0-9]*[ \t]*/, "", d)
      if (d ~ /^#[ \t]*[Ss][Kk][Ii][Pp]/) st = "skip"
      else if (d ~ /#[ \t]*[Tt][Oo][Dd][Oo]/) st = "skip"
      sub(/^-[ \t]*/, "", d)
      # random temporary names must not split one assertion in two
      gsub(/[0-9][0-9][0-9][0-9][0-9]+/, "N", d)
      gsub(/\t/, " ", d)
      k = d " #" (++seen[d])
      printf "%s\t%s\n", st, k
      points++
      next
    }
    /^  ---/ { yaml = 1 }
    END {
      if (points > 0) printf "%s\t%s\n", (rc == 0 ? "ok" : "notok"), "(exit status 0)"
      else printf "%s\t%s\n", (rc == 0 && !yaml ? "ok" : "notok"), "(exit status 0, no error diagnostic)"
    }' "$base.out"
}

# why BASE: a short reason for the failed run, from its diagnostics and stderr
why() {
  local base=$1 rc
  rc=$(cat "$base.rc")
  { [ "$rc" = 124 ] || [ "$rc" = 137 ] && echo "timed out after ${T}s"
    [ "$rc" != 0 ] && echo "exit status $rc"
    grep -h -E '"(error|stderr)":' "$base.out" | head -2
    grep -v -E '^(TAP version|[0-9]+\.\.[0-9]+$)' "$base.err" | head -2
  } | sed 's/^ *//' | tr '\n' ' ' | cut -c1-300
}

P=0 F=0 S=0
declare -a FAILS=() FLAKY=()
mapfile -t BINS < <(ls "$WORK/tests" | sort)
[ -f "$WORK/unbuilt" ] && while read -r u; do log "did not build: $u (see go build output)"; done <"$WORK/unbuilt"
printf '# %-34s %12s %14s   %s\n' binary "crun ok/all" "muelle ok/all" "passed failed skipped"
i=0
for b in "${BINS[@]}"; do
  if [ -n "$ONLY" ] && ! [[ $b =~ $ONLY ]]; then continue; fi
  i=$((i+1))
  if [ $((i % 2)) = 1 ]; then run_one "$b" crun 1; run_one "$b" muelle 1
  else run_one "$b" muelle 1; run_one "$b" crun 1; fi
  declare -A C=() M=()
  declare -a KEYS=()
  cok=0 call=0 mok=0 mall=0
  while IFS=$'\t' read -r st k; do
    [ -n "${C[$k]+x}" ] && continue
    C[$k]=$st; KEYS+=("$k"); call=$((call+1)); [ "$st" = ok ] && cok=$((cok+1))
  done < <(assertions "$WORK/out/$b.crun.1")
  while IFS=$'\t' read -r st k; do
    M[$k]=$st; mall=$((mall+1)); [ "$st" = ok ] && mok=$((mok+1))
  done < <(assertions "$WORK/out/$b.muelle.1")
  crc=$(cat "$WORK/out/$b.crun.1.rc")
  p=0 f=0 s=0
  declare -a pend=()
  for k in "${KEYS[@]}"; do
    if [ "$crc" != 0 ] || [ "${C[$k]}" != ok ]; then s=$((s+1))
    elif [ "${M[$k]:-}" = ok ]; then p=$((p+1))
    else pend+=("$k"); fi
  done
  # retries: only the assertions muelle failed are looked at again
  n=1
  while [ ${#pend[@]} -gt 0 ] && [ $n -le "$RETRIES" ]; do
    n=$((n+1))
    run_one "$b" muelle $n
    declare -A R=()
    while IFS=$'\t' read -r st k; do R[$k]=$st; done < <(assertions "$WORK/out/$b.muelle.$n")
    declare -a still=()
    for k in "${pend[@]}"; do
      if [ "${R[$k]:-}" = ok ]; then p=$((p+1)); FLAKY+=("$b: $k (muelle passed it on run $n)")
      else still+=("$k"); fi
    done
    pend=("${still[@]}")
    unset R still
  done
  for k in "${pend[@]}"; do
    f=$((f+1))
    FAILS+=("$b: $k (crun ok, muelle ${M[$k]:-missing}: $(why "$WORK/out/$b.muelle.$n"))")
  done
  note=""
  [ "$crc" != 0 ] && note=" (crun: $(why "$WORK/out/$b.crun.1" | cut -c1-80))"
  printf '# %-34s %5s/%-6s %6s/%-7s   %6s %6s %7s%s\n' "$b" "$cok" "$call" "$mok" "$mall" "$p" "$f" "$s" "$note"
  P=$((P+p)) F=$((F+f)) S=$((S+s))
  unset C M KEYS pend
done

for l in "${FLAKY[@]}"; do echo "# flaky: $l"; done
for l in "${FAILS[@]}"; do echo "not ok - $l"; done
log "$(( $(date +%s) - T0 ))s in all; crun $("$CRUN" --version | head -1), muelle-runtime $RT"
echo "$P passed, $F failed, $S skipped"
[ "$F" = 0 ]
