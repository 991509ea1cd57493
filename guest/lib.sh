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

# The host's Debian sources for the suite, as one-line entries (main only).
# Both formats: one-line (*.list) and deb822 (*.sources). Other sources
# (third-party repositories) are ignored.
host_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '{ sub(/#.*/, "") }
		$1 == "deb" {
			i = 2
			if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
			uri = $i; s = $(i + 1)
			for (j = i + 2; j <= NF; j++) if ($j == "main") print uri, s
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk 'function flush(  u, s, nu, ns, i, j) {
			if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/ && enabled !~ /^[Nn]o/) {
				nu = split(uris, u, " "); ns = split(suites, s, " ")
				for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j]
			}
			types = uris = suites = comps = enabled = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		{ v = $0; sub(/^[^:]*:[ \t]*/, "", v) }
		tolower($1) == "types:" { types = v }
		tolower($1) == "uris:" { uris = v }
		tolower($1) == "suites:" { suites = v }
		tolower($1) == "components:" { comps = v }
		tolower($1) == "enabled:" { enabled = v }
		END { flush() }' "$f"
	done
}

# host_mirrors SUITE: "deb URI SUITE[-updates|-security] main" for each of
# the host's sources of SUITE (mmdebstrap's mirror arguments), once each.
host_mirrors() {
	local uri s line seen=" "
	while read -r uri s; do
		case $s in "$1" | "$1"-updates | "$1"-security) ;; *) continue ;; esac
		case $uri in http://* | https://* | file:/* | mirror+*) ;; *) continue ;; esac
		line="deb $uri $s main"
		case $seen in *" $line |"*) continue ;; esac
		seen="$seen $line |"
		echo "$line"
	done < <(host_sources)
}
