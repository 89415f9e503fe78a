#!/usr/bin/env bash
# debian-image.sh OUT_TAR: a Debian root filesystem as a tar for `docker import`, made from
# this host's own installed Debian packages (dpkg's file lists), with no network: bash,
# coreutils and the usual base, plus gcc-12, binutils and libc6-dev so that a build stage
# can compile a static C program. The package set is closed over Depends/Pre-Depends (the
# first installed alternative), minus the sanitizer and profiling runtimes nothing here
# links; documentation, man pages and locales are left out. The build tests' Debian base
# (crates/api/tests/build) and bench/build.sh use it. Written to OUT_TAR.tmp.$$, renamed.
set -euo pipefail
OUT=${1:?usage: scripts/debian-image.sh OUT_TAR}
[ "$(id -u)" = 0 ] || { echo "debian-image.sh: run as root" >&2; exit 1; }
command -v dpkg-query >/dev/null || { echo "debian-image.sh: not a Debian host" >&2; exit 1; }
ROOTS="base-files base-passwd bash coreutils dash debianutils diffutils findutils grep gzip
hostname libc-bin sed tar mawk ncurses-base gcc-12 libc6-dev binutils"
SKIP=" libasan8 libtsan2 liblsan0 libubsan1 libgprofng0 util-linux util-linux-extra dpkg
debconf libsystemd0 libudev1 "
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q ' installed$'; }
declare -A seen=()
todo=($ROOTS)
while [ ${#todo[@]} -gt 0 ]; do
  p=${todo[-1]}; unset 'todo[-1]'
  [ -n "${seen[$p]:-}" ] && continue
  case "$SKIP" in *" $p "*) continue ;; esac
  installed "$p" || { echo "debian-image.sh: $p is not installed" >&2; exit 1; }
  seen[$p]=1
  IFS=',' read -r -a alts <<<"$(dpkg-query -W -f='${Depends},${Pre-Depends}' "$p")"
  for alt in "${alts[@]}"; do
    IFS='|' read -r -a choices <<<"$alt"
    for c in "${choices[@]}"; do
      n=$(echo "$c" | awk '{print $1}'); n=${n%%:*}
      [ -n "$n" ] || continue
      if installed "$n"; then todo+=("$n"); break; fi
    done
  done
done
work=$(mktemp -d /var/tmp/muelle-debian.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"
for p in "${!seen[@]}"; do dpkg-query -L "$p"; done | grep "^/" \
  | grep -v -E '^/usr/share/(doc|man|info|locale|lintian)(/|$)' \
  | sed -E 's#^/(bin|sbin|lib|lib64)(/|$)#/usr/\1\2#' | sort -u >"$work/files"
# Debian 12 merges /usr: /bin, /sbin, /lib and /lib64 are links into /usr, as on the host.
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done
# Directories come along as entries of the list; --no-recursion keeps what they hold to
# what the packages own.
tar -C / --no-recursion -cf - -P -T "$work/files" 2>"$work/tar.err" | tar -C "$root" -xf - \
  || { cat "$work/tar.err" >&2; exit 1; }
# gcc is a symlink made by the `gcc` package (not copied): point it at gcc-12.
ln -sf gcc-12 "$root/usr/bin/gcc"; ln -sf gcc-12 "$root/usr/bin/cc"
# What debootstrap's configure step would have made.
mkdir -p "$root"/{tmp,root,proc,sys,dev,run,var/tmp,etc,home,usr/local/bin,usr/local/sbin,usr/local/lib,usr/local/share}
chmod 1777 "$root/tmp" "$root/var/tmp"
cp /usr/share/base-passwd/passwd.master "$root/etc/passwd"
cp /usr/share/base-passwd/group.master "$root/etc/group"
echo "bookworm-local" >"$root/etc/debian_chroot"
tar --numeric-owner -C "$root" -cf "$OUT.tmp.$$" .
mv "$OUT.tmp.$$" "$OUT"
echo "debian-image.sh: $OUT ($(du -h "$OUT" | cut -f1), ${#seen[@]} packages)" >&2
