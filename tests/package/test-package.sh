#!/usr/bin/env bash
# tests/package/test-package.sh DEBDIR
#
# The Debian packages of DEBDIR ('make deb') in a clean Debian 12 root
# (tests/package/mkroot.sh: minbase with the packages' dependencies), with
# no network (the root runs in a network namespace of its own): installed
# with 'apt-get install ./*.deb' as an operator would, their files, the
# unit (systemd-analyze verify, enabled), the omerta-vm user and its
# uid range, the provider key; an upgrade (the same package with a higher
# version) keeps the policy, the key and the audit log; a purge removes
# what the packages made and nothing else (the root listed before the
# install and after the purge). Prints PASS/FAIL per check; exits 1 if one
# failed. Runs as root; the root is a temporary directory, removed on exit.
# No pipefail: a 'grep -q' that stops reading early must not fail a check.
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: ${0##*/} DEBDIR" >&2; exit 2; }
debdir=$(realpath "$1")
failed=0

loader_deb=$(ls "$debdir"/omerta-loader_*.deb 2>/dev/null | head -n 1)
consumer_deb=$(ls "$debdir"/omerta_*.deb 2>/dev/null | head -n 1)
[ -n "$loader_deb" ] && [ -n "$consumer_deb" ] ||
	{ echo "${0##*/}: $debdir: no omerta-loader_*.deb and omerta_*.deb (make deb)" >&2; exit 2; }
tar=$("$here/mkroot.sh" "$loader_deb" "$consumer_deb") || exit 1

root=$(mktemp -d /tmp/omt-pkgroot.XXXXXX)
cleanup() {
	awk -v p="$root/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts |
		sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf --one-file-system "$root"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
tar -xf "$tar" -C "$root" || { echo "${0##*/}: $tar: cannot unpack" >&2; exit 1; }
cp "$loader_deb" "$consumer_deb" "$root/tmp/"

# A command in the root: its own mount, PID and network namespaces (only
# loopback, down), /proc of its own.
in_root() {
	unshare --mount --net --pid --fork --mount-proc="$root/proc" chroot "$root" "$@"
}
check() { # NAME COMMAND...
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "PASS  package/$name"
	else
		echo "FAIL  package/$name"
		sed 's/^/      /' <<<"$out" | tail -n 40
		failed=1
	fi
}
# What the root holds: every path with its mode and owner, the content of
# every file in /etc; left out: the package managers' own state, caches
# and logs, and the backups the user tools keep (/etc/passwd- and such).
listing() {
	in_root sh -c 'find / -xdev \( -path /proc -o -path /tmp -o -path /run -o \
			-path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache \
			-o -path /var/log/apt -o -path /var/log/dpkg.log -o -path /var/log/alternatives.log \
			-o -path /etc/ld.so.cache -o -path "/etc/*-" \) -prune \
			-o -printf "%p %m %u:%g\n" | sort
		find /etc -xdev -type f ! -name "*-" ! -name ld.so.cache -exec sha256sum {} + | sort -k 2'
}

listing >"$root/tmp/before" 2>&1

# --- install ---------------------------------------------------------------
install_debs() {
	in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Use-Pty=0 \
		"/tmp/$(basename "$loader_deb")" "/tmp/$(basename "$consumer_deb")"
}
check install install_debs

check help sh -c '
	in_root() { unshare --mount --net --pid --fork --mount-proc="$0/proc" chroot "$0" "$@"; }
	in_root omerta-loader --help | grep -q "^Verbs:" &&
	in_root omerta --help >/dev/null &&
	in_root omerta-loader keygen --help | grep -q "provider" &&
	in_root man -w omerta-loader | grep -q "/usr/share/man/man8/omerta-loader.8" &&
	in_root man -w omerta | grep -q "/usr/share/man/man1/omerta.1" ' "$root"

files() {
	local f out
	for f in /usr/bin/omerta-loader /usr/bin/omerta /usr/lib/omerta/omerta-loader-exec \
		/usr/lib/omerta/vmlinuz /usr/lib/omerta/base.cpio.gz /usr/lib/omerta/base.cpio.gz.sha256 \
		/usr/lib/omerta/debian.sqfs /usr/lib/omerta/debian.sqfs.sha256 \
		/usr/share/man/man8/omerta-loader.8.gz /usr/share/man/man1/omerta.1.gz \
		/lib/systemd/system/omerta-loader.service /etc/omerta/omerta.ini.example \
		/etc/logrotate.d/omerta-loader \
		/usr/share/omerta/grafana-omerta.json /usr/share/omerta/prometheus/omerta-alerts.yml \
		/usr/share/doc/omerta-loader/copyright /usr/share/doc/omerta-loader/guest-packages \
		/usr/share/doc/omerta/copyright; do
		[ -s "$root$f" ] || { echo "missing: $f"; return 1; }
	done
	promtool check rules "$root/usr/share/omerta/prometheus/omerta-alerts.yml" || return 1
	# logrotate reads the snippet and would rotate the audit log (a dry run).
	echo '{"event":"test"}' >"$root/var/log/omerta/audit.jsonl"
	out=$(in_root logrotate -d -f /etc/logrotate.d/omerta-loader 2>&1)
	grep -q "rotating log /var/log/omerta/audit.jsonl" <<<"$out" || { echo "$out"; return 1; }
	rm "$root/var/log/omerta/audit.jsonl"
	# No path of the build tree in what was installed, nor /usr/local in the unit.
	! grep -l "$(realpath "$here/../..")" "$root/lib/systemd/system/omerta-loader.service" \
		"$root/usr/bin/omerta-loader" "$root/usr/lib/omerta/omerta-loader-exec" \
		"$root/usr/bin/omerta" || return 1
	! grep /usr/local "$root/lib/systemd/system/omerta-loader.service" || return 1
	(cd "$root/usr/lib/omerta" && sha256sum -c --quiet debian.sqfs.sha256 &&
		[ "$(sha256sum <base.cpio.gz | cut -d' ' -f1)" = "$(cat base.cpio.gz.sha256)" ]) || return 1
	# exec runs as the lean binary beside the images.
	out=$(in_root omerta-loader -v exec --help 2>&1 >/dev/null)
	grep -q "exec runs as /usr/bin/../lib/omerta/omerta-loader-exec" <<<"$out" ||
		{ echo "$out"; return 1; }
	# and finds the images beside itself.
	out=$(in_root omerta-loader -v exec --vpn-config /nonexistent -- true 2>&1)
	grep -qx "omerta-loader: debug: guest images in /usr/lib/omerta" <<<"$out" ||
		{ echo "$out"; return 1; }
}
check files files

unit() {
	# Its Documentation= page is checked in the root (help), not by the host's man.
	systemd-analyze verify --man=no --root="$root" /lib/systemd/system/omerta-loader.service || return 1
	[ "$(systemctl --root="$root" is-enabled omerta-loader.service)" = enabled ] || return 1
	grep -qx "ConditionPathExists=/etc/omerta/omerta.ini" "$root/lib/systemd/system/omerta-loader.service"
}
check unit unit

user() {
	local line
	line=$(in_root getent passwd omerta-vm) || { echo "no user omerta-vm"; return 1; }
	echo "$line" | grep -q ":/nonexistent:/usr/sbin/nologin$" || { echo "$line"; return 1; }
	grep -qx "omerta-vm:2000000000:1000" "$root/etc/subuid" || { cat "$root/etc/subuid"; return 1; }
	grep -qx "omerta-vm:2000000000:1000" "$root/etc/subgid" || return 1
	[ "$(stat -c %a "$root/var/log/omerta")" = 750 ] && [ -d "$root/var/lib/omerta" ]
}
check user user

key() {
	[ "$(stat -c '%a %U' "$root/etc/omerta/provider.key")" = "600 root" ] || return 1
	# The daemon reads it: a policy naming it passes the daemon's check.
	cp "$root/etc/omerta/omerta.ini.example" "$root/etc/omerta/omerta.ini"
	in_root omerta-loader run --config /etc/omerta/omerta.ini --check
}
check key key

# A policy's own vm_uids: dpkg-reconfigure moves the reservation.
reconfigure() {
	sed -i 's/^\[provider\]$/[provider]\nvm_uids = 2000001000-2000001099/' "$root/etc/omerta/omerta.ini"
	grep -q "^vm_uids = 2000001000-2000001099" "$root/etc/omerta/omerta.ini" || return 1
	in_root env DEBIAN_FRONTEND=noninteractive dpkg-reconfigure omerta-loader || return 1
	grep -qx "omerta-vm:2000001000:100" "$root/etc/subuid" || { cat "$root/etc/subuid"; return 1; }
	grep -qx "omerta-vm:2000001000:100" "$root/etc/subgid" &&
		[ "$(grep -c omerta-vm "$root/etc/subuid")" = 1 ] &&
		in_root omerta-loader run --check >/dev/null
}
check reconfigure reconfigure

# --- upgrade ---------------------------------------------------------------
upgrade() {
	local d=$root/tmp/up ver new
	ver=$(dpkg-deb -f "$loader_deb" Version)
	mkdir -p "$d"
	for deb in "$loader_deb" "$consumer_deb"; do
		rm -rf "$d/x" && dpkg-deb -R "$deb" "$d/x" || return 1
		sed -i "s/^Version: .*/Version: $ver+1/" "$d/x/DEBIAN/control"
		dpkg-deb -b "$d/x" "$d/$(dpkg-deb -f "$deb" Package).deb" >/dev/null || return 1
	done
	echo "# the operator's own line" >>"$root/etc/omerta/omerta.ini"
	echo '{"event":"test","n":1}' >>"$root/var/log/omerta/audit.jsonl"
	sha256sum "$root/etc/omerta/omerta.ini" "$root/etc/omerta/provider.key" \
		"$root/var/log/omerta/audit.jsonl" >"$d/sums"
	in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Use-Pty=0 \
		/tmp/up/omerta-loader.deb /tmp/up/omerta.deb || return 1
	[ "$(in_root dpkg-query -W -f '${Version}' omerta-loader)" = "$ver+1" ] || return 1
	sha256sum -c --quiet "$d/sums"
}
check upgrade upgrade

# --- purge -----------------------------------------------------------------
purge() {
	in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -o Dpkg::Use-Pty=0 \
		omerta-loader omerta || return 1
	listing >"$root/tmp/after" 2>&1
	# The operator's policy stays, and with it /etc/omerta.
	diff <(grep -v "^/etc/omerta \|^/etc/omerta/omerta.ini \| /etc/omerta/omerta.ini$" "$root/tmp/after") \
		"$root/tmp/before" || return 1
	[ -f "$root/etc/omerta/omerta.ini" ] && [ ! -e "$root/etc/omerta/provider.key" ]
}
check purge purge

exit $failed
