#!/usr/bin/env bash
# A real workload's cost: `python3 -c 'print(1)'` on the debian image
# against `true` on the minimal image, in the same run, rounds interleaved,
# medians of the time from start to the job's end; and the images' sizes.
#   bench/workload.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
source scripts/lib.sh
ROUNDS=${1:-5}
trap omt_test_teardown EXIT
omt_provider_up
EXEC=(nsenter --net=/var/run/netns/"$OMT_NS_R" "$OMT_LOADER" exec --vpn-config "$OMT_TMP/vm.conf")
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

: >"$OMT_TMP/true.txt"; : >"$OMT_TMP/python.txt"
for r in $(seq "$ROUNDS"); do
	python3 bench/timecmd.py never -- "${EXEC[@]}" --image minimal -- true >>"$OMT_TMP/true.txt"
	python3 bench/timecmd.py never -- "${EXEC[@]}" --image debian -- python3 -c 'print(1)' \
		>>"$OMT_TMP/python.txt"
done
t=$(awk '{print $2}' "$OMT_TMP/true.txt" | median)
p=$(awk '{print $2}' "$OMT_TMP/python.txt" | median)
printf 'minimal, true:              %6.2f s (baseline)\n' "$t"
printf "debian, python3 -c print(1): %6.2f s  %.2fx\n" "$p" "$(awk -v a="$p" -v b="$t" 'BEGIN {print a / b}')"
printf 'images: minimal %s (initramfs), debian %s (squashfs)\n' \
	"$(du -h build/guest/base.cpio.gz | cut -f1)" "$(du -h build/guest/debian.sqfs | cut -f1)"
