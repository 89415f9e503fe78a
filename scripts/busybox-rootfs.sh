#!/usr/bin/env bash
# busybox-rootfs.sh DIR: a minimal root filesystem from Debian's busybox-static, the base of
# every test image and bundle (no registry is needed). Idempotent.
set -euo pipefail
dir=${1:?usage: busybox-rootfs.sh DIR}
bb=/bin/busybox
[ -x "$bb" ] || { echo "busybox-rootfs: $bb missing: apt-get install busybox-static" >&2; exit 1; }
file "$bb" 2>/dev/null | grep -q 'statically linked' || ldd "$bb" 2>&1 | grep -q 'not a dynamic' \
  || { echo "busybox-rootfs: $bb is not static: apt-get install busybox-static" >&2; exit 1; }
mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var/run,home}
cp -f "$bb" "$dir/bin/busybox"
for app in $("$bb" --list-full); do
  [ -e "$dir/$app" ] || ln -s /bin/busybox "$dir/$app"
done
chmod 1777 "$dir/tmp"
cat >"$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat >"$dir/etc/group" <<'G'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
G
: >"$dir/etc/hosts"; : >"$dir/etc/resolv.conf"; echo muelle >"$dir/etc/hostname"
