#!/usr/bin/env bash
# What a warm VM saves a consumer: the time from the provider accepting a
# job (`omerta submit`'s "accepted") to the workload's first output line,
# the same job (default shape, `echo first`) on the same daemon with
# warm_vms = 1 (a warm VM ready before each submit) and warm_vms = 0 (the
# baseline: a cold boot), rounds interleaved, medians.
#   bench/warm.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
source scripts/lib.sh
ROUNDS=${1:-5}
trap omt_test_teardown EXIT
omt_daemon_up 2

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

restart() { # WARM_VMS
	kill "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" || true
	sed -i '/^warm_vms = /d; s/^\[provider\]$/[provider]\nwarm_vms = '"$1"'/' "$OMT_TMP/omerta.ini"
	omt_daemon_start
}

# Waits until the daemon has said N times that a warm VM is ready.
ready() { # N
	local i
	for i in $(seq 1200); do
		[ "$(grep -cE 'warm VM [0-9a-f]{8}: ready in' "$OMT_TMP/daemon.log")" -ge "$1" ] && return 0
		sleep 0.1
	done
	echo "bench/warm.sh: no warm VM ready: $(tail "$OMT_TMP/daemon.log")" >&2
	exit 1
}

once() { # OUTFILE
	local r
	r=$(OMERTA_HOME=$OMT_TMP/consumer nsenter --net=/var/run/netns/"$OMT_NS_C" \
		python3 bench/accepted_to_first.py -- "$OMT_ROOT/build/bin/omerta" submit \
		--provider "$OMT_API" --description bench -- sh -c 'echo first')
	[ "${r#* }" = 0 ] && [ "${r% *}" != -1 ] || { echo "bench/warm.sh: job failed: $r" >&2; exit 1; }
	echo "${r% *}" >>"$1"
}

: >"$OMT_TMP/warm" >"$OMT_TMP/cold"
for r in $(seq "$ROUNDS"); do
	restart 1
	ready 1
	once "$OMT_TMP/warm"
	restart 0
	once "$OMT_TMP/cold"
done
warm=$(median <"$OMT_TMP/warm")
cold=$(median <"$OMT_TMP/cold")
echo "accepted -> first output: warm VM $warm s, cold boot $cold s (baseline), ratio $(awk -v a="$warm" -v b="$cold" 'BEGIN {printf "%.2f", a / b}') ($ROUNDS rounds)"
