#!/bin/bash
# guest/mkimage.sh OUTDIR AGENT_BINARY
#
# Builds the guest boot files:
#   OUTDIR/vmlinuz               Debian's cloud kernel (never installed on the host)
#   OUTDIR/base.cpio.gz          initramfs: /init (the agent) and its shared
#                                libraries, static busybox with its applet links,
#                                the modules named in guest/modules.txt (plus
#                                their dependencies) and /lib/modules/omerta.load
#   OUTDIR/base.cpio.gz.sha256   hex SHA-256 of base.cpio.gz
# The kernel package is fetched with `apt-get download` and kept, unpacked,
# in OUTDIR/cache/. The same inputs give a byte-identical base.cpio.gz.
# Prints nothing on success; on failure says what failed on stderr, exits 1.
set -euo pipefail
umask 022
export LC_ALL=C

prog=${0##*/}
# shellcheck source=guest/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: $prog OUTDIR AGENT_BINARY"
out=$1
agent=$2
here=$(cd "$(dirname "$0")" && pwd)
modlist=$here/modules.txt
meta=linux-image-cloud-amd64
busybox=/bin/busybox

for t in apt-cache apt-get dpkg-deb depmod cpio gzip ldd sha256sum realpath awk; do
	command -v "$t" >/dev/null || die "missing tool: $t"
done
if [ ! -f "$agent" ] || [ ! -x "$agent" ]; then
	die "agent binary $agent: not an executable file"
fi
[ -r "$modlist" ] || die "module list $modlist: cannot read"
[ -x "$busybox" ] || die "$busybox: missing (install busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is dynamically linked (install busybox-static)"
fi

mkdir -p "$out/cache" || die "cannot create $out/cache"
out=$(cd "$out" && pwd)
cache=$out/cache
kdir=$cache/kernel

work=$(mktemp -d "${TMPDIR:-/tmp}/omerta-mkimage.XXXXXX") || die "mktemp failed"
cleanup() {
	rm -rf "$work" "$cache/kernel.new" "$cache"/*.deb.tmp \
		"$out/.vmlinuz.tmp" "$out/.base.cpio.gz.tmp" "$out/.base.cpio.gz.sha256.tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# --- 1. the kernel ----------------------------------------------------------

# The image package the metapackage points at, e.g. linux-image-6.1.0-56-cloud-amd64.
pkg=$(apt-cache depends "$meta" 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }') || true
stamp_want=
if [ -n "$pkg" ]; then
	show=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null) ||
		die "apt-cache show $pkg failed"
	ver=$(awk '/^Version:/ { print $2; exit }' <<<"$show")
	sha=$(awk '/^SHA256:/ { print $2; exit }' <<<"$show")
	arch=$(awk '/^Architecture:/ { print $2; exit }' <<<"$show")
	if [ -z "$ver" ] || [ -z "$sha" ] || [ -z "$arch" ]; then
		die "apt-cache show $pkg: no Version/SHA256/Architecture"
	fi
	stamp_want="$pkg $ver $sha"
elif [ -f "$kdir/.stamp" ]; then
	# Package lists unavailable (no apt-get update): keep the cached kernel.
	read -r pkg ver sha <"$kdir/.stamp"
	stamp_want="$pkg $ver $sha"
else
	die "cannot resolve the image package of $meta (apt-cache depends; run apt-get update?)"
fi
kver=${pkg#linux-image-}

if [ "$(cat "$kdir/.stamp" 2>/dev/null)" != "$stamp_want" ] ||
	[ ! -f "$kdir/boot/vmlinuz-$kver" ] ||
	[ ! -f "$kdir/lib/modules/$kver/modules.dep" ]; then
	[ -n "${arch:-}" ] || die "cached kernel incomplete and $pkg not resolvable"
	deb=$cache/${pkg}_${ver//:/%3a}_${arch}.deb
	if [ ! -f "$deb" ] || ! echo "$sha  $deb" | sha256sum -c --status; then
		fetch_deb "$work" "$pkg" "$ver" "$sha"
		{ cp "$FETCHED_DEB" "$deb.tmp" && mv -f "$deb.tmp" "$deb"; } ||
			die "cannot store $deb"
		rm -rf "$work/apt"
	fi
	# Only one kernel is kept in the cache.
	find "$cache" -maxdepth 1 -name 'linux-image-*.deb' ! -name "${deb##*/}" -delete
	rm -rf "$cache/kernel.new"
	dpkg-deb -x "$deb" "$cache/kernel.new" 2>"$work/dpkg.log" ||
		die_log "$work/dpkg.log" "dpkg-deb -x $deb failed"
	# Newer packages ship usr/lib/modules: depmod -b looks in lib/modules.
	if [ ! -d "$cache/kernel.new/lib/modules/$kver" ] &&
		[ -d "$cache/kernel.new/usr/lib/modules/$kver" ]; then
		ln -s usr/lib "$cache/kernel.new/lib"
	fi
	[ -f "$cache/kernel.new/boot/vmlinuz-$kver" ] || die "$deb: no boot/vmlinuz-$kver"
	[ -d "$cache/kernel.new/lib/modules/$kver" ] || die "$deb: no lib/modules/$kver"
	depmod -b "$cache/kernel.new" "$kver" >"$work/depmod.log" 2>&1 ||
		die_log "$work/depmod.log" "depmod -b $cache/kernel.new $kver failed"
	echo "$stamp_want" >"$cache/kernel.new/.stamp"
	rm -rf "$kdir"
	mv "$cache/kernel.new" "$kdir" || die "cannot move the kernel into $kdir"
fi
moddir=$kdir/lib/modules/$kver

if ! cmp -s "$kdir/boot/vmlinuz-$kver" "$out/vmlinuz"; then
	{ cp "$kdir/boot/vmlinuz-$kver" "$out/.vmlinuz.tmp" &&
		mv -f "$out/.vmlinuz.tmp" "$out/vmlinuz"; } || die "cannot write $out/vmlinuz"
fi

# --- 2. the initramfs -------------------------------------------------------

stage=$work/root
mkdir -p "$stage"

# Copy host path $1 to the same path in the image. Symlinks are recreated
# as they are and followed, so the whole chain (e.g. /lib64/ld-linux-x86-64.so.2
# -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2) ends up in the image.
copy_path() {
	local p=$1 t n=0
	while :; do
		n=$((n + 1))
		[ $n -le 40 ] || die "$1: too many levels of symbolic links"
		if [ -e "$stage$p" ] || [ -L "$stage$p" ]; then
			return 0
		fi
		mkdir -p "$stage${p%/*}"
		if [ -L "$p" ]; then
			t=$(readlink "$p")
			ln -s "$t" "$stage$p"
			case $t in /*) ;; *) t=${p%/*}/$t ;; esac
			p=$(realpath -ms "$t")
		elif [ -f "$p" ]; then
			cp "$p" "$stage$p" || die "cannot copy $p"
			return 0
		else
			die "$p: missing (needed by $agent)"
		fi
	done
}

# /init: the agent, and the shared libraries it needs.
install -m 0755 "$agent" "$stage/init"
if ! ldd "$agent" >"$work/ldd.out" 2>&1; then
	grep -q 'not a dynamic executable' "$work/ldd.out" ||
		die_log "$work/ldd.out" "ldd $agent failed"
	: >"$work/ldd.out"
fi
if grep -q 'not found' "$work/ldd.out"; then
	die_log "$work/ldd.out" "ldd $agent: missing libraries"
fi
awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' \
	"$work/ldd.out" | sort -u >"$work/libs"
while read -r lib; do
	copy_path "$lib"
done <"$work/libs"

# busybox and a link per applet: the workload's userland.
mkdir -p "$stage/bin" "$stage/sbin" "$stage/usr/bin" "$stage/usr/sbin"
install -m 0755 "$busybox" "$stage/bin/busybox"
"$busybox" --list-full >"$work/applets" || die "$busybox --list-full failed"
while read -r a; do
	case $a in '' | bin/busybox | /* | *..*) continue ;; esac
	[ -e "$stage/$a" ] || [ -L "$stage/$a" ] && continue
	case $a in */*) [ -d "$stage/${a%/*}" ] || mkdir -p "$stage/${a%/*}" ;; esac
	ln -s /bin/busybox "$stage/$a"
done <"$work/applets"

# Kernel modules: the names in a list, their dependencies first, into a load
# list for the agent: modules.txt at boot (omerta.load), modules-disk.txt
# for the debian image's disk only (omerta-disk.load, without what the first
# list loads already).
: >"$work/loaded"
modules() { # LIST LOADFILE
	sed -e 's/#.*//' "$1" | tr -s ' \t' '\n' | tr - _ | sed '/^$/d' >"$work/wanted"
	[ -s "$work/wanted" ] || die "$1: no module names"
	awk -v wantfile="$work/wanted" '
		function modname(p,   n) {
			n = p; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n)
			gsub(/-/, "_", n); return n
		}
		function visit(p,   i, n, d) {
			if (p in seen) return
			seen[p] = 1
			if (!(p in deps)) { print "mkimage.sh: modules.dep: no entry for " p > "/dev/stderr"; bad = 1; return }
			# modules.dep lists dependencies in reverse load order.
			n = split(deps[p], d, " ")
			for (i = n; i >= 1; i--) visit(d[i])
			print p
		}
		FILENAME ~ /modules\.dep$/ {
			p = $1; sub(/:$/, "", p)
			$1 = ""; deps[p] = $0; path[modname(p)] = p; next
		}
		FILENAME ~ /modules\.builtin$/ { builtin[modname($1)] = 1; next }
		FILENAME ~ /loaded$/ { seen[$1] = 1; next }
		END {
			while ((getline m < wantfile) > 0) {
				if (m in path) visit(path[m])
				else if (!(m in builtin)) {
					print "mkimage.sh: module " m ": not in the kernel " \
						"(neither in modules.dep nor modules.builtin)" > "/dev/stderr"
					bad = 1
				}
			}
			exit bad
		}' "$moddir/modules.dep" "$moddir/modules.builtin" "$work/loaded" >"$work/order" ||
		die "cannot resolve the modules in $1"

	: >"$work/load"
	while read -r rel; do
		src=$moddir/$rel
		dst=${rel%.ko*}.ko
		mkdir -p "$stage/lib/modules/$kver/$(dirname "$rel")"
		case $rel in
		*.ko) cp "$src" "$stage/lib/modules/$kver/$dst" ;;
		*.ko.xz) xz -dc "$src" >"$stage/lib/modules/$kver/$dst" ;;
		*.ko.zst) zstd -qdc "$src" >"$stage/lib/modules/$kver/$dst" ;;
		*.ko.gz) gzip -dc "$src" >"$stage/lib/modules/$kver/$dst" ;;
		*) false ;;
		esac || die "cannot copy module $rel"
		echo "/lib/modules/$kver/$dst" >>"$work/load"
		echo "$rel" >>"$work/loaded"
	done <"$work/order"
	install -m 0644 "$work/load" "$stage/lib/modules/$2"
}
modules "$modlist" omerta.load
modules "$here/modules-disk.txt" omerta-disk.load

# The rest of the tree.
for d in proc sys dev tmp run job root etc mnt; do
	mkdir -p "$stage/$d"
done
chmod 1777 "$stage/tmp"
chmod 0700 "$stage/root"
echo 'root:x:0:0:root:/root:/bin/sh' >"$stage/etc/passwd"
echo 'root:x:0:' >"$stage/etc/group"
chmod 0644 "$stage/etc/passwd" "$stage/etc/group"

# Reproducible archive: sorted names, fixed mtimes, owner 0:0, no inode or
# device numbers from the host, no name or time in the gzip header.
find "$stage" -mindepth 1 -exec touch -h -d @0 {} +
(cd "$stage" && find . -mindepth 1 -printf '%P\n' | sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) 2>"$work/cpio.log" |
	gzip -n >"$out/.base.cpio.gz.tmp" ||
	die_log "$work/cpio.log" "cannot write the initramfs (cpio | gzip)"
[ ! -s "$work/cpio.log" ] || die_log "$work/cpio.log" "cpio complained"
hash=$(sha256sum "$out/.base.cpio.gz.tmp") || die "sha256sum failed"
echo "${hash%% *}" >"$out/.base.cpio.gz.sha256.tmp"
{ mv -f "$out/.base.cpio.gz.tmp" "$out/base.cpio.gz" &&
	mv -f "$out/.base.cpio.gz.sha256.tmp" "$out/base.cpio.gz.sha256"; } ||
	die "cannot write $out/base.cpio.gz"
