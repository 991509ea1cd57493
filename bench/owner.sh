#!/usr/bin/env bash
# The owner's promise: a CPU-bound owner process beside a CPU-bound VM,
# both on the same core, against the same process alone, in the same run.
# The VM's threads run SCHED_IDLE in a cgroup of the lowest CPU weight.
#   bench/owner.sh [ROUNDS] [SECONDS] [IMAGE]   (IMAGE: debian, the default, or minimal)
set -eu
cd "$(dirname "$0")/.."
source scripts/lib.sh
ROUNDS=${1:-3}
SECS=${2:-3}
IMAGE=${3:-debian}
trap omt_test_teardown EXIT
omt_provider_up

# Iterations of a busy loop in SECS seconds, on CPU 0.
owner() {
	taskset -c 0 python3 -c "
import time
end = time.monotonic() + $SECS
n = 0
while time.monotonic() < end:
    n += 1
print(n)"
}

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

alone="" beside=""
for r in $(seq "$ROUNDS"); do
	alone+="$(owner) "
	omt_spawn "$OMT_NS_R" "$OMT_TMP/out" "$OMT_TMP/err" "$OMT_LOADER" exec \
		--vpn-config "$OMT_TMP/vm.conf" --image "$IMAGE" --timeout 120 -- sh -c 'echo busy; while :; do :; done'
	pid=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/out" busy >/dev/null
	qemu=$(pgrep -f 'qemu-system.*omerta-')
	taskset -a -p -c 0 "$qemu" >/dev/null
	sleep 0.5
	beside+="$(owner) "
	kill -TERM "$pid"
	wait "$pid" || true
done
a=$(echo "$alone" | tr ' ' '\n' | grep . | median)
b=$(echo "$beside" | tr ' ' '\n' | grep . | median)
echo "owner's CPU-bound loop on the VM's core ($IMAGE image), $ROUNDS rounds x ${SECS} s, median iterations"
awk -v a="$a" -v b="$b" 'BEGIN {
	printf "  alone:          %12d (baseline)\n", a
	printf "  beside the VM:  %12d  %.3fx alone\n", b, b / a
}'
