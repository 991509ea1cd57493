# shellcheck shell=bash disable=SC2154,SC2034
# Shared by guest/mkimage.sh and guest/mkdebian.sh, sourced: they set prog
# and read FETCHED_DEB.

die() { echo "$prog: $*" >&2; exit 1; }
# Show a captured log on stderr, then fail.
die_log() { local log=$1; shift; [ -s "$log" ] && sed 's/^/  /' "$log" >&2; die "$@"; }

# Downloads PKG=VER from the host's apt sources into WORK/apt (made here)
# and checks it against SHA (the package lists' SHA256): its path in
# FETCHED_DEB, or dies saying what failed. WORK becomes 0755: apt drops
# privileges to _apt for downloads and needs a writable directory.
fetch_deb() { # WORK PKG VER SHA
	local work=$1 pkg=$2 ver=$3 sha=$4 got
	chmod 0755 "$work"
	mkdir "$work/apt"
	chown _apt "$work/apt" 2>/dev/null || true
	(cd "$work/apt" && apt-get -q download "$pkg=$ver") >"$work/apt.log" 2>&1 ||
		die_log "$work/apt.log" "apt-get download $pkg=$ver failed"
	got=("$work"/apt/*.deb)
	if [ ${#got[@]} -ne 1 ] || [ ! -f "${got[0]}" ]; then
		die_log "$work/apt.log" "apt-get download $pkg: no .deb produced"
	fi
	echo "$sha  ${got[0]}" | sha256sum -c --status ||
		die "apt-get download $pkg: SHA-256 mismatch"
	FETCHED_DEB=${got[0]}
}
