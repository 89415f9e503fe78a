#!/usr/bin/env bash
# bench/build.sh: the builder benchmark of issue #13. The same Dockerfiles built by
#   muelle          `muelle build` against a private muelled (started and stopped here)
#   docker_muelled  the docker CLI 28 (`DOCKER_BUILDKIT=0`, /usr/local/bin/docker) against
#                   that muelled: the legacy build protocol muelled serves
#   docker_bk       `DOCKER_BUILDKIT=1 docker build` (Debian's 20.10 CLI, no buildx plugin
#                   needed: dockerd's embedded BuildKit) against the running dockerd
#   docker_legacy   `DOCKER_BUILDKIT=0 docker build` (docker CLI 28) against dockerd
#   podman          `podman build --layers`
#   buildah         `buildah bud --layers`
# in three scenarios, interleaved round by round with the starting tool rotated:
#   cold     `--no-cache` (every step runs; the base images are local, nothing is pulled)
#   cached   the same context again, after a priming build: every step from the cache
#   onefile  one file copied near the end changed (new contents each round): the steps
#            from that COPY on run again
# on two contexts:
#   small    busybox: ENV, COPY of 200 small files and a 5 MiB file, four RUN steps, CMD
#   cprog    crates/api/tests/build/corpus/c-program: a static C program compiled with gcc
#            in a Debian stage (scripts/debian-image.sh, made from this host's packages and
#            imported into every engine) and copied into scratch
# Wall time of the CLI process ($EPOCHREALTIME around it; its progress output to a file); medians (with q1/q3) per tool,
# scenario and context, and the ratios muelle/docker_bk, muelle/docker_legacy and
# muelle/podman. Targets (issue #13): cached rebuild <= 0.3 x docker's, cold build <= 0.7 x
# docker's (docker = BuildKit, docker_bk).
#
# A benchmark, not a test: it asserts nothing. A tool whose build fails (muelle's, until
# the builder has landed) is shown as FAILED with the first line of its error in its
# column, and the others go on; the exit status is then 1. Nothing is pulled (--pull=never
# where the tool has it, and every base image is local). Cold builds use --no-cache; the
# daemons' other caches (dockerd's BuildKit cache, containers-storage) are shared with
# whatever else uses them and are not pruned here.
#
# Environment: ROUNDS (timed rounds, default 5), WARMUP (1), CASES ("small cprog"),
# TOOLS (default: all six above that are installed), MUELLE_BIN_DIR (default: the release
# build of scripts/build.sh, built here; it must hold muelle, muelled, muelle-shim,
# muelle-runtime), QUIET_PCT (20) and QUIET_MAX_WAIT (0 s; e.g. 300 waits, bounded, for a
# quiet machine before each context). Needs root. Leaves nothing behind: the images it
# tagged (by this run's name prefix) on every engine, muelled and its directories.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
export LC_ALL=C.UTF-8
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-1}
CASES=${CASES:-small cprog}
QUIET_PCT=${QUIET_PCT:-20}
QUIET_MAX_WAIT=${QUIET_MAX_WAIT:-0}
TAG=mbuild$$            # image name prefix of this run
DEBIAN=muelle-test-debian:v1
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

DOCKER=/usr/bin/docker          # Debian's 20.10 CLI: BuildKit without buildx
DOCKER28=/usr/local/bin/docker  # docker CLI 28: the legacy builder with DOCKER_BUILDKIT=0
PODMAN=/usr/bin/podman
BUILDAH=/usr/bin/buildah
unset DOCKER_HOST CONTAINER_HOST DOCKER_BUILDKIT

if [ -n "${MUELLE_BIN_DIR:-}" ]; then BIN=$MUELLE_BIN_DIR; else
  log "scripts/build.sh (release build)"; BIN=$("$TOP/scripts/build.sh") || die "build failed"; fi
BIN=$(cd "$BIN" && pwd)
for b in muelle muelled muelle-shim muelle-runtime; do
  [ -x "$BIN/$b" ] || die "$BIN has no $b"
done

W=$(mktemp -d /var/tmp/muelle-build-bench.XXXXXX)
R=$(mktemp -d /run/muelle-bb.XXXXXX)
SOCK=$R/muelled.sock
MD_PID=""
M() { "$BIN/muelle" -H "unix://$SOCK" "$@"; }
HAVE_DOCKER=0 HAVE_PODMAN=0 HAVE_BUILDAH=0

cleanup() {
  local p m
  set +e
  if [ $HAVE_DOCKER = 1 ]; then
    $DOCKER images --format '{{.Repository}}:{{.Tag}}' | grep "^$TAG-" | xargs -r $DOCKER rmi -f >/dev/null 2>&1
    drop_ids $DOCKER "$W/ids.docker"
  fi
  if [ $HAVE_PODMAN = 1 ] || [ $HAVE_BUILDAH = 1 ]; then
    $PODMAN images --format '{{.Repository}}:{{.Tag}}' | grep "/$TAG-" | xargs -r $PODMAN rmi -f >/dev/null 2>&1
    drop_ids $PODMAN "$W/ids.podman"
  fi
  if [ -n "$MD_PID" ]; then
    kill "$MD_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$MD_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$MD_PID" 2>/dev/null; wait "$MD_PID" 2>/dev/null
  fi
  # shims of this muelled that outlived it (a RUN step's container): by PID, found by the
  # exec root in their command line
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = muelle-shim ] || continue
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$R/" || continue
    log "cleanup: killing leftover muelle-shim ${p#/proc/}"; kill -KILL "${p#/proc/}"
  done
  for m in $(awk -v w="$W" -v r="$R" 'index($2, w) == 1 || index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m"
  done
  rm -rf "$W" "$R"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cpu_busy_pct() {
  local a b c d e f g h t1 i1 t2 i2
  read -r _ a b c d e f g h _ </proc/stat; t1=$((a+b+c+d+e+f+g+h)); i1=$((d+e))
  sleep 1
  read -r _ a b c d e f g h _ </proc/stat; t2=$((a+b+c+d+e+f+g+h)); i2=$((d+e))
  echo $(( 100 * ((t2-t1) - (i2-i1)) / (t2-t1 > 0 ? t2-t1 : 1) ))
}
declare -a LOADS=()
note_load() { # note_load SECTION: waits (bounded by QUIET_MAX_WAIT) and records the load
  local waited=0 b
  while :; do
    b=$(cpu_busy_pct)
    { [ "$b" -le "$QUIET_PCT" ] || [ "$waited" -ge "$QUIET_MAX_WAIT" ]; } && break
    sleep 4; waited=$((waited+5))
  done
  LOADS+=("$(printf '%-10s CPU %3s%% busy;%s' "$1:" "$b" "$(uptime | sed 's/.*,  *load/ load/')")")
  log "${LOADS[-1]}"
}

# ------------------------------------------------------------------ engines and images
if [ -x $DOCKER ] && [ -x $DOCKER28 ] && $DOCKER version >/dev/null 2>&1; then
  HAVE_DOCKER=1
  $DOCKER image inspect busybox:latest >/dev/null 2>&1 \
    || die "docker has no busybox:latest and this script never pulls: run scripts/peers.sh up"
else log "docker is not usable: its columns are left out"; fi
if [ -x $PODMAN ] && $PODMAN version >/dev/null 2>&1; then
  HAVE_PODMAN=1
  $PODMAN image exists busybox:latest \
    || die "podman has no busybox:latest and this script never pulls: run scripts/peers.sh up"
else log "podman is not usable: its column is left out"; fi
[ $HAVE_PODMAN = 1 ] && [ -x $BUILDAH ] && HAVE_BUILDAH=1

"$TOP/scripts/busybox-image.sh" "$W/busybox-oci" >/dev/null || die "scripts/busybox-image.sh failed"
tar -C "$W/busybox-oci" -cf "$W/busybox-oci.tar" .
"$BIN/muelled" -H "unix://$SOCK" --data-root "$W/root" --exec-root "$R" >"$W/muelled.log" 2>&1 &
MD_PID=$!
for _ in $(seq 100); do M version >/dev/null 2>&1 && break; sleep 0.1; done
M version >/dev/null 2>&1 || die "muelled did not start: $(tail -3 "$W/muelled.log")"
M load -q -i "$W/busybox-oci.tar" >/dev/null || die "muelle load of the busybox OCI image failed"

case " $CASES " in *" cprog "*)
  DEB_TAR=/var/tmp/muelle-test-debian-v1.tar
  if [ ! -f "$DEB_TAR" ]; then
    log "scripts/debian-image.sh (the Debian base, from this host's packages)"
    flock /var/tmp/muelle-test-debian.lock sh -c "[ -f $DEB_TAR ] || bash $TOP/scripts/debian-image.sh $DEB_TAR" \
      || die "scripts/debian-image.sh failed"
  fi
  DOCKER_HOST="unix://$SOCK" $DOCKER import -c 'CMD ["/bin/bash"]' "$DEB_TAR" $DEBIAN >/dev/null \
    || die "import of the Debian base into muelled failed"
  if [ $HAVE_DOCKER = 1 ]; then
    flock /var/tmp/muelle-test-debian.lock sh -c \
      "$DOCKER image inspect $DEBIAN >/dev/null 2>&1 || $DOCKER import -c 'CMD [\"/bin/bash\"]' $DEB_TAR $DEBIAN >/dev/null" \
      || die "docker import of the Debian base failed"
  fi
  if [ $HAVE_PODMAN = 1 ]; then
    $PODMAN image exists "localhost/$DEBIAN" \
      || $PODMAN import -q -c 'CMD ["/bin/bash"]' "$DEB_TAR" "$DEBIAN" >/dev/null \
      || die "podman import of the Debian base failed"
  fi ;;
esac

# ------------------------------------------------------------------ contexts
mk_small() {
  local c=$W/ctx-small i
  mkdir -p "$c/files"
  for i in $(seq 1 200); do head -c 2048 /dev/urandom >"$c/files/f$i"; done
  head -c 5242880 /dev/urandom >"$c/blob.bin"
  echo "v0" >"$c/late.txt"
  cat >"$c/Dockerfile" <<'DF'
FROM busybox:latest
ENV APP_HOME=/srv/app
COPY files/ /srv/app/files/
RUN mkdir -p /srv/app/gen && for i in 1 2 3 4 5 6 7 8 9 10; do echo "gen $i" > /srv/app/gen/g$i; done
COPY blob.bin /srv/app/blob.bin
RUN sha256sum /srv/app/blob.bin > /srv/app/blob.sum
COPY late.txt /srv/app/late.txt
RUN wc -c /srv/app/late.txt > /srv/app/late.count
RUN ls -R /srv/app > /srv/app/listing
CMD ["cat", "/srv/app/listing"]
DF
}
mk_cprog() {
  local c=$W/ctx-cprog
  cp -a "$TOP/crates/api/tests/build/corpus/c-program" "$c"
}
# The file each context's onefile scenario changes.
declare -A ONEFILE=([small]=late.txt [cprog]=hello.c)
change_one() { # change_one CASE ROUND: new contents for the copied file
  local f=$W/ctx-$1/${ONEFILE[$1]}
  case $1 in
    small) echo "round $2 $EPOCHREALTIME" >"$f" ;;
    cprog) sed -i "s/static C program[^\"]*(/static C program r$2-${EPOCHREALTIME/./} (/" "$f" ;;
  esac
}

# ------------------------------------------------------------------ tools
ALL_TOOLS="muelle docker_muelled"
[ $HAVE_DOCKER = 1 ] && ALL_TOOLS="$ALL_TOOLS docker_bk docker_legacy"
[ $HAVE_PODMAN = 1 ] && ALL_TOOLS="$ALL_TOOLS podman"
[ $HAVE_BUILDAH = 1 ] && ALL_TOOLS="$ALL_TOOLS buildah"
read -r -a tools <<<"${TOOLS:-$ALL_TOOLS}"
declare -A LABEL=(
  [muelle]="muelle build -> muelled" [docker_muelled]="docker 28 legacy -> muelled"
  [docker_bk]="docker BuildKit (dockerd)" [docker_legacy]="docker legacy (dockerd)"
  [podman]="podman build" [buildah]="buildah bud")

build_with() { # build_with TOOL CASE [extra args...]: its output in $W/out.last
  local tool=$1 case=$2; shift 2
  local ctx=$W/ctx-$case img=$TAG-$tool:$case rc=0
  local args=("$@")
  # podman and buildah print each step's image ID unless --iidfile is given.
  case $tool in podman|buildah) ;; *) args=(--iidfile "$W/iid.last" "${args[@]}") ;; esac
  [ "$case" = cprog ] && args+=(--build-arg "DEBIAN=$DEBIAN")
  rm -f "$W/iid.last"
  case $tool in
    muelle)         M build -t "$img" "${args[@]}" "$ctx" ;;
    docker_muelled) DOCKER_BUILDKIT=0 DOCKER_HOST="unix://$SOCK" $DOCKER28 build -t "$img" "${args[@]}" "$ctx" ;;
    docker_bk)      DOCKER_BUILDKIT=1 $DOCKER build --progress=plain -t "$img" "${args[@]}" "$ctx" ;;
    docker_legacy)  DOCKER_BUILDKIT=0 $DOCKER28 build -t "$img" "${args[@]}" "$ctx" ;;
    podman)         $PODMAN build --pull=never --layers -t "$img" "${args[@]}" "$ctx" ;;
    buildah)        $BUILDAH bud --pull=never --layers -t "$img" "${args[@]}" "$ctx" ;;
  esac >"$W/out.last" 2>&1 || rc=$?
  note_ids "$tool"
  return $rc
}
# Every image a build made on a shared engine (the final one from --iidfile, the legacy
# builder's and podman's per-step images from the output), so that cleanup removes those
# left untagged: a rebuild untags the previous result, a stage's image has no name.
note_ids() {
  local f
  case $1 in
    docker_bk|docker_legacy) f=$W/ids.docker ;;
    podman|buildah) f=$W/ids.podman ;;
    *) return 0 ;;
  esac
  # docker: " ---> 0123456789ab"; podman/buildah: "--> 0123456789a", "--> Using cache ID",
  # the full ID last
  { sed -n -E 's/^ ---> ([0-9a-f]{12})\s*$/\1/p; s/^--> (Using cache )?([0-9a-f]{11,64})\s*$/\2/p; s/^([0-9a-f]{64})\s*$/\1/p' "$W/out.last"
    cat "$W/iid.last" 2>/dev/null && echo; } | sed 's/^sha256://' | grep -E '^[0-9a-f]{11,}' >>"$f" || true
}
drop_ids() { # drop_ids ENGINE_CLI IDS_FILE: only what no name holds, children first
  local e=$1 f=$2 id pass
  [ -f "$f" ] || return 0
  # A cached step's image is named again by later builds, after its children: passes
  # until one removes nothing more.
  for pass in 1 2 3 4 5 6; do
    local gone=0
    while read -r id; do
      [ "$($e image inspect --format '{{len .RepoTags}}' "$id" </dev/null 2>/dev/null)" = 0 ] || continue
      $e rmi "$id" </dev/null >/dev/null 2>&1 && gone=1
    done < <(tac "$f" | awk '!seen[$0]++')
    [ $gone = 1 ] || break
  done
}

usec() { local t=${1/./}; echo $((10#$t)); }
stats() {
  sort -n | awk '{a[NR]=$1} END {
    if (NR == 0) { print 0, "nan", "nan", "nan"; exit }
    m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
    q1 = a[int((NR-1)*0.25)+1]; q3 = a[int((NR-1)*0.75+0.5)+1]
    print NR, m, q1, q3 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.3f", a/b; else print "-" }'; }

declare -A T=() BAD=()
SCENARIOS=(cold cached onefile)
timed() { # timed TOOL CASE SCEN ROUND: one build, its time recorded unless warming up
  local tool=$1 case=$2 scen=$3 r=$4 t0 t1 rc extra=()
  [ "$scen" = cold ] && extra=(--no-cache)
  [ "$scen" = onefile ] && change_one "$case" "$r.$tool"
  t0=$EPOCHREALTIME
  if build_with "$tool" "$case" "${extra[@]}"; then
    t1=$EPOCHREALTIME
    ((r < 0)) || T[$tool.$case.$scen]+="$(($(usec "$t1") - $(usec "$t0"))) "
  else
    rc=$?
    BAD[$tool.$case.$scen]="exit $rc: $(grep -v -e '^DEPRECATED' -e '^ *BuildKit is currently' -e '^ *environment-variable' -e '^$' -e '^Sending build context' -e '^Step ' -e '^ --->' -e "^Run '" "$W/out.last" | tail -1 | cut -c1-100)"
    { echo "== $tool $case $scen round $r: exit $rc"; cat "$W/out.last"; } >>"$W/err.$tool"
  fi
}

for case in $CASES; do
  "mk_$case"
  note_load "$case"
  n=${#tools[@]}
  log "$case: a priming build per tool"
  for tool in "${tools[@]}"; do
    build_with "$tool" "$case" \
      || log "$tool: the priming build of $case failed: $(grep -v -e '^DEPRECATED' -e '^ ' -e '^$' -e '^Sending build context' -e '^Step ' -e "^Run '" "$W/out.last" | tail -1 | cut -c1-200)"
  done
  log "$case: $WARMUP warm-up + $ROUNDS rounds of ${tools[*]} x ${SCENARIOS[*]}"
  for ((r = -WARMUP; r < ROUNDS; r++)); do
    for scen in "${SCENARIOS[@]}"; do
      for ((i = 0; i < n; i++)); do
        tool=${tools[$(((i + r + n * WARMUP) % n))]}
        # cached: the previous scenario (cold, or onefile of the round before) left the
        # context built; build it once untimed so that every tool starts from its own hit.
        if [ "$scen" = cached ]; then build_with "$tool" "$case" || true; fi
        timed "$tool" "$case" "$scen" "$r"
      done
    done
  done
done

# ------------------------------------------------------------------ report
ms() { awk -v u="$1" 'BEGIN{ if (u == "nan") print "nan"; else printf "%.0f", u/1000 }'; }
echo
echo "## bench/build.sh: $ROUNDS rounds (+$WARMUP warm-up), median [q1-q3] ms of the CLI's wall time"
echo "load before each context:"; printf '  %s\n' "${LOADS[@]}"
declare -A MED=()
for case in $CASES; do
  echo
  printf '%-8s %-30s' "$case" "tool"; for scen in "${SCENARIOS[@]}"; do printf ' %-24s' "$scen"; done; echo
  for tool in "${tools[@]}"; do
    printf '%-8s %-30s' "" "${LABEL[$tool]}"
    for scen in "${SCENARIOS[@]}"; do
      k=$tool.$case.$scen
      if [ -n "${BAD[$k]:-}" ]; then printf ' %-24s' "FAILED"; continue; fi
      read -r nn m q1 q3 <<<"$(printf '%s\n' ${T[$k]:-} | stats)"
      MED[$k]=$m
      printf ' %-24s' "$(ms "$m") [$(ms "$q1")-$(ms "$q3")] n=$nn"
    done
    echo
  done
  for base in docker_bk docker_legacy podman; do
    printf '%-8s %-30s' "" "ratio muelle/$base"
    for scen in "${SCENARIOS[@]}"; do
      printf ' %-24s' "$(ratio "${MED[muelle.$case.$scen]:-}" "${MED[$base.$case.$scen]:-}")"
    done
    echo
  done
done
status=0
if [ ${#BAD[@]} -gt 0 ]; then
  echo; echo "FAILED builds (first error line; all of it in the logs below):"
  for k in $(printf '%s\n' "${!BAD[@]}" | sort); do echo "  $k: ${BAD[$k]}"; done
  keep=/var/tmp/muelle-build-bench-errors.$$
  mkdir -p "$keep" && cp "$W"/err.* "$W/muelled.log" "$keep/" 2>/dev/null
  echo "  the errors and muelled's log: $keep"
  status=1
fi
echo
echo "targets (issue #13): cached <= 0.3 x docker_bk, cold <= 0.7 x docker_bk"
exit $status
