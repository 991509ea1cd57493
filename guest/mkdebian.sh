#!/bin/bash
# guest/mkdebian.sh OUTDIR
#
# Builds the `debian` guest image: a small Debian 12 (bookworm) root file
# system (mmdebstrap, variant essential, plus python3, netbase and busybox),
# with /usr/bin/work_queue_worker from Debian's coop-computing-tools (the
# binary alone, for swarm pilots; not the package), packed as a read-only
# squashfs that the agent mounts (virtio-blk) under a tmpfs overlay:
#   OUTDIR/debian.sqfs           the image (squashfs, lz4)
#   OUTDIR/debian.sqfs.sha256    "HASH  debian.sqfs" (sha256sum -c format)
#   OUTDIR/debian.manifest       "PACKAGE VERSION" of every package inside,
#                                and coop-computing-tools (the worker's)
#   OUTDIR/debian.stamp          the inputs it was built from (see below)
# Packages come from the host's own Debian apt sources for bookworm (main,
# bookworm-updates, bookworm-security): mmdebstrap's, and the one .deb
# apt-get download fetches for the worker (the host's candidate, checked to
# come from those mirrors and against the lists' SHA-256); no other network
# access.
#
# The same inputs (this script, the sources, the same package versions, the
# same mmdebstrap and mksquashfs) give a byte-identical debian.sqfs.
# Nothing is rebuilt when debian.stamp matches, the image matches its hash
# and the host's apt lists offer no newer version of a package in
# debian.manifest (MKDEBIAN_FORCE=1 rebuilds anyway). The tree is built in
# MKDEBIAN_TMPDIR if set, else /dev/shm when usable, else TMPDIR or /tmp.
# Prints nothing on success; on failure says what failed on stderr, exits 1.
# Runs as root (mmdebstrap's root mode).
set -euo pipefail
umask 022
export LC_ALL=C

prog=${0##*/}
# shellcheck source=guest/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: $prog OUTDIR"
[ "$(id -u)" -eq 0 ] || die "must run as root"

suite=bookworm
variant=essential
# python3 for the jobs; netbase for /etc/services and /etc/protocols;
# busybox for the small tools minbase lacks (wget, ping, ip, nc, ...: linked
# into /usr/local/bin where Debian has no tool of that name).
packages=python3,netbase,busybox
# SOURCE_DATE_EPOCH for the maintainer scripts: makes py3compile write
# hash-based .pyc files (independent of file times, see step 2) and anything
# else that records a date record this one. The image's file times are set
# separately, to the date of the newest package (step 3).
build_epoch=1704067200
# lz4: the cheapest to read in the guest. Measured on this tree under TCG
# with -icount (guest instructions, so without the host's noise), a cold
# `python3 -c 'print(1)'`: lz4 0.11 s, zstd -9 0.23 s, zstd -19 0.28 s,
# gzip 0.30 s, xz 1.28 s; reading every file: lz4 4.1 s, zstd 4.9-5.1 s,
# gzip 5.6 s, xz 13.3 s. Size: lz4 48 MiB, lz4 -Xhc 40 MiB (but ~25 s to
# compress), zstd -9 33 MiB, xz 28 MiB. lz4 also compresses in under 1 s.
comp=(-comp lz4)
mergedusr=/usr/share/mmdebstrap/hooks/merged-usr
# Kept out of the image: documentation (copyright files stay), manuals,
# translations. Not given as --dpkgopt: with that, mmdebstrap pipes its
# first extraction of the essential packages through a Python tar filter
# (mmtarfilter), which alone took ~20 s here. Instead an extract hook
# (step 2) deletes the same paths after that extraction, before dpkg
# installs anything, and gives dpkg the patterns as
# /etc/dpkg/dpkg.cfg.d/99omerta-nodoc for the rest: the same tree.
nodoc='path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*'

for t in mmdebstrap mksquashfs unsquashfs apt-cache apt-get dpkg dpkg-deb tar install \
	sha256sum awk chroot; do
	command -v "$t" >/dev/null || die "missing tool: $t"
done
[ -d "$mergedusr" ] || die "$mergedusr: missing (mmdebstrap too old?)"

mkdir -p "$1" || die "cannot create $1"
out=$(cd "$1" && pwd)
img=$out/debian.sqfs

# The work directory: the tree is ~100 MB of small files, written and read
# several times; on tmpfs the build took 37 s here against 71 s on disk.
# /dev/shm when it is a tmpfs allowing exec with 1 GiB free; MKDEBIAN_TMPDIR
# chooses; else TMPDIR or /tmp.
tmpdir=${MKDEBIAN_TMPDIR:-}
if [ -z "$tmpdir" ]; then
	tmpdir=${TMPDIR:-/tmp}
	if [ -d /dev/shm ] && [ -w /dev/shm ] &&
		awk '$2 == "/dev/shm" && $3 == "tmpfs" && $4 !~ /(^|,)noexec(,|$)/ { ok = 1 }
			END { exit !ok }' /proc/self/mounts &&
		[ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -ge 1048576 ]; then
		tmpdir=/dev/shm
	fi
fi
work=$(mktemp -d "$tmpdir/omerta-mkdebian.XXXXXX") || die "mktemp in $tmpdir failed"
# Unmount whatever a failed mmdebstrap may have left mounted in the tree
# (deepest first), then delete without ever crossing a mount point.
cleanup() {
	local m
	awk -v p="$work/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts |
		sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf --one-file-system "$work"
	rm -f "$out/.debian.sqfs.tmp" "$out/.debian.sqfs.sha256.tmp" \
		"$out/.debian.manifest.tmp" "$out/.debian.stamp.tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# --- 1. inputs --------------------------------------------------------------

# The host's Debian mirrors for the suite (guest/lib.sh).
mapfile -t mirrors < <(host_mirrors "$suite")
# None found (empty array): mmdebstrap's default, deb.debian.org with
# updates and security.

# The Work Queue worker: only /usr/bin/work_queue_worker (and the package's
# copyright file) of Debian's coop-computing-tools goes into the image, not
# the package: installing it would pull in openmpi, globus, fuse, sqlite...,
# while the binary links only libc, libm and libz, which the tree has. It is
# the same version as the host's manager (python3-workqueue, makeflow).
# (Debian's 9.9 build calls itself "8.0.0 DEVELOPMENT" in --version, the
# manager's tools too: the manifest's version is the package's.)
# Its version: the host's candidate; without package lists, the one the
# image was built with (kept, as for the other packages; a rebuild then
# fails at the download).
wq_pkg=coop-computing-tools
wq_show=$(apt-cache show --no-all-versions "$wq_pkg" 2>/dev/null) || wq_show=
wq_ver=$(awk '/^Version:/ { print $2; exit }' <<<"$wq_show")
wq_sha=$(awk '/^SHA256:/ { print $2; exit }' <<<"$wq_show")
if [ -z "$wq_ver" ] || [ -z "$wq_sha" ]; then
	read -r _ _ wq_ver wq_sha < <(awk -v p="$wq_pkg" '$1 == "worker" && $2 == p' \
		"$out/debian.stamp" 2>/dev/null) || true
fi

{
	echo "script $(sha256sum <"$0" | cut -d' ' -f1)"
	echo "lib $(sha256sum <"$(dirname "$0")/lib.sh" | cut -d' ' -f1)"
	echo "suite $suite variant $variant packages $packages epoch $build_epoch"
	echo "comp ${comp[*]}"
	echo "nodoc $nodoc"
	for m in "${mirrors[@]}"; do echo "mirror $m"; done
	echo "worker $wq_pkg ${wq_ver:-} ${wq_sha:-}"
	echo "mmdebstrap $(mmdebstrap --version 2>&1 | head -n1)"
	echo "mksquashfs $(mksquashfs -version 2>&1 | head -n1)"
} >"$work/stamp"

# Up to date? The stamp, the image's own hash, and no newer candidate on
# the host for any package in the image (host lists older than the mirror
# are not a reason to rebuild; missing lists keep the image).
up_to_date() {
	[ "${MKDEBIAN_FORCE:-0}" = 0 ] || return 1
	[ -f "$img" ] && [ -f "$img.sha256" ] && [ -f "$out/debian.manifest" ] || return 1
	cmp -s "$work/stamp" "$out/debian.stamp" || return 1
	(cd "$out" && sha256sum -c --status debian.sqfs.sha256) || return 1
	# shellcheck disable=SC2046
	apt-cache show --no-all-versions $(awk '{ print $1 }' "$out/debian.manifest") \
		2>/dev/null | awk '/^Package:/ { p = $2 } /^Version:/ { print p, $2 }' \
		>"$work/candidates" || true
	local have want
	while read -r _ have want; do
		[ -n "$want" ] || continue
		if dpkg --compare-versions "$want" gt "$have"; then
			return 1
		fi
	done < <(awk 'NR == FNR { have[$1] = $2; next }
		($1 in have) && have[$1] != $2 { print $1, have[$1], $2 }' \
		"$out/debian.manifest" "$work/candidates")
	return 0
}
if up_to_date; then
	exit 0
fi

# --- 2. the root file system ------------------------------------------------

# The worker's .deb first (a failure costs no mmdebstrap run): from the
# host's apt sources, but only from one of the mirrors mmdebstrap uses.
if [ -z "${wq_ver:-}" ] || [ -z "${wq_sha:-}" ]; then
	die "cannot resolve $wq_pkg in the host's package lists (apt-cache show; run apt-get update?)"
fi
apt-get download --print-uris "$wq_pkg=$wq_ver" >"$work/uris" 2>"$work/apt.log" ||
	die_log "$work/apt.log" "apt-get download --print-uris $wq_pkg=$wq_ver failed"
wq_uri=$(awk 'NR == 1 { gsub(/\047/, "", $1); print $1 }' "$work/uris")
wq_bases=()
for m in "${mirrors[@]}"; do
	read -r _ u _ <<<"$m"
	wq_bases+=("${u%/}/")
done
[ ${#wq_bases[@]} -gt 0 ] ||
	wq_bases=(http://deb.debian.org/debian/ http://deb.debian.org/debian-security/)
for b in "${wq_bases[@]}"; do
	case $wq_uri in "$b"*) break ;; esac
	b=
done
[ -n "$b" ] || die "$wq_pkg $wq_ver would come from ${wq_uri:-nowhere}, not from the image's mirrors"
fetch_deb "$work" "$wq_pkg" "$wq_ver" "$wq_sha"
wq_deb=$FETCHED_DEB
mkdir "$work/wq"
dpkg-deb --fsys-tarfile "$wq_deb" >"$work/wq.tar" 2>"$work/dpkg.log" ||
	die_log "$work/dpkg.log" "dpkg-deb --fsys-tarfile ${wq_deb##*/} failed"
tar -x -f "$work/wq.tar" -C "$work/wq" ./usr/bin/work_queue_worker \
	"./usr/share/doc/$wq_pkg/copyright" >"$work/tar.log" 2>&1 ||
	die_log "$work/tar.log" "${wq_deb##*/}: no usr/bin/work_queue_worker or copyright file"

root=$work/root
printf '%s\n' "$nodoc" >"$work/nodoc.cfg"
# The extract hook (its $1: the tree): what the filter would have kept out
# (find's -path, like dpkg's patterns, lets * match /), then the filter.
cat >"$work/nodoc-hook" <<'EOF'
#!/bin/sh
set -eu
u=$1/usr/share
if [ -d "$u/doc" ]; then
	find "$u/doc" -mindepth 1 ! -type d ! -path "$u/doc/*/copyright" -delete
	find "$u/doc" -mindepth 1 -depth -type d -empty -delete
fi
for d in man info lintian; do
	if [ -d "$u/$d" ]; then find "$u/$d" -mindepth 1 -delete; fi
done
if [ -d "$u/locale" ]; then
	find "$u/locale" -mindepth 1 ! -path "$u/locale/locale.alias" -delete
fi
mkdir -p "$1/etc/dpkg/dpkg.cfg.d"
cp "$OMERTA_NODOC" "$1/etc/dpkg/dpkg.cfg.d/99omerta-nodoc"
EOF
chmod 0755 "$work/nodoc-hook"
if ! OMERTA_NODOC=$work/nodoc.cfg SOURCE_DATE_EPOCH=$build_epoch \
	mmdebstrap --mode=root --variant="$variant" --include="$packages" \
	--hook-dir="$mergedusr" --dpkgopt=force-unsafe-io \
	--extract-hook="$work/nodoc-hook" \
	--aptopt='Acquire::Languages "none"' \
	"$suite" "$root" "${mirrors[@]}" >"$work/mmdebstrap.log" 2>&1; then
	die_log "$work/mmdebstrap.log" "mmdebstrap $suite failed"
fi
if awk -v p="$work/" 'index($2, p) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
	die "mmdebstrap left file systems mounted under $work"
fi
[ -x "$root/usr/bin/python3" ] || die "mmdebstrap: no /usr/bin/python3 in the tree"

# The worker binary, root's, 0755; its copyright file with its packaged
# time (as dpkg would; it counts for the image's date, step 3). It must run
# with the tree's own libraries.
[ ! -e "$root/usr/bin/work_queue_worker" ] || die "the tree already has /usr/bin/work_queue_worker"
if ! install -o 0 -g 0 -m 0755 "$work/wq/usr/bin/work_queue_worker" \
	"$root/usr/bin/work_queue_worker" ||
	! install -d -o 0 -g 0 -m 0755 "$root/usr/share/doc/$wq_pkg" ||
	! install -p -o 0 -g 0 -m 0644 "$work/wq/usr/share/doc/$wq_pkg/copyright" \
		"$root/usr/share/doc/$wq_pkg/copyright"; then
	die "cannot put work_queue_worker into the tree"
fi
if ! chroot "$root" /usr/bin/ldd /usr/bin/work_queue_worker >"$work/wq.log" 2>&1 ||
	grep -q 'not found' "$work/wq.log" ||
	! chroot "$root" /usr/bin/work_queue_worker --version >>"$work/wq.log" 2>&1; then
	die_log "$work/wq.log" "work_queue_worker ($wq_pkg $wq_ver) does not run in the tree: its libraries do not resolve there"
fi

# py3compile wrote checked hash-based .pyc files (SOURCE_DATE_EPOCH being
# set): Python would read and hash each module's source at every import.
# The image is read-only, so mark them unchecked (PEP 552; flags 0b11 ->
# 0b01, the rest of the file unchanged): ~20% less guest time for cold
# imports under TCG.
if ! chroot "$root" /usr/bin/python3 -I - >"$work/pyc.log" 2>&1 <<'PY'; then
import os
for top, dirs, files in os.walk("/usr"):
    for f in files:
        if f.endswith(".pyc"):
            with open(os.path.join(top, f), "r+b") as fh:
                head = fh.read(8)
                if len(head) == 8 and head[4:8] == b"\x03\x00\x00\x00":
                    fh.seek(4)
                    fh.write(b"\x01\x00\x00\x00")
PY
	die_log "$work/pyc.log" "cannot mark the .pyc files unchecked"
fi

# Nothing from the build host, nothing that records when or where it ran.
rm -f "$root/etc/hostname" "$root/etc/resolv.conf" "$root/etc/machine-id" \
	"$root/var/lib/dbus/machine-id" \
	"$root"/etc/*- "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
rm -rf "$root"/var/log/apt/* "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
	"$root"/tmp/* "$root"/run/*
for f in "$root"/var/log/*; do
	if [ -f "$f" ]; then : >"$f"; fi
done
echo localhost >"$root/etc/hostname"
: >"$root/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
chmod 0644 "$root/etc/hostname" "$root/etc/resolv.conf" "$root/etc/hosts"
# busybox's applets where Debian has no tool of that name.
chroot "$root" /usr/bin/busybox --list >"$work/applets" || die "busybox --list failed"
while read -r a; do
	for d in usr/bin usr/sbin bin sbin usr/local/bin; do
		[ -e "$root/$d/$a" ] || [ -L "$root/$d/$a" ] && continue 2
	done
	ln -s /usr/bin/busybox "$root/usr/local/bin/$a"
done <"$work/applets"
# /dev: empty. The agent binds the guest's /dev over it (and mounts the image
# nodev); what mmdebstrap put there depends on the work directory's mount
# (nothing on a nodev file system).
find "$root/dev" -mindepth 1 -delete
# Mount points for the agent: the job's directory tree.
mkdir -p "$root/job/input" "$root/job/output"
# The manifest: the installed packages, and coop-computing-tools, of which
# only the worker binary (and copyright file) is in the image: listed so
# that a newer candidate rebuilds it (step 1), unknown to the tree's dpkg.
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
{
	chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' &&
		echo "$wq_pkg $wq_ver"
} | sort >"$work/manifest" || die "dpkg-query in the tree failed"

# --- 3. the image -----------------------------------------------------------

# Every file's time: the newest package's date, i.e. the newest copyright
# file (dpkg keeps the packaged mtimes; package builds clamp them to the
# changelog's date). Stable for the same package versions.
epoch=$(find "$root/usr/share/doc" -name copyright -type f -printf '%T@\n' |
	sort -n | tail -n1)
epoch=${epoch%.*}
[ -n "$epoch" ] || epoch=$build_epoch

# mksquashfs would let a SOURCE_DATE_EPOCH from the environment override
# the times given here.
if ! env -u SOURCE_DATE_EPOCH mksquashfs "$root" "$out/.debian.sqfs.tmp" -noappend \
	-reproducible -mkfs-time "$epoch" -all-time "$epoch" "${comp[@]}" \
	-no-progress -quiet >"$work/mksquashfs.log" 2>&1; then
	die_log "$work/mksquashfs.log" "mksquashfs failed"
fi
hash=$(sha256sum <"$out/.debian.sqfs.tmp") || die "sha256sum failed"
echo "${hash%% *}  debian.sqfs" >"$out/.debian.sqfs.sha256.tmp"
cp "$work/manifest" "$out/.debian.manifest.tmp"
cp "$work/stamp" "$out/.debian.stamp.tmp"
{
	rm -f "$out/debian.stamp" &&
		mv -f "$out/.debian.sqfs.tmp" "$img" &&
		mv -f "$out/.debian.sqfs.sha256.tmp" "$img.sha256" &&
		mv -f "$out/.debian.manifest.tmp" "$out/debian.manifest" &&
		mv -f "$out/.debian.stamp.tmp" "$out/debian.stamp"
} || die "cannot write $img"
