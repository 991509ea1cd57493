#!/bin/bash
# tests/package/mkroot.sh DEB...
#
# Prints the path of a clean Debian 12 root (a tarball, mmdebstrap's
# minbase) holding what the given packages depend on, but not the packages
# themselves, for tests/package/test-package.sh to install them into without
# any download. Set-up, not test: the packages come from the host's Debian
# mirrors for bookworm (guest/lib.sh), like the guest images'. Kept in
# /var/cache/omerta/package-root/KEY.tar, KEY the hash of what it was made
# of (the dependencies, the mirrors, mmdebstrap's version); other keys'
# tarballs are removed when a new one is made. Runs as root.
set -euo pipefail
export LC_ALL=C
prog=${0##*/}
# shellcheck source=guest/lib.sh
. "$(dirname "$0")/../../guest/lib.sh"

[ $# -ge 1 ] || die "usage: $prog DEB..."
[ "$(id -u)" -eq 0 ] || die "must run as root"
cache=/var/cache/omerta/package-root

# Every package a DEB depends on (the first of alternatives, no version),
# and what a Debian server has that the test uses: systemd (its targets,
# for systemd-analyze verify), man-db, logrotate; none of the DEBs.
ours=" "
for deb; do
	[ -r "$deb" ] || die "$deb: cannot read"
	ours="$ours$(dpkg-deb -f "$deb" Package) "
done
deps=$(for deb; do dpkg-deb -f "$deb" Depends Pre-Depends; done |
	tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g; s/^.*://' |
	awk -v ours="$ours" 'NF && index(ours, " " $1 " ") == 0' | sort -u)
deps="$deps systemd man-db logrotate"
mapfile -t mirrors < <(host_mirrors bookworm)

key=$({ echo "$deps"; printf '%s\n' "${mirrors[@]}"; mmdebstrap --version; } |
	sha256sum | cut -c1-16)
tar=$cache/$key.tar
if [ ! -s "$tar" ]; then
	mkdir -p "$cache"
	log=$(mktemp /tmp/omt-mkroot.XXXXXX)
	trap 'rm -f "$log" "$tar.tmp"' EXIT
	# shellcheck disable=SC2086
	mmdebstrap --variant=minbase --include="$(echo $deps | tr ' ' ',')" \
		--format=tar bookworm "$tar.tmp" "${mirrors[@]}" >"$log" 2>&1 ||
		die_log "$log" "mmdebstrap failed"
	find "$cache" -maxdepth 1 -name '*.tar' ! -name "$key.tar" -delete
	mv "$tar.tmp" "$tar"
fi
echo "$tar"
