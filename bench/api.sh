#!/usr/bin/env bash
# What TLS costs a signed API request: the daemon with tls = on against the
# same daemon with tls = off, in the same run, rounds interleaved, medians
# of the wall time of one verified request (GET /v1/jobs/00000000, a 404
# signed by the provider), each a fresh connection (a fresh TLS handshake)
# from a fresh client process, as `omerta` makes them.
#   bench/api.sh [ROUNDS] [REQUESTS]
set -eu
cd "$(dirname "$0")/.."
source scripts/lib.sh
ROUNDS=${1:-3}
REQUESTS=${2:-50}
trap omt_test_teardown EXIT
omt_daemon_up 1
APICLIENT=build/tools/apiclient

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

restart() { # on|off
	kill "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" || true
	sed -i '/^tls = /d; s/^\[provider\]$/[provider]\ntls = '"$1"'/' "$OMT_TMP/omerta.ini"
	omt_daemon_start
}

# Milliseconds per request, REQUESTS of them to ADDRESS.
per_request() { # ADDRESS
	local t0 t1 i out
	t0=$(date +%s%N)
	for i in $(seq "$REQUESTS"); do
		out=$(omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$1" GET /v1/jobs/00000000 - good)
		[[ $out == *" 404" ]] || { echo "bench/api.sh: unexpected answer: $out" >&2; exit 1; }
	done
	t1=$(date +%s%N)
	echo "$(( (t1 - t0) / REQUESTS / 1000 ))" | awk '{printf "%.2f\n", $1 / 1000}'
}

: >"$OMT_TMP/tls" >"$OMT_TMP/plain"
for r in $(seq "$ROUNDS"); do
	restart on
	per_request "$OMT_API" >>"$OMT_TMP/tls"
	restart off
	per_request "http://$OMT_API" >>"$OMT_TMP/plain"
done
tls=$(median <"$OMT_TMP/tls")
plain=$(median <"$OMT_TMP/plain")
echo "signed request, fresh connection: TLS 1.3 $tls ms, plain HTTP $plain ms (baseline), ratio $(awk -v a="$tls" -v b="$plain" 'BEGIN {printf "%.2f", a / b}') ($ROUNDS rounds of $REQUESTS)"
