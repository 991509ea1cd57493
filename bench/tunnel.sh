#!/usr/bin/env bash
# TCP throughput through a wireguard-go tunnel whose UDP crosses a veth,
# with no guard, the tc guard and the XDP guard on that veth (topology in
# scripts/lib.sh). Rounds interleave the three; medians and ratios.
#   bench/tunnel.sh [ROUNDS] [SECONDS]
# With OMT_BASELINE_LOADER=PATH (another build's omerta-loader, e.g. of the
# commit before a guard change), its guard runs in the same rounds too, as
# xdp@base and tc@base.
set -eu
cd "$(dirname "$0")/.."
source scripts/lib.sh
ROUNDS=${1:-3}
SECS=${2:-4}

trap omt_test_teardown EXIT
omt_topo_up
omt_tunnel_wait || { echo "tunnel did not come up" >&2; exit 1; }
omt_spawn "$OMT_NS_C" /dev/null "$OMT_TMP/iperf.err" iperf3 -s -B "$OMT_C_TUN_IP"
sleep 0.5

HOOKS="none tc xdp"
[ -z "${OMT_BASELINE_LOADER:-}" ] || HOOKS="$HOOKS xdp@base tc@base"

measure() { # HOOK[@base]
	local pid="" bps loader=$OMT_LOADER
	case $1 in *@base) loader=$OMT_BASELINE_LOADER ;; esac
	if [ "$1" != none ]; then
		omt_spawn "$OMT_NS_R" /dev/null "$OMT_TMP/guard.log" "$loader" guard \
			--dev "$OMT_R_DEV" --endpoint "$OMT_ENDPOINT" --peer-ip "$OMT_G_IP" --hook "${1%@base}"
		pid=$OMT_SPAWNED
		omt_wait_for "$OMT_TMP/guard.log" guarding >/dev/null
	fi
	bps=$(omt_in "$OMT_NS_G" iperf3 -c "$OMT_C_TUN_IP" -t "$SECS" -J |
		jq '.end.sum_received.bits_per_second')
	if [ -n "$pid" ]; then
		kill "$pid"
		wait "$pid"
		: >"$OMT_TMP/guard.log"
	fi
	echo "$bps"
}

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

declare -A res=()
for r in $(seq "$ROUNDS"); do
	for hook in $HOOKS; do
		res[$hook]+="$(measure "$hook") "
	done
done
echo "wireguard-go tunnel over a guarded veth, $ROUNDS rounds x ${SECS} s, median TCP throughput"
base=$(echo "${res[none]}" | tr ' ' '\n' | grep . | median)
for hook in $HOOKS; do
	m=$(echo "${res[$hook]}" | tr ' ' '\n' | grep . | median)
	awk -v h="$hook" -v m="$m" -v b="$base" \
		'BEGIN {printf "  %-8s %8.1f Mbit/s  %5.3fx no guard\n", h, m / 1e6, m / b}'
done
