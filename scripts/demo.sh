#!/usr/bin/env bash
# The demo: a guest and a consumer in namespaces of their own, a real
# WireGuard tunnel between them, the guard on the guest's link. The tunnel
# works; everything else the guest tries is dropped in the kernel and shows
# up as an event and in the pinned maps. Then jobs in microVMs, a provider
# daemon with a consumer, and a swarm of Work Queue workers on two
# providers. Nothing is left behind.
set -eu
cd "$(dirname "$0")/.."
source scripts/lib.sh
POKE=tests/integration/netpoke.py

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
trap omt_test_teardown EXIT

say "Three namespaces: guest ($OMT_NS_G), host/router ($OMT_NS_R), consumer ($OMT_NS_C)"
omt_topo_up
echo "guest $OMT_G_IP --[$OMT_R_DEV]-- host --- consumer $OMT_C_IP, WireGuard endpoint $OMT_ENDPOINT"
omt_tunnel_wait || { echo "the tunnel did not come up" >&2; exit 1; }
omt_spawn "$OMT_NS_C" /dev/null /dev/null python3 "$POKE" tcp-sink 8080 "$OMT_TMP/tcp"
omt_wait_for "$OMT_TMP/tcp" ready

say "Unguarded, the guest reaches the consumer directly (TCP to $OMT_C_IP:8080)"
omt_in "$OMT_NS_G" python3 "$POKE" tcp "$OMT_C_IP" 8080 && echo "connected: the guest is not contained"

say "omerta-loader guard --dev $OMT_R_DEV --endpoint $OMT_ENDPOINT --peer-ip $OMT_G_IP --json"
omt_guard_start --peer-ip "$OMT_G_IP"
cat "$OMT_TMP/guard.log"

say "Through the tunnel: ping $OMT_C_TUN_IP (the consumer's tunnel address)"
omt_in "$OMT_NS_G" ping -c3 -i0.3 "$OMT_C_TUN_IP" | tail -2

say "Everything else the guest tries is dropped"
omt_in "$OMT_NS_G" python3 "$POKE" tcp "$OMT_C_IP" 8080 || echo "TCP to $OMT_C_IP:8080: blocked"
omt_in "$OMT_NS_G" ping -c1 -W1 "$OMT_GW_IP" >/dev/null || echo "ping of the host $OMT_GW_IP: blocked"
omt_in "$OMT_NS_G" python3 "$POKE" udp "$OMT_C_IP" 53 "dns?" && echo "UDP to $OMT_C_IP:53: sent (and dropped)"
omt_in "$OMT_NS_G" python3 "$POKE" udp "$OMT_C_IP" "$OMT_WG_PORT" "not wireguard" &&
	echo "plain UDP to the endpoint's port: sent (and dropped)"
omt_expect_event not_wireguard >/dev/null

say "The rogue events (one JSON object per line)"
cat "$OMT_TMP/events"

say "The counters: bpftool map dump pinned /sys/fs/bpf/omerta/omt_vm_counts (per CPU)"
bpftool -j map dump pinned /sys/fs/bpf/omerta/omt_vm_counts |
	jq -r --argjson reasons "$(sed -n '/^enum omt_reason {/,/^};/p' "$OMT_ROOT/bpf/omerta_abi.h" |
		grep -o '^[[:space:]]*OMT_R_[A-Z0-9_]*' | tr -d ' \t' | jq -R . | jq -s .)" '
	[.[0].formatted.values[].value.totals] as $cpus
	| range(2) as $d | range($reasons | length - 1) as $r
	| ([$cpus[][$d][$r].packets] | add) as $p | ([$cpus[][$d][$r].bytes] | add) as $b
	| select($p > 0)
	| "\(["OMT_DIR_FROM_GUEST", "OMT_DIR_TO_GUEST"][$d])  \($reasons[$r])  packets \($p)  bytes \($b)"' |
	awk '{printf "  %-20s %-22s %s %-6s %s %s\n", $1, $2, $3, $4, $5, $6}'
echo "(the tunnel's own flow, per direction: omt_vm and its counters)"
bpftool map dump pinned /sys/fs/bpf/omerta/omt_vm | sed -n '/"tunnel"/,$p' | sed -n '1,12p'
echo "(any other flow: omt_flows)"
bpftool map dump pinned /sys/fs/bpf/omerta/omt_flows | sed -n '1,16p'

say "Stopping the guard detaches it and unpins its maps"
kill -TERM "$OMT_GUARD_PID"
wait "$OMT_GUARD_PID" || true
ls /sys/fs/bpf/omerta 2>/dev/null || echo "/sys/fs/bpf/omerta: gone"
omt_test_teardown

# ---------------------------------------------------------------- microVMs
say "Part 2: jobs in microVMs. A provider namespace and a consumer with its own WireGuard server"
omt_provider_up
echo "consumer: WireGuard on $OMT_ENDPOINT, a file server on its tunnel address $OMT_C_TUN_IP:8000"
echo "the VM's WireGuard config ($OMT_TMP/vm.conf), keys elided:"
sed 's/= .*=$/= .../' "$OMT_TMP/vm.conf" | sed 's/^/    /'

say "omerta-loader exec --vpn-config vm.conf --description 'fetch a file' -- wget ... $OMT_C_TUN_IP:8000/file"
rc=0
omt_net "$OMT_NS_R" "$OMT_LOADER" exec --vpn-config "$OMT_TMP/vm.conf" --description "fetch a file" \
	-- sh -c "wget -q -O - http://$OMT_C_TUN_IP:8000/file" || rc=$?
echo "exit status: $rc (the workload's)"
echo "the consumer's server saw: $(grep GET "$OMT_TMP/www.log")"

say "A hostile job: it drops the guest's firewall (here: --guest-firewall off) and pings the host"
rc=0
omt_net "$OMT_NS_R" "$OMT_LOADER" exec --vpn-config "$OMT_TMP/vm.conf" --description "innocent, honest" \
	--guest-firewall off --json -- sh -c 'gw=$(ip route | awk "/ via /{print \$3; exit}")
		echo "about to ping the host at $gw"; ping -c 3 "$gw"; echo "still here?"' || rc=$?
echo "exit status: $rc (240: rogue traffic, VM killed)"
omt_assert_no_jobs && echo "nothing left behind: no QEMU, tap, NAT table, cgroup or job directory"

say "A real workload: Python on the debian image, an input file in, an output file back"
seq 1 100 >"$OMT_TMP/numbers.txt"
mkdir "$OMT_TMP/results"
printf 'import statistics\nxs = [int(l) for l in open("/job/input/numbers.txt")]\nopen("/job/output/stats.txt", "w").write("mean %%s, stdev %%.2f\\n" %% (statistics.mean(xs), statistics.stdev(xs)))\nprint("done with", len(xs), "numbers")\n' >"$OMT_TMP/stats.py"
sed 's/^/    /' "$OMT_TMP/stats.py"
omt_net "$OMT_NS_R" "$OMT_LOADER" exec --vpn-config "$OMT_TMP/vm.conf" --description "statistics" \
	--image debian --language python --script "$OMT_TMP/stats.py" \
	--input "$OMT_TMP/numbers.txt" --output "$OMT_TMP/results" 2>"$OMT_TMP/py.err"
grep -E "image debian sha256|output:" "$OMT_TMP/py.err" | sed 's/^/    /'
echo "results/stats.txt: $(cat "$OMT_TMP/results/stats.txt")"

say "The owner comes back: a counting job is checkpointed (saved, its QEMU gone) and restored"
omt_spawn "$OMT_NS_R" "$OMT_TMP/count.out" "$OMT_TMP/count.err" "$OMT_LOADER" exec \
	--vpn-config "$OMT_TMP/vm.conf" --description "count to 15" \
	-- sh -c 'i=0; while [ $i -lt 15 ]; do echo $i; i=$((i+1)); sleep 0.3; done'
omt_wait_for "$OMT_TMP/count.out" '^4$' 90
job=$(ls /run/omerta/jobs)
"$OMT_LOADER" checkpoint "$job"
echo "QEMU processes now: $(pgrep -c -f "qemu-system.*omerta-$job" || true)"
sleep 2
"$OMT_LOADER" restore "$job"
wait "$OMT_SPAWNED" || true
echo "its output, intact: $(tr '\n' ' ' <"$OMT_TMP/count.out")"
omt_test_teardown

# ---------------------------------------------------------------- the daemon
say "Part 3: the whole story. A provider daemon, a consumer with a key of its own"
omt_daemon_up
echo "policy ($OMT_TMP/omerta.ini):"
sed 's/^/    /' "$OMT_TMP/omerta.ini"
echo "daemon: $(grep listening "$OMT_TMP/daemon.log")"

say "omerta submit --provider $OMT_API --description 'fetch a file' -- wget ... \$OMERTA_CONSUMER_IP:8000/file"
echo "(omerta makes its own WireGuard server - wireguard-go here - and tears it down after)"
rc=0
omt_submit --description "fetch a file" -- sh -c 'wget -q -O - http://$OMERTA_CONSUMER_IP:8000/file' || rc=$?
echo "exit status: $rc"

say "A hostile job: it skips the guest firewall with a raw packet socket and spoofs ARP"
rc=0
omt_submit --description "totally harmless" -- sh -c 'gw=$(ip route | awk "/ via /{print \$3; exit}")
	ip addr add 10.213.0.99/32 dev eth0; arping -c 3 -s 10.213.0.99 -I eth0 "$gw"' || rc=$?
echo "exit status: $rc (240: rogue traffic, VM killed)"

say "A job whose VPN endpoint is the provider's own address is refused (endpoint rules)"
omt_submit --endpoint-ip 10.201.1.1 --description "knock knock" -- true || true

say "A stranger's key is refused"
mkdir -p "$OMT_TMP/stranger"
OMERTA_HOME=$OMT_TMP/stranger "$OMT_ROOT/build/bin/omerta" keygen >/dev/null 2>&1
OMERTA_HOME=$OMT_TMP/stranger nsenter --net=/var/run/netns/"$OMT_NS_C" "$OMT_ROOT/build/bin/omerta" \
	submit --provider "$OMT_API" --description "let me in" -- true || true

say "The audit log ($OMT_TMP/audit.jsonl): every decision and outcome"
jq -c '{ts, event, decision, reason, description, job, outcome, exit_status, rogue_events, tunnel_bytes_in, tunnel_bytes_out, image, image_sha256} | with_entries(select(.value != null))' "$OMT_TMP/audit.jsonl"

say "The daemon's log"
sed 's/^/    /' "$OMT_TMP/daemon.log"
omt_test_teardown

# ---------------------------------------------------------------- a swarm
say "Part 4: a swarm. Two providers, each a daemon in a namespace of its own; Work Queue workers as their jobs"
omt_swarm_up
echo "the providers file ($OMT_TMP/providers): IPv4:PORT [PROVIDER-KEY] a line"
sed 's/^/    /' "$OMT_TMP/providers"
mkdir "$OMT_TMP/work"
cat >"$OMT_TMP/manager.py" <<'EOF'
import os, sys, time
import work_queue as wq

q = wq.WorkQueue(port=int(os.environ["OMERTA_SWARM_PORT"]))
q.specify_password_file(os.environ["OMERTA_SWARM_PASSWORD_FILE"])
print("manager listening on port", q.port, flush=True)
work = sys.argv[1]
for i in range(6):
    with open(f"{work}/in.{i}", "w") as f:
        f.writelines(f"{k}\n" for k in range(1, 1000 * (i + 1) + 1))
    t = wq.Task("awk '{ s += $1 } END { print s }' in.txt > out.txt")
    t.specify_input_file(f"{work}/in.{i}", "in.txt", cache=False)
    t.specify_output_file(f"{work}/out.{i}", "out.txt", cache=False)
    t.specify_tag(str(i))
    q.submit(t)
deadline = time.time() + 420
while not q.empty():
    if time.time() > deadline:
        sys.exit("no workers in time")
    t = q.wait(5)
    if t and (t.result != wq.WORK_QUEUE_RESULT_SUCCESS or t.return_status != 0):
        sys.exit(f"task {t.tag} failed: result {t.result}, status {t.return_status}")
    if t:
        print(f"task {t.tag} done by the worker at {t.host}", flush=True)
EOF
echo "the manager, $OMT_TMP/manager.py (Python on Debian's work_queue module):"
sed 's/^/    /' "$OMT_TMP/manager.py"

say "omerta swarm --providers providers --workers 2 --description 'demo: six sums' -- /usr/bin/python3 manager.py work"
omt_spawn "$OMT_NS_C" "$OMT_TMP/manager.out" "$OMT_TMP/swarm.err" \
	env OMERTA_HOME="$OMT_TMP/consumer" "$OMT_ROOT/build/bin/omerta" swarm \
	--providers "$OMT_TMP/providers" --workers 2 --description "demo: six sums" \
	-- /usr/bin/python3 "$OMT_TMP/manager.py" "$OMT_TMP/work"
swarm=$OMT_SPAWNED
omt_wait_for "$OMT_TMP/swarm.err" ' running$' 300 || { cat "$OMT_TMP/swarm.err"; exit 1; }
table=$(omt_in "$OMT_NS_C" nft list tables | awk '/omerta_swarm_/ { print $3 }')
echo "while it runs: through the swarm's WireGuard interface only the manager's port, and that"
echo "port through no other interface (nft list table inet $table):"
omt_in "$OMT_NS_C" nft list table inet "$table" | sed 's/^/    /'
omt_in "${OMT_NS_P[0]}" python3 "$POKE" tcp 10.201.1.2 9123 ||
	echo "provider 1, outside the tunnel, to the consumer's 10.201.1.2:9123: no answer (dropped)"
rc=0
wait "$swarm" || rc=$?
echo "omerta swarm exited $rc (the manager's exit status)"

say "The swarm's lines on stderr: a pilot per provider queued, running, then ended or cancelled"
sed 's/^/    /' "$OMT_TMP/swarm.err"
say "The manager's output"
sed 's/^/    /' "$OMT_TMP/manager.out"
say "The results, brought back as files"
for i in $(seq 0 5); do
	n=$((1000 * (i + 1)))
	echo "    out.$i: $(cat "$OMT_TMP/work/out.$i")   (1 + ... + $n = $((n * (n + 1) / 2)))"
done

say "What each provider saw: ordinary jobs, in its audit log"
for i in 1 2; do
	echo "provider $i:"
	jq -c 'select(.event == "decision" or .event == "outcome") |
		{event, decision, description, job, outcome, exit_status} | with_entries(select(.value != null))' \
		"$OMT_TMP/p$i/audit.jsonl" | sed 's/^/    /'
done

say "Nothing of the swarm is left: its interface, its nftables table, its password file"
omt_in "$OMT_NS_C" ip -o link show | grep ': omts' || echo "no omts* interface"
omt_in "$OMT_NS_C" nft list tables | grep omerta_swarm || echo "no omerta_swarm_* table"
ls -d /tmp/omerta-swarm.* 2>/dev/null || echo "no /tmp/omerta-swarm.* directory"
omt_test_teardown
