# Shared by the integration tests, benches and the demo: a three-namespace
# topology with a WireGuard tunnel across it. Source it, call omt_topo_up,
# and trap omt_topo_down. Every name carries the omt prefix and a per-run id.
#
#   guest ns (G)            router ns (R)                 consumer ns (C)
#   $OMT_G_DEV 10.201.0.2 = $OMT_R_DEV 10.201.0.1
#                           $OMT_R_CDEV 10.201.1.1 ===== $OMT_C_DEV 10.201.1.2
#   wg $OMT_G_WG 10.202.0.2  <--- WireGuard over UDP --->  wg $OMT_C_WG 10.202.0.1:51820
#
# The guard goes on $OMT_R_DEV in R: it sees every frame the guest sends.
# No namespace gets a default route: only the test subnets are reachable.

OMT_ROOT=${OMT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
OMT_LOADER=${OMT_LOADER:-$OMT_ROOT/build/bin/omerta-loader}
OMT_ID=${OMT_ID:-$(printf '%04x' $(( (RANDOM << 1 ^ $$) & 0xffff )))}
OMT_NS_G=omtg$OMT_ID
OMT_NS_R=omtr$OMT_ID
OMT_NS_C=omtc$OMT_ID
OMT_G_DEV=omtgr$OMT_ID
OMT_R_DEV=omtrg$OMT_ID
OMT_R_CDEV=omtrc$OMT_ID
OMT_C_DEV=omtcr$OMT_ID
OMT_G_WG=omtgw$OMT_ID
OMT_C_WG=omtcw$OMT_ID
OMT_G_IP=10.201.0.2
OMT_GW_IP=10.201.0.1
OMT_C_IP=10.201.1.2
OMT_WG_PORT=51820
OMT_ENDPOINT=$OMT_C_IP:$OMT_WG_PORT
OMT_G_TUN_IP=10.202.0.2
OMT_C_TUN_IP=10.202.0.1
OMT_TMP=
OMT_PIDS=()

omt_in() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# Only the network namespace: keeps the host's mounts (bpffs) in view.
omt_net() { local ns=$1; shift; nsenter --net=/var/run/netns/"$ns" "$@"; }

# Starts CMD in the background in NS's network namespace, stdout to OUT and
# stderr to ERR; OMT_SPAWNED is its PID (the command's own, not a subshell's).
# Teardown kills it.
omt_spawn() { # NS OUT ERR CMD...
	local ns=$1 out=$2 err=$3
	shift 3
	nsenter --net=/var/run/netns/"$ns" "$@" >"$out" 2>"$err" &
	OMT_SPAWNED=$!
	OMT_PIDS+=("$OMT_SPAWNED")
}

# Waits until FILE has a line matching PATTERN (grep -E), at most SECONDS
# (default 30: VMs boot under TCG on a shared machine).
omt_wait_for() { # FILE PATTERN [SECONDS]
	local i
	for i in $(seq $(( ${3:-30} * 20 ))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for '$2' in $1" >&2
	return 1
}

omt_wait_for_file() { # PATH
	local i
	for i in $(seq 600); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	echo "timed out waiting for $1" >&2
	return 1
}

omt_wg_up() { # NS IFACE ADDR/24 PRIVKEY LISTEN PEERPUB [ENDPOINT]
	local ns=$1 dev=$2 addr=$3 key=$4 port=$5 peer=$6 ep=${7:-}
	ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 wireguard-go "$dev" \
		>"$OMT_TMP/wg-$dev.log" 2>&1 &
	OMT_PIDS+=($!)
	local i
	for i in $(seq 100); do
		[ -S /var/run/wireguard/"$dev".sock ] && break
		sleep 0.05
	done
	omt_in "$ns" wg set "$dev" private-key "$key" listen-port "$port" \
		peer "$peer" allowed-ips 10.202.0.0/24 ${ep:+endpoint "$ep"} \
		${ep:+persistent-keepalive 1}
	omt_in "$ns" ip addr add "$addr" dev "$dev"
	omt_in "$ns" ip link set "$dev" up
}

omt_topo_up() {
	OMT_TMP=$(mktemp -d /tmp/omt-test.XXXXXX)
	ip netns add "$OMT_NS_G"
	ip netns add "$OMT_NS_R"
	ip netns add "$OMT_NS_C"
	ip link add "$OMT_R_DEV" netns "$OMT_NS_R" type veth peer name "$OMT_G_DEV" netns "$OMT_NS_G"
	ip link add "$OMT_R_CDEV" netns "$OMT_NS_R" type veth peer name "$OMT_C_DEV" netns "$OMT_NS_C"
	omt_in "$OMT_NS_G" ip addr add "$OMT_G_IP/24" dev "$OMT_G_DEV"
	omt_in "$OMT_NS_R" ip addr add "$OMT_GW_IP/24" dev "$OMT_R_DEV"
	omt_in "$OMT_NS_R" ip addr add 10.201.1.1/24 dev "$OMT_R_CDEV"
	omt_in "$OMT_NS_C" ip addr add "$OMT_C_IP/24" dev "$OMT_C_DEV"
	local ns
	for ns in "$OMT_NS_G" "$OMT_NS_R" "$OMT_NS_C"; do
		omt_in "$ns" ip link set lo up
		omt_in "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	done
	omt_in "$OMT_NS_G" ip link set "$OMT_G_DEV" up
	omt_in "$OMT_NS_R" ip link set "$OMT_R_DEV" up
	omt_in "$OMT_NS_R" ip link set "$OMT_R_CDEV" up
	omt_in "$OMT_NS_C" ip link set "$OMT_C_DEV" up
	omt_in "$OMT_NS_R" sysctl -qw net.ipv4.ip_forward=1
	omt_in "$OMT_NS_G" ip route add 10.201.1.0/24 via "$OMT_GW_IP"
	omt_in "$OMT_NS_C" ip route add 10.201.0.0/24 via 10.201.1.1

	local gk ck
	gk=$(wg genkey)
	ck=$(wg genkey)
	omt_wg_up "$OMT_NS_C" "$OMT_C_WG" "$OMT_C_TUN_IP/24" <(echo "$ck") "$OMT_WG_PORT" \
		"$(echo "$gk" | wg pubkey)"
	omt_wg_up "$OMT_NS_G" "$OMT_G_WG" "$OMT_G_TUN_IP/24" <(echo "$gk") 0 \
		"$(echo "$ck" | wg pubkey)" "$OMT_ENDPOINT"
}

# Waits for a ping through the tunnel to answer (WireGuard handshake done).
omt_tunnel_wait() {
	local i
	for i in $(seq 50); do
		omt_in "$OMT_NS_G" ping -c1 -W1 "$OMT_C_TUN_IP" >/dev/null 2>&1 && return 0
	done
	return 1
}

omt_topo_down() {
	set +e
	local p ns
	for p in "${OMT_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${OMT_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	OMT_PIDS=()
	ip netns del "$OMT_NS_G" 2>/dev/null
	ip netns del "$OMT_NS_R" 2>/dev/null
	ip netns del "$OMT_NS_C" 2>/dev/null
	for ns in "${OMT_NS_P[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rm -f /var/run/wireguard/"$OMT_G_WG".sock /var/run/wireguard/"$OMT_C_WG".sock
	[ -n "$OMT_TMP" ] && rm -rf "$OMT_TMP"
	OMT_TMP=
	return 0
}

# A provider namespace (R) and a consumer namespace (C) joined by a veth,
# the consumer's wireguard-go on $OMT_ENDPOINT, a server on the consumer's
# tunnel address ($OMT_C_TUN_IP:8000, serving $OMT_TMP/www, logging each
# request to $OMT_TMP/www.log), and the VM's WireGuard config in
# $OMT_TMP/vm.conf. With "wrong-key", the VM's config names a server key
# that is not the consumer's. The VM itself comes from 'omerta-loader exec'
# run in R (omt_exec).
# The provider (R) and consumer (C) namespaces joined by a veth: R is
# 10.201.1.1, C is $OMT_C_IP. R forwards.
omt_two_ns_up() {
	OMT_TMP=$(mktemp -d /tmp/omt-test.XXXXXX)
	ip netns add "$OMT_NS_R"
	ip netns add "$OMT_NS_C"
	ip link add "$OMT_R_CDEV" netns "$OMT_NS_R" type veth peer name "$OMT_C_DEV" netns "$OMT_NS_C"
	omt_in "$OMT_NS_R" ip addr add 10.201.1.1/24 dev "$OMT_R_CDEV"
	omt_in "$OMT_NS_C" ip addr add "$OMT_C_IP/24" dev "$OMT_C_DEV"
	local ns
	for ns in "$OMT_NS_R" "$OMT_NS_C"; do
		omt_in "$ns" ip link set lo up
		omt_in "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	done
	omt_in "$OMT_NS_R" ip link set "$OMT_R_CDEV" up
	omt_in "$OMT_NS_C" ip link set "$OMT_C_DEV" up
	omt_in "$OMT_NS_R" sysctl -qw net.ipv4.ip_forward=1
}

omt_provider_up() { # [wrong-key]
	omt_two_ns_up
	local vk ck server_pub
	vk=$(wg genkey)
	ck=$(wg genkey)
	omt_wg_up "$OMT_NS_C" "$OMT_C_WG" "$OMT_C_TUN_IP/24" <(echo "$ck") "$OMT_WG_PORT" \
		"$(echo "$vk" | wg pubkey)"
	# The consumer keeps talking: the provider takes silence for a lost VPN.
	omt_in "$OMT_NS_C" wg set "$OMT_C_WG" peer "$(echo "$vk" | wg pubkey)" persistent-keepalive 1
	server_pub=$(echo "$ck" | wg pubkey)
	[ "${1:-}" = wrong-key ] && server_pub=$(wg genkey | wg pubkey)
	cat >"$OMT_TMP/vm.conf" <<-EOC
		[Interface]
		PrivateKey = $vk
		Address = $OMT_G_TUN_IP/24
		[Peer]
		PublicKey = $server_pub
		Endpoint = $OMT_ENDPOINT
		AllowedIPs = 10.202.0.0/24
		PersistentKeepalive = 1
	EOC
	mkdir "$OMT_TMP/www"
	echo "hello from the consumer" >"$OMT_TMP/www/file"
	omt_spawn "$OMT_NS_C" "$OMT_TMP/www.log" "$OMT_TMP/www.err" python3 \
		"$OMT_ROOT/tests/integration/netpoke.py" http-sink "$OMT_C_TUN_IP" 8000 "$OMT_TMP/www"
	omt_wait_for "$OMT_TMP/www.log" ready
}

# The provider daemon in R (listening on 10.201.1.2's side: 10.201.1.1:7360)
# with a fresh provider key, a consumer identity in $OMT_TMP/consumer
# (OMERTA_HOME) allowed by the policy, the audit log in $OMT_TMP/audit.jsonl,
# and a file server on C's every address, port 8000 ($OMT_TMP/www/file).
# Extra policy text may follow as arguments (one line each).
OMT_API=10.201.1.1:7360

# DIR/omerta.ini: a provider listening on LISTEN with DIR/provider.key,
# its audit log in DIR/audit.jsonl, allowing $OMT_CONSUMER_KEY. The
# consumers' WireGuard servers are on private addresses (10.201.I.2), which
# the network must allow (endpoints).
omt_provider_ini() { # DIR LISTEN MAX_VMS
	cat >"$1/omerta.ini" <<-EOC
		[provider]
		listen = $2
		key = $1/provider.key
		max_vms = $3
		audit_log = $1/audit.jsonl
		state_dir = $1/state

		[network "default"]
		priority = 0
		endpoints = 10.201.0.0/16

		[consumer "$OMT_CONSUMER_KEY"]
		allow = yes
		network = default
		priority = 10
		max_cpus = 2
		max_memory_mib = 512
		max_jobs = 4
	EOC
}
omt_daemon_up() { # [MAX_VMS]
	omt_daemon_prepare "${1:-2}"
	omt_daemon_start
}

# omt_daemon_up but the start: the namespaces, keys, policy and file server.
omt_daemon_prepare() { # [MAX_VMS]
	omt_two_ns_up
	mkdir -p "$OMT_TMP/consumer" "$OMT_TMP/www"
	echo "hello from the consumer" >"$OMT_TMP/www/file"
	"$OMT_ROOT/build/bin/omerta" keygen "$OMT_TMP/provider.key" >/dev/null 2>&1
	OMT_CONSUMER_KEY=$(OMERTA_HOME=$OMT_TMP/consumer "$OMT_ROOT/build/bin/omerta" keygen 2>/dev/null)
	omt_provider_ini "$OMT_TMP" "$OMT_API" "${1:-2}"
	omt_spawn "$OMT_NS_C" "$OMT_TMP/www.log" "$OMT_TMP/www.err" python3 \
		"$OMT_ROOT/tests/integration/netpoke.py" http-sink 0.0.0.0 8000 "$OMT_TMP/www"
	omt_wait_for "$OMT_TMP/www.log" ready
}

omt_daemon_start() {
	omt_spawn "$OMT_NS_R" /dev/null "$OMT_TMP/daemon.log" "$OMT_LOADER" run --config "$OMT_TMP/omerta.ini"
	OMT_DAEMON_PID=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/daemon.log" 'listening on|error' || true
	grep -q "listening on" "$OMT_TMP/daemon.log" || omt_fail "daemon did not start: $(cat "$OMT_TMP/daemon.log")"
}

# Two providers and a consumer, as three machines would be (omerta swarm):
#   provider ns P1 10.201.1.1 = 10.201.1.2 consumer ns C 10.201.2.2 = 10.201.2.1 P2
# Each provider is a daemon in its own network namespace and its own mount
# namespace (a /run and a bpffs of its own), its API on 10.201.I.1:7360,
# its files in $OMT_TMP/pI/ (omerta.ini, provider.key, audit.jsonl,
# daemon.log). The consumer ($OMT_TMP/consumer as OMERTA_HOME) is allowed
# by both; $OMT_TMP/providers lists both, for 'omerta swarm --providers'.
OMT_NS_P=(omtp1$OMT_ID omtp2$OMT_ID)
omt_swarm_up() {
	OMT_TMP=$(mktemp -d /tmp/omt-test.XXXXXX)
	mkdir -p "$OMT_TMP/consumer"
	OMT_CONSUMER_KEY=$(OMERTA_HOME=$OMT_TMP/consumer "$OMT_ROOT/build/bin/omerta" keygen 2>/dev/null)
	ip netns add "$OMT_NS_C"
	omt_in "$OMT_NS_C" ip link set lo up
	omt_in "$OMT_NS_C" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	: >"$OMT_TMP/providers"
	local i ns d
	for i in 1 2; do
		ns=${OMT_NS_P[i - 1]} d=$OMT_TMP/p$i
		ip netns add "$ns"
		ip link add "omtpc$i$OMT_ID" netns "$ns" type veth peer name "omtcp$i$OMT_ID" \
			netns "$OMT_NS_C"
		omt_in "$ns" ip addr add "10.201.$i.1/24" dev "omtpc$i$OMT_ID"
		omt_in "$OMT_NS_C" ip addr add "10.201.$i.2/24" dev "omtcp$i$OMT_ID"
		omt_in "$ns" ip link set lo up
		omt_in "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		omt_in "$ns" sysctl -qw net.ipv4.ip_forward=1
		omt_in "$ns" ip link set "omtpc$i$OMT_ID" up
		omt_in "$OMT_NS_C" ip link set "omtcp$i$OMT_ID" up
		mkdir "$d"
		"$OMT_ROOT/build/bin/omerta" keygen "$d/provider.key" >/dev/null 2>&1
		omt_provider_ini "$d" "10.201.$i.1:7360" 2
		omt_swarm_provider_start "$i"
		echo "10.201.$i.1:7360" >>"$OMT_TMP/providers"
	done
}

# Provider I's daemon, in its own mount namespace: its /run and its pins
# are its own, and go with it.
omt_swarm_provider_start() { # I
	local d=$OMT_TMP/p$1
	omt_spawn "${OMT_NS_P[$1 - 1]}" /dev/null "$d/daemon.log" \
		unshare --mount --propagation private sh -c \
		'mount -t tmpfs -o mode=0755 omt-run /run && mount -t bpf omt-bpf /sys/fs/bpf && exec "$@"' \
		sh "$OMT_LOADER" run --config "$d/omerta.ini"
	omt_wait_for "$d/daemon.log" 'listening on|error' || true
	grep -q "listening on" "$d/daemon.log" || omt_fail "provider $1 did not start: $(cat "$d/daemon.log")"
}

# omerta submit in the consumer namespace, as the test consumer.
omt_submit() { # ARGS...
	OMERTA_HOME=$OMT_TMP/consumer nsenter --net=/var/run/netns/"$OMT_NS_C" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" "$@"
}

# Runs 'omerta-loader exec' in the provider namespace with the VM config;
# stdout to $OMT_TMP/out, stderr to $OMT_TMP/err; returns its status.
omt_exec() { # ARGS...
	omt_net "$OMT_NS_R" "$OMT_LOADER" exec --vpn-config "$OMT_TMP/vm.conf" \
		"$@" >"$OMT_TMP/out" 2>"$OMT_TMP/err"
}

# Runs 'omerta-loader exec ARGS' in the provider namespace and checks that
# it exits STATUS saying TEXT (its stderr in $OMT_TMP/err).
omt_expect_exec() { # STATUS TEXT ARGS...
	local want=$1 text=$2 rc=0
	shift 2
	omt_net "$OMT_NS_R" "$OMT_LOADER" exec "$@" >/dev/null 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = "$want" ] || omt_fail "'$*' exited $rc, not $want: $(cat "$OMT_TMP/err")"
	grep -qF -- "$text" "$OMT_TMP/err" || omt_fail "'$*' said: $(cat "$OMT_TMP/err")"
}

# Nothing of a job is left: QEMU, taps, NAT tables, cgroups, job directories, pins.
omt_assert_no_jobs() {
	local left=""
	pgrep -f 'qemu-system.*omerta-' >/dev/null && left+=" qemu"
	omt_in "$OMT_NS_R" ip -o link show | grep -q ': omt[0-9a-f]\{8\}' && left+=" tap"
	omt_in "$OMT_NS_R" nft list tables 2>/dev/null | grep -q omerta_ && left+=" nft"
	ls -d /sys/fs/cgroup/*/omerta /sys/fs/cgroup/omerta 2>/dev/null | grep -q . && left+=" cgroup"
	ls /run/omerta/jobs/ 2>/dev/null | grep -q . && left+=" jobdir"
	[ -e /sys/fs/bpf/omerta ] && left+=" pins"
	[ -z "$left" ] || omt_fail "left behind:$left"
}

omt_fail() { echo "FAILED: $*" >&2; exit 1; }

# Starts the guard on the router's guest-facing veth; extra arguments are
# passed on. Waits until it is attached. OMT_GUARD_PID, $OMT_TMP/events, $OMT_TMP/guard.log.
omt_guard_start() {
	omt_spawn "$OMT_NS_R" "$OMT_TMP/events" "$OMT_TMP/guard.log" \
		"$OMT_LOADER" guard --dev "$OMT_R_DEV" --endpoint "$OMT_ENDPOINT" --json "$@"
	OMT_GUARD_PID=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/guard.log" 'guarding|error' || true
	grep -q guarding "$OMT_TMP/guard.log" || omt_fail "guard did not start: $(cat "$OMT_TMP/guard.log")"
}

# Waits for a rogue event with REASON (and, optionally, a jq condition).
omt_expect_event() { # REASON [JQ-CONDITION]
	local i cond=${2:-true}
	for i in $(seq 100); do
		jq -e --arg r "$1" "select(.reason == \$r and .event == \"rogue\" and ($cond))" \
			"$OMT_TMP/events" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "events so far:" >&2
	cat "$OMT_TMP/events" >&2
	omt_fail "no rogue event with reason $1 ($cond)"
}

# The pinned totals: packets counted for a direction and a reason, by their
# enum names as bpftool prints them (OMT_DIR_FROM_GUEST, OMT_R_PASS, ...):
# omt_totals' entries and omt_vm_counts' (per CPU, [direction][reason],
# the guard's first interface), whose index is the enum's order in
# bpf/omerta_abi.h.
omt_total() { # DIRECTION REASON
	local d r hash vm
	case $1 in
	OMT_DIR_FROM_GUEST) d=0 ;;
	OMT_DIR_TO_GUEST) d=1 ;;
	*) omt_fail "omt_total: no direction '$1'" ;;
	esac
	r=$(sed -n '/^enum omt_reason {/,/^};/p' "$OMT_ROOT/bpf/omerta_abi.h" |
		grep -o '^[[:space:]]*OMT_R_[A-Z0-9_]*' | tr -d ' \t' | sed -n "/^$2\$/=" | head -1)
	[ -n "$r" ] || omt_fail "omt_total: no reason '$2' in bpf/omerta_abi.h"
	r=$((r - 1))
	hash=$(bpftool -j map dump pinned "$OMT_PIN_DIR/omt_totals" 2>/dev/null |
		jq --arg d "$1" --arg r "$2" \
			'[.[] | .formatted | select(.key.direction == $d and .key.reason == $r) | .value.packets] | add // 0' 2>/dev/null)
	vm=$(bpftool -j map dump pinned "$OMT_PIN_DIR/omt_vm_counts" 2>/dev/null |
		jq "[.[].formatted.values[].value.totals[$d][$r].packets] | add // 0" 2>/dev/null)
	echo $(( ${hash:-0} + ${vm:-0} ))
}

OMT_PIN_DIR=/sys/fs/bpf/omerta

omt_test_teardown() {
	set +e	# runs as the EXIT trap of a set -e test: every step must run
	local p
	for p in "${OMT_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${OMT_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	OMT_PIDS=()
	# A guard or job killed on purpose (or by a failing test) leaves pins,
	# programs, job directories and NAT tables behind.
	if [ -e /var/run/netns/"$OMT_NS_R" ]; then
		omt_net "$OMT_NS_R" "$OMT_LOADER" cleanup >/dev/null 2>&1
	fi
	omt_topo_down
}
