#!/usr/bin/env bash
# The `debian` guest image (guest/mkdebian.sh): build time from scratch and
# image size. Each round builds into a new empty directory (mkdebian.sh keeps
# no package cache: mmdebstrap fetches from the host's Debian mirror every
# time), so nothing is reused between rounds. With two or more rounds it also
# says whether the image came out byte-identical each time.
#   bench/image.sh [ROUNDS]      (root; network: the Debian mirror via apt)
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-1}
[ "$(id -u)" -eq 0 ] || { echo "bench/image.sh: must run as root" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/omerta-bench-image.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

: >"$tmp/secs"
: >"$tmp/hashes"
for r in $(seq "$ROUNDS"); do
	out=$tmp/round$r
	t0=$(date +%s.%N)
	MKDEBIAN_FORCE=1 guest/mkdebian.sh "$out"
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
	size=$(stat -c %s "$out/debian.sqfs")
	hash=$(cut -d' ' -f1 "$out/debian.sqfs.sha256")
	pkgs=$(wc -l <"$out/debian.manifest")
	echo "$secs" >>"$tmp/secs"
	echo "$hash" >>"$tmp/hashes"
	printf '  round %d: %6.1f s, %d bytes (%.1f MiB), %d packages, sha256 %s\n' \
		"$r" "$secs" "$size" "$(awk -v s="$size" 'BEGIN {print s / 1048576}')" "$pkgs" "$hash"
	# Keep only the first round's output (for the size), free the rest.
	[ "$r" -eq 1 ] || rm -rf --one-file-system "$out"
done

size=$(stat -c %s "$tmp/round1/debian.sqfs")
echo "debian image (guest/mkdebian.sh), $ROUNDS round(s)"
printf '  build from scratch: %.1f s (median)\n' "$(median <"$tmp/secs")"
printf '  image size: %d bytes (%.1f MiB)\n' "$size" "$(awk -v s="$size" 'BEGIN {print s / 1048576}')"
if [ "$ROUNDS" -ge 2 ]; then
	if [ "$(sort -u "$tmp/hashes" | wc -l)" -eq 1 ]; then
		echo "  reproducible: yes (same sha256 in every round)"
	else
		echo "  reproducible: NO (sha256 differs between rounds)"
	fi
fi
