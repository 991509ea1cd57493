#!/usr/bin/env bash
# The guard's cost on a tap's receive path, as a guest's frames take it:
# bench/tap_pps writes WireGuard-shaped frames into a tap (in a namespace of
# its own) that the host routes into a blackhole; CPU time per frame with
# no guard, the XDP guard and the tc guard, rounds interleaved, medians.
#   bench/tap.sh [ROUNDS] [FRAMES]
# With OMT_BASELINE_LOADER=PATH (another build's omerta-loader, e.g. of the
# commit before a guard change), its guard runs in the same rounds too, as
# xdp@base and tc@base.
set -eu
cd "$(dirname "$0")/.."
source scripts/lib.sh
ROUNDS=${1:-5}
FRAMES=${2:-200000}
NS=omtb$OMT_ID
TAP=omtbt$OMT_ID
PPS=build/bench/tap_pps

down() {
	set +e
	for p in "${OMT_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	[ -n "$OMT_TMP" ] && rm -rf "$OMT_TMP"
}
trap down EXIT
OMT_TMP=$(mktemp -d /tmp/omt-bench.XXXXXX)
ip netns add "$NS"
omt_in "$NS" ip tuntap add mode tap name "$TAP"
omt_in "$NS" ip addr add 10.203.0.1/24 dev "$TAP"
omt_in "$NS" ip link set "$TAP" up
# The endpoint's subnet is a blackhole: frames are received, routed, dropped.
omt_in "$NS" ip route add blackhole 10.203.1.0/24
omt_in "$NS" sysctl -qw net.ipv4.ip_forward=1

HOOKS="none xdp tc"
[ -z "${OMT_BASELINE_LOADER:-}" ] || HOOKS="$HOOKS xdp@base tc@base"

measure() { # HOOK[@base] PAYLOAD
	local pid="" loader=$OMT_LOADER
	case $1 in *@base) loader=$OMT_BASELINE_LOADER ;; esac
	if [ "$1" != none ]; then
		omt_spawn "$NS" /dev/null "$OMT_TMP/guard.log" "$loader" guard --dev "$TAP" \
			--endpoint 10.203.1.7:51820 --peer-ip 10.203.0.2 --hook "${1%@base}"
		pid=$OMT_SPAWNED
		omt_wait_for "$OMT_TMP/guard.log" guarding >/dev/null
	fi
	omt_net "$NS" "$PPS" "$TAP" "$FRAMES" "$2" 10.203.0.2 10.203.1.7 51820
	if [ -n "$pid" ]; then
		kill "$pid"
		wait "$pid"
		: >"$OMT_TMP/guard.log"
	fi
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "tap receive path, $ROUNDS rounds x $FRAMES frames, median CPU ns per frame"
for payload in 96 1400; do
	declare -A res=()
	for r in $(seq "$ROUNDS"); do
		for hook in $HOOKS; do
			res[$hook]+="$(measure "$hook" "$payload") "
		done
	done
	base=$(echo "${res[none]}" | tr ' ' '\n' | grep . | median)
	for hook in $HOOKS; do
		m=$(echo "${res[$hook]}" | tr ' ' '\n' | grep . | median)
		awk -v p="$payload" -v h="$hook" -v m="$m" -v b="$base" \
			'BEGIN {printf "  payload %4d  %-8s %8.1f ns  %5.3fx no guard\n", p, h, m, m / b}'
	done
	unset res
done
