#!/usr/bin/env bash
# Checkpoint and restore of a running 256 MiB job (omerta-loader checkpoint
# / restore), against copying the same number of bytes between the same
# file systems in the same run (dd: the floor for moving that much state).
#   bench/checkpoint.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
source scripts/lib.sh
ROUNDS=${1:-5}
trap omt_test_teardown EXIT
omt_provider_up
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# A workload that keeps 96 MiB of its memory dirty (in its scratch tmpfs), and counts.
omt_spawn "$OMT_NS_R" "$OMT_TMP/out" "$OMT_TMP/err" "$OMT_LOADER" exec --vpn-config "$OMT_TMP/vm.conf" \
	--memory 256 --timeout 0 -- sh -c 'head -c 100663296 /dev/urandom >/tmp/fill; i=0; while :; do echo $i; i=$((i+1)); sleep 1; done'
omt_wait_for "$OMT_TMP/out" '^2$' 120 || omt_fail "the job never ran: $(cat "$OMT_TMP/err")"
job=$(ls /run/omerta/jobs)
: >"$OMT_TMP/save.txt"; : >"$OMT_TMP/load.txt"; : >"$OMT_TMP/dd.txt"; : >"$OMT_TMP/mib.txt"
for r in $(seq "$ROUNDS"); do
	"$OMT_LOADER" checkpoint "$job" >"$OMT_TMP/ctl"
	sed -n 's/.*(\([0-9.]*\) MiB in \([0-9.]*\) s).*/\1 \2/p' "$OMT_TMP/ctl" >>"$OMT_TMP/mib.txt"
	mib=$(tail -n 1 "$OMT_TMP/mib.txt" | cut -d' ' -f1)
	awk '{print $2}' <(tail -n 1 "$OMT_TMP/mib.txt") >>"$OMT_TMP/save.txt"
	python3 - "$mib" "/run/omerta/jobs/$job/omt-dd" >>"$OMT_TMP/dd.txt" <<'PY'
import os, sys, time
n = int(float(sys.argv[1]) * 1048576)
buf = os.urandom(1 << 20)
t0 = time.monotonic()
with open(sys.argv[2], "wb") as f:
    for off in range(0, n, len(buf)):
        f.write(buf[:min(len(buf), n - off)])
    f.flush()
    os.fsync(f.fileno())
print(time.monotonic() - t0)
os.unlink(sys.argv[2])
PY
	"$OMT_LOADER" restore "$job" >"$OMT_TMP/ctl"
	sed -n 's/.*restored in \([0-9.]*\) s.*/\1/p' "$OMT_TMP/ctl" >>"$OMT_TMP/load.txt"
	sleep 1
done
mib=$(awk '{print $1}' "$OMT_TMP/mib.txt" | median)
save=$(median <"$OMT_TMP/save.txt")
load=$(median <"$OMT_TMP/load.txt")
dd=$(median <"$OMT_TMP/dd.txt")
printf 'state file: %.1f MiB (256 MiB VM, 96 MiB of it dirty)\n' "$mib"
printf 'writing that much with write+fsync: %.3f s (baseline)\n' "$dd"
printf 'checkpoint: %.3f s  %.2fx\n' "$save" "$(awk -v a="$save" -v b="$dd" 'BEGIN {print a / b}')"
printf 'restore:    %.3f s  %.2fx\n' "$load" "$(awk -v a="$load" -v b="$dd" 'BEGIN {print a / b}')"
# The count went on where it stopped: nothing lost, nothing twice.
grep -E '^[0-9]+$' "$OMT_TMP/out" | awk 'NR - 1 != $1 {bad = 1} END {exit bad}' ||
	echo "WARNING: the job's count has a gap or a repeat"
