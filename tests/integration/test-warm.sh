# Integration tests of warm VMs (warm_vms in [provider]): the daemon keeps
# VMs of the default shape booted until their agent waits; a job of that
# shape takes one, runs in it as it would have cold (tunnel, inputs,
# output files, rogue kill, VPN lost), and the VM goes after it; another
# is booted behind it. Real microVMs, a real consumer (scripts/lib.sh:
# omt_daemon_up); the owner's activity from a scripted logind
# (test-owner.sh: owner_bus_up).

source "$OMT_ROOT/tests/integration/test-owner.sh"
source "$OMT_ROOT/tests/integration/test-daemon.sh"	# consumer_clean

WARM_METRICS=127.0.0.1:9368

# The daemon of omt_daemon_up (max_vms 2), restarted with warm_vms = N, its
# metrics on WARM_METRICS, and any further [provider] lines given.
warm_daemon_up() { # N [LINE...]
	local n=$1 line
	shift
	omt_daemon_up 2
	kill "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" 2>/dev/null || true
	sed -i "s/^audit_log = .*/&\nmetrics_listen = $WARM_METRICS\nwarm_vms = $n/" "$OMT_TMP/omerta.ini"
	for line in "$@"; do
		sed -i "s/^warm_vms = .*/&\n$line/" "$OMT_TMP/omerta.ini"
	done
	omt_daemon_start
}

warm_metric() { omt_in "$OMT_NS_R" curl -sf "http://$WARM_METRICS/metrics" | awk '$1 == "omerta_vms_warm" {print $2}'; }

# Waits until the daemon has said N times that a warm VM is ready.
warm_ready() { # N [SECONDS]
	local i
	for i in $(seq $((${2:-120} * 10))); do
		[ "$(grep -cE 'warm VM [0-9a-f]{8}: ready in' "$OMT_TMP/daemon.log")" -ge "$1" ] && return 0
		sleep 0.1
	done
	omt_fail "not $1 warm VMs ready: $(cat "$OMT_TMP/daemon.log")"
}

# The id of the warm VM job ID took (the daemon's "took warm VM" line).
warm_vm_of() { # JOB
	sed -n "s/.*job $1: took warm VM \([0-9a-f]\{8\}\).*/\1/p" "$OMT_TMP/daemon.log"
}

outcome_of() { # JOB
	jq -c "select(.event == \"outcome\" and .job == \"$1\")" "$OMT_TMP/audit.jsonl"
}

job_id_of() { # SUBMIT-STDERR
	sed -n 's/.*job \([0-9a-f]\{8\}\) .*/\1/p' "$1" | head -n 1
}

# Stops the daemon as systemd would and checks nothing is left.
warm_daemon_stop() {
	kill -TERM "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" || omt_fail "the daemon's stop: $(tail "$OMT_TMP/daemon.log")"
	omt_assert_no_jobs
}

test_warm_job_end_to_end() {
	warm_daemon_up 1
	warm_ready 1
	[ "$(warm_metric)" = 1 ] || omt_fail "omerta_vms_warm: '$(warm_metric)', not 1"
	local rc=0 job vm job2 vm2
	echo "an input" >"$OMT_TMP/in.txt"
	mkdir "$OMT_TMP/outdir"
	omt_submit --description warm --input "$OMT_TMP/in.txt" --output "$OMT_TMP/outdir" -- sh -c \
		'wget -q -O - http://$OMERTA_CONSUMER_IP:8000/file; cat /job/input/in.txt; echo made >/job/output/o.txt; exit 5' \
		>"$OMT_TMP/out" 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 5 ] || { cat "$OMT_TMP/err" "$OMT_TMP/daemon.log" >&2; omt_fail "exit $rc, not the job's 5"; }
	grep -qx "hello from the consumer" "$OMT_TMP/out" || omt_fail "output: $(cat "$OMT_TMP/out")"
	grep -qx "an input" "$OMT_TMP/out" || omt_fail "no input: $(cat "$OMT_TMP/out")"
	grep -qx made "$OMT_TMP/outdir/o.txt" || omt_fail "no output file"
	job=$(job_id_of "$OMT_TMP/err")
	vm=$(warm_vm_of "$job")
	[ -n "$vm" ] || omt_fail "job $job took no warm VM: $(cat "$OMT_TMP/daemon.log")"
	outcome_of "$job" | jq -e '.start == "warm" and .outcome == "done" and .exit_status == 5 and .tunnel_bytes_in > 0' \
		>/dev/null || omt_fail "outcome: $(outcome_of "$job")"
	# A new warm VM behind it; the one used is gone, never used again.
	warm_ready 2
	! pgrep -f "qemu-system.*omerta-$vm" >/dev/null || omt_fail "warm VM $vm outlived its job"
	omt_submit --description again -- true >"$OMT_TMP/out" 2>"$OMT_TMP/err" ||
		omt_fail "second job: $(cat "$OMT_TMP/err")"
	job2=$(job_id_of "$OMT_TMP/err")
	vm2=$(warm_vm_of "$job2")
	[ -n "$vm2" ] && [ "$vm2" != "$vm" ] || omt_fail "second job's warm VM: '$vm2' (first: $vm)"
	outcome_of "$job2" | jq -e '.start == "warm"' >/dev/null || omt_fail "outcome: $(outcome_of "$job2")"
	# Another shape starts cold.
	omt_submit --description big --memory 384 -- true >"$OMT_TMP/out" 2>"$OMT_TMP/err" ||
		omt_fail "cold job: $(cat "$OMT_TMP/err" "$OMT_TMP/daemon.log")"
	outcome_of "$(job_id_of "$OMT_TMP/err")" | jq -e '.start == "cold"' >/dev/null ||
		omt_fail "outcome: $(outcome_of "$(job_id_of "$OMT_TMP/err")")"
	consumer_clean
	warm_daemon_stop
}

# What isolates a cold job isolates a warm one: a rogue frame kills it; a
# consumer gone silent is a VPN lost.
test_warm_rogue_and_vpn_lost() {
	warm_daemon_up 1
	warm_ready 1
	local rc=0 job
	omt_submit --description rogue -- sh -c 'gw=$(ip route | awk "/ via /{print \$3; exit}")
		ip addr add 10.213.0.99/32 dev eth0; arping -c 3 -s 10.213.0.99 -I eth0 "$gw"' \
		>"$OMT_TMP/out" 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 240 ] || { cat "$OMT_TMP/err" "$OMT_TMP/daemon.log" >&2; omt_fail "exit $rc, not 240"; }
	job=$(job_id_of "$OMT_TMP/err")
	outcome_of "$job" | jq -e '.start == "warm" and .outcome == "rogue" and .rogue_events >= 1' \
		>/dev/null || omt_fail "outcome: $(outcome_of "$job")"
	warm_ready 2
	# The consumer's tunnel goes quiet mid-job: its wireguard-go stopped.
	omt_spawn "$OMT_NS_C" "$OMT_TMP/q.out" "$OMT_TMP/q.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description quiet -- sh -c \
		'echo up; sleep 120'
	omt_wait_for "$OMT_TMP/q.out" '^up$' 120 || omt_fail "the job never ran: $(cat "$OMT_TMP/q.err")"
	pkill -STOP -f 'wireguard-go -f omtc'
	omt_wait_for "$OMT_TMP/audit.jsonl" '"outcome":"vpn_lost"' 120 ||
		{ pkill -CONT -f 'wireguard-go -f omtc'; omt_fail "no VPN lost: $(cat "$OMT_TMP/daemon.log")"; }
	pkill -CONT -f 'wireguard-go -f omtc'
	wait "$OMT_SPAWNED" 2>/dev/null || true
	jq -s -e 'any(.[]; .event == "outcome" and .outcome == "vpn_lost" and .start == "warm")' \
		"$OMT_TMP/audit.jsonl" >/dev/null || omt_fail "vpn_lost not on a warm VM"
	consumer_clean
	warm_daemon_stop
}

# The owner's rules: with owner_priority = pause, a warm VM exists only
# while the owner is idle; back, it goes at once.
test_warm_only_while_owner_idle() {
	omt_daemon_up 2
	owner_bus_up
	echo "idle 0" >&"$OWNER_LOGIND"
	omt_wait_for "$OMT_TMP/logind.state" '^idle 0$'
	kill "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" 2>/dev/null || true
	sed -i "s/^audit_log = .*/&\nmetrics_listen = $WARM_METRICS\nwarm_vms = 1\nowner_priority = pause\nowner_source = logind\nowner_idle_s = 1/" \
		"$OMT_TMP/omerta.ini"
	omt_daemon_start	# on the private bus (DBUS_SYSTEM_BUS_ADDRESS)
	omt_wait_for "$OMT_TMP/daemon.log" "kept only while the owner is idle" ||
		omt_fail "no owner watch: $(cat "$OMT_TMP/daemon.log")"
	sleep 5
	! grep -q "warm VM .*: booting" "$OMT_TMP/daemon.log" || omt_fail "a warm VM while the owner is active"
	[ "$(warm_metric)" = 0 ] || omt_fail "omerta_vms_warm: '$(warm_metric)', not 0"
	! pgrep -f 'qemu-system.*omerta-' >/dev/null || omt_fail "a QEMU while the owner is active"
	echo "idle 1" >&"$OWNER_LOGIND"
	warm_ready 1
	echo "idle 0" >&"$OWNER_LOGIND"
	omt_wait_for "$OMT_TMP/daemon.log" "retired \(the owner is active\)" ||
		omt_fail "not retired: $(cat "$OMT_TMP/daemon.log")"
	local i
	for i in $(seq 100); do
		pgrep -f 'qemu-system.*omerta-' >/dev/null || break
		sleep 0.2
	done
	! pgrep -f 'qemu-system.*omerta-' >/dev/null || omt_fail "the warm VM's QEMU outlived the owner's return"
	omt_assert_no_jobs
	warm_daemon_stop
}
