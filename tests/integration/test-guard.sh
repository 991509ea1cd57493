# Integration tests of 'omerta-loader guard': a real wireguard-go tunnel whose
# UDP crosses the guarded veth (topology in scripts/lib.sh). Each test_*
# function runs in a subshell of its own with set -e; the runner tears down.

POKE=$OMT_ROOT/tests/integration/netpoke.py


sinks_up() {
	omt_spawn "$OMT_NS_C" /dev/null "$OMT_TMP/sink.err" python3 "$POKE" tcp-sink 8080 "$OMT_TMP/tcp"
	omt_spawn "$OMT_NS_C" /dev/null "$OMT_TMP/sink.err" python3 "$POKE" udp-sink 9999 "$OMT_TMP/udp"
	omt_wait_for "$OMT_TMP/tcp" ready
	omt_wait_for "$OMT_TMP/udp" ready
}

udp_received() { grep -c '^got' "$OMT_TMP/udp" || true; }

# Without a guard every rogue path works: the checks below can fail.
rogue_paths_open() {
	omt_in "$OMT_NS_G" python3 "$POKE" tcp "$OMT_C_IP" 8080 || omt_fail "direct TCP fails even unguarded"
	omt_in "$OMT_NS_G" ping -c1 -W2 "$OMT_GW_IP" >/dev/null || omt_fail "ping of the gateway fails unguarded"
	omt_in "$OMT_NS_G" python3 "$POKE" udp "$OMT_C_IP" 9999 hello
	omt_wait_for "$OMT_TMP/udp" 'got 1'
}

guard_blocks_rogue_and_passes_tunnel() { # HOOK
	omt_topo_up
	omt_tunnel_wait || omt_fail "tunnel did not come up"
	sinks_up
	rogue_paths_open

	omt_guard_start --hook "$1" --peer-ip "$OMT_G_IP"
	omt_in "$OMT_NS_G" ping -c3 -i0.2 -W2 "$OMT_C_TUN_IP" >/dev/null ||
		omt_fail "ping through the tunnel fails with the guard"

	! omt_in "$OMT_NS_G" python3 "$POKE" tcp "$OMT_C_IP" 8080 || omt_fail "direct TCP got through"
	omt_expect_event not_udp '.proto == "tcp" and .dst == "10.201.1.2:8080" and .src == "10.201.0.2:" + (.src | split(":")[1])'
	! omt_in "$OMT_NS_G" ping -c1 -W1 "$OMT_GW_IP" >/dev/null || omt_fail "ping of the gateway got through"
	omt_expect_event wrong_dst '.proto == "icmp" and .dst == "10.201.0.1"'
	! omt_in "$OMT_NS_G" ping -c1 -W1 "$OMT_C_IP" >/dev/null || omt_fail "direct ping of the endpoint got through"
	omt_expect_event not_udp '.proto == "icmp"'
	omt_in "$OMT_NS_G" python3 "$POKE" udp "$OMT_C_IP" 9999 hello
	omt_expect_event wrong_port '.dst == "10.201.1.2:9999"'
	omt_in "$OMT_NS_G" python3 "$POKE" udp "$OMT_C_IP" "$OMT_WG_PORT" "not wireguard at all"
	omt_expect_event not_wireguard ".dst == \"$OMT_ENDPOINT\" and .hook == \"$([ "$1" = xdp ] && echo xdp || echo tc_ingress)\""
	# Valid WireGuard, but behind an 802.1Q tag (tc sees it untagged, with
	# the tag in skb metadata; XDP sees the raw frame).
	omt_in "$OMT_NS_G" python3 "$POKE" vlan-wg "$OMT_G_DEV" "$OMT_G_IP" "$OMT_C_IP" "$OMT_WG_PORT"
	omt_expect_event vlan
	[ "$(udp_received)" = 1 ] || omt_fail "rogue UDP reached the consumer"
	[ "$(grep -c '^got' "$OMT_TMP/tcp")" = 1 ] || omt_fail "rogue TCP reached the consumer"

	# Counters: the tunnel's frames passed, the raw datagram was dropped.
	[ "$(omt_total OMT_DIR_FROM_GUEST OMT_R_PASS)" -gt 0 ] || omt_fail "no passed frames counted"
	[ "$(omt_total OMT_DIR_FROM_GUEST OMT_R_NOT_WIREGUARD)" -ge 1 ] || omt_fail "not_wireguard drop not counted"
	# The tunnel's own flow: claimed in omt_vm (the guest's address), its
	# frames counted per flow in omt_vm_counts, not in omt_flows.
	[ "$(bpftool -j map dump pinned "$OMT_PIN_DIR/omt_vm" |
		jq -r '.[0].formatted.value.tunnel[0] | select(.set == 1) | .ip | map(tostring) | join(".")')" = "$OMT_G_IP" ] ||
		omt_fail "omt_vm has no tunnel flow from $OMT_G_IP"
	[ "$(bpftool -j map dump pinned "$OMT_PIN_DIR/omt_vm_counts" |
		jq '[.[0].formatted.values[].value.tunnel[0].packets] | add')" -gt 0 ] ||
		omt_fail "the tunnel's flow has no packets counted"
	bpftool map dump pinned "$OMT_PIN_DIR/omt_flows" | grep -q '"reason": "OMT_R_NOT_WIREGUARD"' ||
		omt_fail "flows map has no not_wireguard flow"

	# A clean stop removes everything: programs, qdisc, pins.
	kill -TERM "$OMT_GUARD_PID"
	wait "$OMT_GUARD_PID" || omt_fail "guard exited $? on SIGTERM"
	[ ! -e "$OMT_PIN_DIR" ] || omt_fail "pins left after SIGTERM: $(ls "$OMT_PIN_DIR")"
	! omt_in "$OMT_NS_R" ip link show "$OMT_R_DEV" | grep -q xdp || omt_fail "XDP left attached"
	[ -z "$(omt_in "$OMT_NS_R" tc qdisc show dev "$OMT_R_DEV" | grep clsact)" ] ||
		omt_fail "clsact qdisc left behind"
	omt_in "$OMT_NS_G" python3 "$POKE" tcp "$OMT_C_IP" 8080 || omt_fail "TCP still blocked after detach"
}

test_guard_tc() {
	guard_blocks_rogue_and_passes_tunnel tc
}

test_guard_xdp() {
	guard_blocks_rogue_and_passes_tunnel xdp
}

test_kill_on_rogue() {
	omt_topo_up
	omt_tunnel_wait || omt_fail "tunnel did not come up"
	sleep 600 &
	local victim=$!
	OMT_PIDS+=("$victim")
	omt_guard_start --peer-ip "$OMT_G_IP" --on-rogue "kill:$victim"
	omt_in "$OMT_NS_G" ping -c2 -i0.2 -W2 "$OMT_C_TUN_IP" >/dev/null || omt_fail "tunnel broken"
	kill -0 "$victim" || omt_fail "victim died before any rogue traffic"
	omt_in "$OMT_NS_G" python3 "$POKE" udp "$OMT_C_IP" 9999 rogue
	omt_expect_event wrong_port
	local status=0
	wait "$victim" || status=$?
	[ "$status" = 137 ] || omt_fail "victim ended with status $status, not SIGKILL"
	omt_wait_for "$OMT_TMP/guard.log" "sent SIGKILL to PID $victim"
}

test_sigkill_fails_closed() {
	omt_topo_up
	omt_tunnel_wait || omt_fail "tunnel did not come up"
	sinks_up
	omt_guard_start --hook xdp --peer-ip "$OMT_G_IP"
	# While it runs, cleanup leaves it and its pins alone.
	omt_net "$OMT_NS_R" "$OMT_LOADER" cleanup || omt_fail "cleanup failed"
	[ -e "$OMT_PIN_DIR/omt_policy" ] || omt_fail "cleanup removed a live guard's pins"
	omt_in "$OMT_NS_R" ip link show "$OMT_R_DEV" | grep -q xdp || omt_fail "cleanup detached a live guard"
	kill -KILL "$OMT_GUARD_PID"
	wait "$OMT_GUARD_PID" 2>/dev/null || true

	# The guard is still in place and still counting.
	[ -e "$OMT_PIN_DIR/omt_policy" ] || omt_fail "pins vanished with the process"
	omt_in "$OMT_NS_R" ip link show "$OMT_R_DEV" | grep -q xdp || omt_fail "XDP detached by SIGKILL"
	local before
	before=$(omt_total OMT_DIR_FROM_GUEST OMT_R_WRONG_PORT)
	omt_in "$OMT_NS_G" python3 "$POKE" udp "$OMT_C_IP" 9999 rogue
	sleep 0.3
	[ "$(omt_total OMT_DIR_FROM_GUEST OMT_R_WRONG_PORT)" -gt "$before" ] || omt_fail "drop after SIGKILL not counted"
	[ "$(udp_received)" = 0 ] || omt_fail "rogue UDP got through after SIGKILL"
	omt_in "$OMT_NS_G" ping -c2 -i0.2 -W2 "$OMT_C_TUN_IP" >/dev/null ||
		omt_fail "tunnel broken after SIGKILL"

	# A second guard refuses to start over the first one's pins.
	local rc=0
	omt_net "$OMT_NS_R" "$OMT_LOADER" guard --dev "$OMT_R_DEV" --endpoint "$OMT_ENDPOINT" \
		2>"$OMT_TMP/second.log" || rc=$?
	[ "$rc" = 1 ] || omt_fail "second guard exited $rc"
	grep -q "omt_policy is pinned already" "$OMT_TMP/second.log" || omt_fail "no clear refusal"

	# The clean-up verb removes it all, and the rogue path opens again.
	omt_net "$OMT_NS_R" "$OMT_LOADER" cleanup || omt_fail "cleanup failed"
	[ ! -e "$OMT_PIN_DIR" ] || omt_fail "pins left after cleanup"
	[ ! -e /run/omerta/guard.lock ] || omt_fail "the dead guard's lock file left after cleanup"
	! omt_in "$OMT_NS_R" ip link show "$OMT_R_DEV" | grep -q xdp || omt_fail "XDP left after cleanup"
	[ -z "$(omt_in "$OMT_NS_R" tc qdisc show dev "$OMT_R_DEV" | grep clsact)" ] ||
		omt_fail "clsact qdisc left after cleanup"
	omt_in "$OMT_NS_G" python3 "$POKE" udp "$OMT_C_IP" 9999 now-open
	omt_wait_for "$OMT_TMP/udp" 'got 1'
}

test_bad_arguments() {
	omt_topo_up
	local rc
	expect_usage() { # EXPECTED-RC TEXT ARGS...
		local want=$1 text=$2
		shift 2
		rc=0
		omt_net "$OMT_NS_R" "$OMT_LOADER" "$@" >/dev/null 2>"$OMT_TMP/err" || rc=$?
		[ "$rc" = "$want" ] || omt_fail "'$*' exited $rc, not $want"
		grep -qF -- "$text" "$OMT_TMP/err" || omt_fail "'$*' said: $(cat "$OMT_TMP/err")"
	}
	expect_usage 2 "'10.0.0.1'" guard --dev "$OMT_R_DEV" --endpoint 10.0.0.1
	expect_usage 2 "'ebpf'" guard --dev "$OMT_R_DEV" --endpoint 10.0.0.1:1 --hook ebpf
	expect_usage 2 "'kill:abc'" guard --dev "$OMT_R_DEV" --endpoint 10.0.0.1:1 --on-rogue kill:abc
	expect_usage 2 "'10.0.0'" guard --dev "$OMT_R_DEV" --endpoint 10.0.0.1:1 --peer-ip 10.0.0
	expect_usage 2 "--dev and --endpoint are required" guard --endpoint 10.0.0.1:1
	expect_usage 1 "'omtnosuch0'" guard --dev omtnosuch0 --endpoint 10.0.0.1:1
	expect_usage 2 "unknown verb 'gaurd'" gaurd
	[ ! -e "$OMT_PIN_DIR" ] || omt_fail "a refused start left pins"
}
