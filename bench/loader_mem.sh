#!/usr/bin/env bash
# The host-side memory of a job, QEMU aside: the peak resident memory
# (VmHWM) of `omerta-loader exec -- true` and of any other process it starts
# that is not QEMU (bench/procmem.py), medians of rounds; with
# OMT_BASELINE_LOADER (another build's omerta-loader, e.g. of an earlier
# commit) that loader too, in the same rounds, interleaved, and the ratio.
#   bench/loader_mem.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
source scripts/lib.sh
ROUNDS=${1:-5}
trap omt_test_teardown EXIT
omt_provider_up

BASE=${OMT_BASELINE_LOADER:-}
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
col() { awk -v c="$1" '{print $c}'; }

: >"$OMT_TMP/this.txt"; : >"$OMT_TMP/base.txt"
for r in $(seq "$ROUNDS"); do
	python3 bench/procmem.py -- nsenter --net=/var/run/netns/"$OMT_NS_R" "$OMT_LOADER" exec \
		--vpn-config "$OMT_TMP/vm.conf" --image minimal --boot-timeout 600 -- true >>"$OMT_TMP/this.txt"
	if [ -n "$BASE" ]; then
		python3 bench/procmem.py -- nsenter --net=/var/run/netns/"$OMT_NS_R" "$BASE" exec \
			--vpn-config "$OMT_TMP/vm.conf" --image minimal --boot-timeout 600 -- true >>"$OMT_TMP/base.txt"
	fi
done
if grep -qv ' 0$' "$OMT_TMP/this.txt" "$OMT_TMP/base.txt"; then
	echo "an exec failed (its peak is still counted):" >&2
	grep -v ' 0$' "$OMT_TMP/this.txt" "$OMT_TMP/base.txt" >&2
fi

echo "host-side memory per VM (QEMU aside), $ROUNDS rounds, medians of VmHWM"
awk -v l="$(col 1 <"$OMT_TMP/this.txt" | median)" -v o="$(col 2 <"$OMT_TMP/this.txt" | median)" 'BEGIN {
	printf "  this loader:     exec %6d KiB, other processes %6d KiB, all %6d KiB (%.1f MiB)\n", l, o, l + o, (l + o) / 1024
}'
if [ -n "$BASE" ]; then
	awk -v l="$(col 1 <"$OMT_TMP/this.txt" | median)" -v o="$(col 2 <"$OMT_TMP/this.txt" | median)" \
		-v bl="$(col 1 <"$OMT_TMP/base.txt" | median)" -v bo="$(col 2 <"$OMT_TMP/base.txt" | median)" \
		-v b="$BASE" 'BEGIN {
	printf "  baseline loader: exec %6d KiB, other processes %6d KiB, all %6d KiB (%.1f MiB)  (%s)\n", bl, bo, bl + bo, (bl + bo) / 1024, b
	printf "  this / baseline: exec %.2fx, all %.2fx\n", l / bl, (l + o) / (bl + bo)
}'
fi
