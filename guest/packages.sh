#!/bin/sh
# guest/packages.sh GUESTDIR AGENT_BINARY
#
# Prints what the guest images in GUESTDIR (guest/mkimage.sh,
# guest/mkdebian.sh) carry of Debian's, as "PACKAGE VERSION" lines under a
# heading per image: the kernel package, busybox-static and the packages of
# the agent's shared libraries (base.cpio.gz), then debian.manifest (the
# debian image). The omerta-loader package ships it as
# /usr/share/doc/omerta-loader/guest-packages, which debian/copyright
# points at: each package's licence is its Debian copyright file, its
# source in the Debian archive under that name and version.
set -eu
[ $# -eq 2 ] || { echo "usage: ${0##*/} GUESTDIR AGENT_BINARY" >&2; exit 1; }
dir=$1 agent=$2
kernel=$(ls "$dir"/cache/linux-image-*.deb 2>/dev/null | head -n 1)
[ -n "$kernel" ] || { echo "${0##*/}: $dir/cache: no kernel package (run make)" >&2; exit 1; }
[ -r "$dir/debian.manifest" ] || { echo "${0##*/}: $dir/debian.manifest: missing (run make)" >&2; exit 1; }

echo "# vmlinuz and base.cpio.gz"
dpkg-deb -W --showformat='${Package} ${Version}\n' "$kernel"
dpkg-query -W -f='${Package} ${Version}\n' busybox-static
# The packages of the agent's libraries (the initramfs holds these files).
ldd "$agent" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
	while read -r lib; do
		dpkg -S "$(realpath "$lib")" 2>/dev/null || dpkg -S "$lib"
	done | cut -d: -f1 | sort -u |
	xargs dpkg-query -W -f='${Package} ${Version}\n'
echo
echo "# debian.sqfs"
cat "$dir/debian.manifest"
