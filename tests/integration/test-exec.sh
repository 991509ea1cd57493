# Integration tests of 'omerta-loader exec': real QEMU microVMs (TCG), the
# loader in a provider namespace, a real wireguard-go consumer in another
# (scripts/lib.sh: omt_provider_up). Each test_* runs in its own subshell
# with set -e; the runner tears down. Every test ends by checking that the
# job left nothing behind.

URL="http://$OMT_C_TUN_IP:8000"

teardown_clean() {
	omt_assert_no_jobs
}

test_exec_fetches_through_tunnel() {
	omt_provider_up
	local rc=0
	omt_exec --description "fetch a file" -- sh -c "wget -q -O - $URL/file; echo to-stderr >&2; exit 7" || rc=$?
	[ "$rc" = 7 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit status $rc, not the workload's 7"; }
	grep -qx "hello from the consumer" "$OMT_TMP/out" || omt_fail "no file: $(cat "$OMT_TMP/out")"
	grep -qx "to-stderr" "$OMT_TMP/err" || omt_fail "workload stderr not forwarded"
	grep -q "GET /file" "$OMT_TMP/www.log" || omt_fail "the consumer saw no request"
	grep -q "accelerator: tcg" "$OMT_TMP/err" || omt_fail "accelerator choice not said"
	teardown_clean
}

# A warm VM (--warm-fd), driven as the daemon drives it: booted with its
# shape alone, its guard closed, until "ready"; then the job's arguments,
# and the job runs as a cold one would, in that VM, which goes after it.
omt_warm_exec() { # SHAPE_ARGS_COUNT SHAPE_ARGS... JOB_ARGS...
	omt_net "$OMT_NS_R" python3 "$OMT_ROOT/tests/integration/warmexec.py" "$OMT_LOADER" \
		"$@" >"$OMT_TMP/out" 2>"$OMT_TMP/err"
}

test_exec_warm_vm() {
	omt_provider_up
	local rc=0
	echo "an input" >"$OMT_TMP/in.txt"
	mkdir "$OMT_TMP/outdir"
	omt_warm_exec 4 --memory 256 --job-id 0000beef --memory 256 --vpn-config "$OMT_TMP/vm.conf" \
		--job-id 0000cafe --input "$OMT_TMP/in.txt" --output "$OMT_TMP/outdir" -- \
		sh -c "wget -q -O - $URL/file; cat /job/input/in.txt; echo made >/job/output/o.txt; exit 7" || rc=$?
	[ "$rc" = 7 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit status $rc, not the workload's 7"; }
	grep -q "warm: ready" "$OMT_TMP/err" || omt_fail "no ready: $(cat "$OMT_TMP/err")"
	grep -q "job 0000cafe: .*(warm VM 0000beef)" "$OMT_TMP/err" || omt_fail "the job did not take the VM: $(cat "$OMT_TMP/err")"
	grep -qx "hello from the consumer" "$OMT_TMP/out" || omt_fail "no file: $(cat "$OMT_TMP/out")"
	grep -qx "an input" "$OMT_TMP/out" || omt_fail "no input: $(cat "$OMT_TMP/out")"
	grep -qx made "$OMT_TMP/outdir/o.txt" || omt_fail "no output file"
	teardown_clean
}

# A warm VM no job comes for ends cleanly; one whose guest sends a frame
# before its job is a rogue, killed (nothing passes a warm VM's guard).
test_exec_warm_vm_no_job() {
	omt_provider_up
	local rc=0
	omt_warm_exec 2 --memory 256 --no-job || rc=$?
	[ "$rc" = 0 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit status $rc, not 0"; }
	grep -q "no job came" "$OMT_TMP/err" || omt_fail "not said: $(cat "$OMT_TMP/err")"
	teardown_clean
}

# The job's shape must be the warm VM's: refused, and nothing left.
test_exec_warm_vm_other_shape() {
	omt_provider_up
	local rc=0
	omt_warm_exec 2 --memory 256 --memory 384 --vpn-config "$OMT_TMP/vm.conf" -- true || rc=$?
	[ "$rc" = 1 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit status $rc, not 1"; }
	grep -q "is not this warm VM's" "$OMT_TMP/err" || omt_fail "not said: $(cat "$OMT_TMP/err")"
	teardown_clean
}

test_exec_script() {
	omt_provider_up
	printf '#!/bin/sh\necho "args=$#"\nwget -q -O - %s/file | tr a-z A-Z\n' "$URL" >"$OMT_TMP/job.sh"
	omt_exec --script "$OMT_TMP/job.sh" || omt_fail "script job failed: $(cat "$OMT_TMP/err")"
	grep -qx "HELLO FROM THE CONSUMER" "$OMT_TMP/out" || omt_fail "output: $(cat "$OMT_TMP/out")"
	teardown_clean
}

# The endpoint rules exec keeps by itself, run by hand as by the daemon:
# this host's own address (R's 10.201.1.1), loopback, the VMs' network,
# multicast. Refused before anything is set up (exit 1). Private ranges are
# the daemon's policy's: every other test here has one (10.201.1.2).
test_exec_endpoint_refused() {
	omt_provider_up
	local ip is
	while IFS='|' read -r ip is; do
		sed -i "s/^Endpoint = .*/Endpoint = $ip:$OMT_WG_PORT/" "$OMT_TMP/vm.conf"
		omt_expect_exec 1 "$OMT_TMP/vm.conf: refused: endpoint $ip is $is" \
			--vpn-config "$OMT_TMP/vm.conf" -- true
		! grep -q accelerator "$OMT_TMP/err" || omt_fail "$ip: set-up went on: $(cat "$OMT_TMP/err")"
	done <<-EOT
		10.201.1.1|one of this host's addresses
		10.201.1.255|the broadcast address of one of this host's networks
		127.0.0.1|a loopback address (127.0.0.0/8)
		10.213.7.2|in the VMs' network (10.213.0.0/16)
		224.0.0.5|a multicast address (224.0.0.0/4)
	EOT
	teardown_clean
}

test_exec_rogue_killed_by_host() {
	omt_provider_up
	local rc=0
	# The guest's own firewall is off: the host's guard must stop it.
	# First the host itself (the VM's gateway)...
	omt_exec --guest-firewall off --json -- sh -c \
		'ping -c 5 $(ip route | awk "/ via /{print \$3; exit}"); echo survived' || rc=$?
	[ "$rc" = 240 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc, not 240 (rogue)"; }
	grep -q '"reason":"wrong_dst".*"proto":"icmp"' "$OMT_TMP/err" || omt_fail "no rogue event: $(cat "$OMT_TMP/err")"
	grep -q "rogue frame to QEMU dead" "$OMT_TMP/err" || omt_fail "kill latency not logged"
	! grep -q survived "$OMT_TMP/out" || omt_fail "the workload went on after the rogue packet"
	omt_assert_no_jobs
	# ...then TCP straight to the consumer's address, outside the tunnel.
	rc=0
	omt_exec --guest-firewall off --json -- sh -c "wget -q -O - http://$OMT_C_IP:8000/file; echo survived" || rc=$?
	[ "$rc" = 240 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc, not 240 (rogue)"; }
	grep -q '"reason":"not_udp".*"proto":"tcp"' "$OMT_TMP/err" || omt_fail "no TCP rogue event: $(cat "$OMT_TMP/err")"
	! grep -q survived "$OMT_TMP/out" || omt_fail "the workload went on after the rogue packet"
	teardown_clean
}

test_exec_guest_firewall_stops_it_first() {
	omt_provider_up
	local rc=0
	omt_exec --json -- sh -c "ping -c 1 -W 1 $OMT_C_IP; echo ping-status=\$?" || rc=$?
	[ "$rc" = 0 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc"; }
	grep -q "ping-status=1" "$OMT_TMP/out" || omt_fail "ping did not fail inside: $(cat "$OMT_TMP/out")"
	! grep -q '"event":"rogue"' "$OMT_TMP/err" || omt_fail "the packet left the VM"
	teardown_clean
}

test_exec_wrong_server_key() {
	omt_provider_up wrong-key
	local rc=0
	omt_exec --handshake-timeout 3 -- sh -c "echo ran; wget -q -O - $URL/mark" || rc=$?
	[ "$rc" = 241 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc, not 241 (VPN setup)"; }
	grep -q "handshake" "$OMT_TMP/err" || omt_fail "no handshake error: $(cat "$OMT_TMP/err")"
	! grep -q ran "$OMT_TMP/out" || omt_fail "the workload ran"
	! grep -q "/mark" "$OMT_TMP/www.log" || omt_fail "the workload reached the consumer"
	teardown_clean
}

test_exec_vpn_lost() {
	omt_provider_up
	local rc=0 pid
	omt_spawn "$OMT_NS_R" "$OMT_TMP/out" "$OMT_TMP/err" "$OMT_LOADER" exec \
		--vpn-config "$OMT_TMP/vm.conf" --vpn-timeout 3 -- sh -c "echo started; sleep 120"
	pid=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/out" started || { wait "$pid"; cat "$OMT_TMP/err" >&2; omt_fail "never started"; }
	# The consumer's WireGuard goes away mid-job.
	omt_in "$OMT_NS_C" ip link del "$OMT_C_WG"
	wait "$pid" || rc=$?
	[ "$rc" = 242 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc, not 242 (VPN lost)"; }
	grep -q "VPN lost" "$OMT_TMP/err" || omt_fail "no VPN-lost message"
	teardown_clean
}

test_exec_timeout() {
	omt_provider_up
	local rc=0
	omt_exec --timeout 10 -- sh -c "echo started; sleep 120" || rc=$?
	[ "$rc" = 243 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc, not 243 (timeout)"; }
	grep -q started "$OMT_TMP/out" || omt_fail "the workload never ran"
	teardown_clean
}

test_exec_ctrl_c() {
	omt_provider_up
	local rc=0 pid
	omt_spawn "$OMT_NS_R" "$OMT_TMP/out" "$OMT_TMP/err" "$OMT_LOADER" exec \
		--vpn-config "$OMT_TMP/vm.conf" -- sh -c "echo started; sleep 120"
	pid=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/out" started || omt_fail "never started"
	kill -INT "$pid"
	wait "$pid" || rc=$?
	[ "$rc" = 130 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc, not 130"; }
	teardown_clean
}

test_exec_loader_sigkill() {
	omt_provider_up
	local pid qemu i
	omt_spawn "$OMT_NS_R" "$OMT_TMP/out" "$OMT_TMP/err" "$OMT_LOADER" exec \
		--vpn-config "$OMT_TMP/vm.conf" -- sh -c "echo started; sleep 120"
	pid=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/out" started || omt_fail "never started"
	qemu=$(pgrep -f 'qemu-system.*omerta-') || omt_fail "no QEMU"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	# QEMU dies with its loader (PR_SET_PDEATHSIG)...
	for i in $(seq 100); do kill -0 "$qemu" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$qemu" 2>/dev/null || omt_fail "QEMU outlived its loader"
	# ...its tap with it; the rest waits for the next start, which removes it.
	ls /run/omerta/jobs/ | grep -q . || omt_fail "expected a crashed job's directory"
	omt_in "$OMT_NS_R" nft list tables | grep -q omerta_ || omt_fail "expected its NAT table"
	omt_exec -- true || omt_fail "the next job failed: $(cat "$OMT_TMP/err")"
	grep -q "removed what crashed job" "$OMT_TMP/err" || omt_fail "the next start did not clean up"
	teardown_clean
}

test_exec_boot_failure() {
	omt_provider_up
	local rc=0
	mkdir "$OMT_TMP/img"
	cp "$OMT_ROOT/build/guest/vmlinuz" "$OMT_TMP/img/"
	head -c 4096 /dev/urandom >"$OMT_TMP/img/base.cpio.gz"
	OMERTA_IMAGE_DIR=$OMT_TMP/img omt_exec --image minimal --boot-timeout 20 -- true || rc=$?
	[ "$rc" = 244 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc, not 244 (boot)"; }
	teardown_clean
}

# What the guest writes on its console reaches the operator's log escaped:
# no terminal escape sequence gets through.
test_exec_console_escaped() {
	omt_provider_up
	local rc=0
	omt_exec --image minimal -- sh -c 'printf "\033]0;omt-owned\007\033[2Jomt-escape\n" >/dev/console
		sleep 1; echo o >/proc/sysrq-trigger; sleep 30' || rc=$?
	[ "$rc" = 244 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc, not 244 (no result)"; }
	grep -qF 'console: \x1b]0;omt-owned\x07\x1b[2Jomt-escape' "$OMT_TMP/err" ||
		omt_fail "the console line is not there, escaped: $(cat -v "$OMT_TMP/err")"
	! grep -q "$(printf '\033')" "$OMT_TMP/err" || omt_fail "an escape sequence reached the log: $(cat -v "$OMT_TMP/err")"
	teardown_clean
}

test_exec_bad_input() {
	omt_provider_up
	omt_expect_exec 2 "'lots'" --vpn-config "$OMT_TMP/vm.conf" --cpus lots -- true
	omt_expect_exec 2 "'emulate'" --vpn-config "$OMT_TMP/vm.conf" --accel emulate -- true
	omt_expect_exec 2 "'maybe'" --vpn-config "$OMT_TMP/vm.conf" --guest-firewall maybe -- true
	omt_expect_exec 2 "either --script" --vpn-config "$OMT_TMP/vm.conf"
	omt_expect_exec 2 "--vpn-config is required" -- true
	printf '[Interface]\nPrivateKey = x\n' >"$OMT_TMP/bad.conf"
	omt_expect_exec 1 "bad.conf:2" --vpn-config "$OMT_TMP/bad.conf" -- true
	sed 's/^Endpoint = .*/Endpoint = consumer.example:51820/' "$OMT_TMP/vm.conf" >"$OMT_TMP/dns.conf"
	omt_expect_exec 1 "consumer.example" --vpn-config "$OMT_TMP/dns.conf" -- true
	omt_expect_exec 1 "kvm" --vpn-config "$OMT_TMP/vm.conf" --accel kvm -- true
	teardown_clean
}

test_exec_raw_socket_past_guest_firewall() {
	omt_provider_up
	local rc=0
	# Root in the guest can skip nftables with a packet socket: spoofed ARP.
	omt_exec --json -- sh -c 'gw=$(ip route | awk "/ via /{print \$3; exit}")
		ip addr add 10.213.0.99/32 dev eth0
		arping -c 3 -s 10.213.0.99 -I eth0 "$gw"; echo survived' || rc=$?
	[ "$rc" = 240 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc, not 240 (rogue)"; }
	grep -q '"reason":"arp_spoof".*"src":"10.213.0.99"' "$OMT_TMP/err" || omt_fail "no arp_spoof event: $(cat "$OMT_TMP/err")"
	! grep -q survived "$OMT_TMP/out" || omt_fail "the workload went on"
	teardown_clean
}

# A running job: its VM runs idle only, and a second exec that names its id
# is refused without touching it.
test_exec_running_job() {
	omt_provider_up
	local qemu job t policy
	omt_spawn "$OMT_NS_R" "$OMT_TMP/out" "$OMT_TMP/err" "$OMT_LOADER" exec \
		--vpn-config "$OMT_TMP/vm.conf" -- sh -c "echo started; sleep 30"
	omt_wait_for "$OMT_TMP/out" started || omt_fail "never started"
	qemu=$(pgrep -f 'qemu-system.*omerta-') || omt_fail "no QEMU"
	# Every QEMU thread, the vCPU's included, is SCHED_IDLE (policy 5).
	for t in /proc/"$qemu"/task/*; do
		policy=$(awk '{print $41}' "$t/stat")
		[ "$policy" = 5 ] || omt_fail "thread $(basename "$t") has policy $policy, not SCHED_IDLE"
	done
	job=$(ls /run/omerta/jobs)
	# The lowest CPU weight, for the job and for the omerta/ level above it
	# (siblings compete by their parents' weights).
	if [ -e "/sys/fs/cgroup/cpu/omerta/$job/cpu.shares" ]; then
		[ "$(cat "/sys/fs/cgroup/cpu/omerta/$job/cpu.shares")" = 2 ] || omt_fail "cpu.shares"
		[ "$(cat /sys/fs/cgroup/cpu/omerta/cpu.shares)" = 2 ] || omt_fail "omerta/ cpu.shares"
	else
		[ "$(cat "/sys/fs/cgroup/omerta/$job/cpu.weight")" = 1 ] || omt_fail "cpu.weight"
		[ "$(cat /sys/fs/cgroup/omerta/cpu.weight)" = 1 ] || omt_fail "omerta/ cpu.weight"
	fi
	omt_expect_exec 1 "File exists" --vpn-config "$OMT_TMP/vm.conf" --job-id "$job" -- true
	[ -S "/run/omerta/jobs/$job/control" ] && [ -s "/run/omerta/jobs/$job/loader.pid" ] ||
		omt_fail "an exec refused for job $job's id removed its directory"
	kill -TERM "$OMT_SPAWNED"
	wait "$OMT_SPAWNED" || true
	teardown_clean
}
