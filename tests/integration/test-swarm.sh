# Integration tests of 'omerta swarm': two providers, each a daemon in its
# own network and mount namespace, and a consumer namespace
# (scripts/lib.sh: omt_swarm_up); real pilots (Work Queue workers in the
# debian image's VMs) and a real manager (Debian's work_queue module,
# tests/integration/swarm_manager.py).

MANAGER=$OMT_ROOT/tests/integration/swarm_manager.py

# omerta swarm in the consumer namespace, its stdout (the manager's) in
# $OMT_TMP/manager.out, its stderr in $OMT_TMP/swarm.err; OMT_SWARM_PID.
swarm_spawn() { # ARGS...
	omt_spawn "$OMT_NS_C" "$OMT_TMP/manager.out" "$OMT_TMP/swarm.err" \
		env OMERTA_HOME="$OMT_TMP/consumer" "$OMT_ROOT/build/bin/omerta" swarm \
		--providers "$OMT_TMP/providers" "$@"
	OMT_SWARM_PID=$OMT_SPAWNED
}

# Waits for the swarm to end: its exit status in OMT_SWARM_RC.
swarm_wait() {
	OMT_SWARM_RC=0
	wait "$OMT_SWARM_PID" || OMT_SWARM_RC=$?
}

# Nothing of the swarm is left in the consumer namespace, nor of its jobs on either provider.
swarm_clean() {
	local i
	! omt_in "$OMT_NS_C" ip -o link show | grep -q ': omts' || omt_fail "swarm interface left"
	! ls /var/run/wireguard/omts*.sock >/dev/null 2>&1 || omt_fail "wireguard-go socket left"
	! omt_in "$OMT_NS_C" nft list tables | grep -q omerta_swarm || omt_fail "nft table left"
	! ls -d /tmp/omerta-swarm.* >/dev/null 2>&1 || omt_fail "password directory left"
	for i in 1 2; do
		! omt_in "${OMT_NS_P[i - 1]}" ip -o link show | grep -q ': omt[0-9a-f]\{8\}' ||
			omt_fail "provider $i: tap left"
		! omt_in "${OMT_NS_P[i - 1]}" nft list tables | grep -q omerta_ || omt_fail "provider $i: nft left"
	done
	! pgrep -f 'qemu-system.*' -P "$(pgrep -d, -f "omerta-loader exec" || echo 1)" >/dev/null ||
		omt_fail "QEMU left"
}

# The QEMU of the job with this id, wherever it runs.
job_qemu() { # JOB
	local exec
	exec=$(pgrep -f "omerta-loader exec .*--job-id $1") || return 1
	pgrep -P "$exec" -f qemu-system
}

test_swarm_tasks_survive_a_killed_pilot() {
	omt_swarm_up
	mkdir "$OMT_TMP/work"
	swarm_spawn --workers 2 --timeout 1200 --description "swarm test" \
		-- env SLEEP=4 /usr/bin/python3 "$MANAGER" tasks 12 "$OMT_TMP/work"
	# Provider 1's pilot has taken a task: its machine is taken back (the VM killed).
	local job qemu other i
	omt_wait_for "$OMT_TMP/manager.out" '^task [0-9]+ done' 400 ||
		omt_fail "no task done: $(cat "$OMT_TMP/swarm.err" "$OMT_TMP/manager.out")"
	job=$(grep -oE '^omerta: swarm: 10\.201\.1\.1:7360 job [0-9a-f]{8} running' "$OMT_TMP/swarm.err" |
		tail -n1 | cut -d' ' -f5)
	[ -n "$job" ] || omt_fail "provider 1 runs no pilot: $(cat "$OMT_TMP/swarm.err")"
	qemu=$(job_qemu "$job") || omt_fail "no QEMU for job $job"
	# Two daemons, each in its own mount namespace: still a uid per VM on the host.
	omt_wait_for "$OMT_TMP/swarm.err" '10\.201\.2\.1:7360 job [0-9a-f]{8} running' 400 ||
		omt_fail "provider 2 runs no pilot: $(cat "$OMT_TMP/swarm.err")"
	other=$(job_qemu "$(grep -oE '10\.201\.2\.1:7360 job [0-9a-f]{8} running' "$OMT_TMP/swarm.err" |
		tail -n1 | cut -d' ' -f3)") || omt_fail "no QEMU for provider 2's pilot"
	[ "$(awk '/^Uid:/ {print $2}' "/proc/$qemu/status")" != \
	  "$(awk '/^Uid:/ {print $2}' "/proc/$other/status")" ] || omt_fail "two providers' QEMUs share a uid"
	kill -9 "$qemu"
	omt_wait_for "$OMT_TMP/swarm.err" "10\.201\.1\.1:7360 job $job ended" 60
	swarm_wait
	[ "$OMT_SWARM_RC" = 0 ] || omt_fail "swarm exited $OMT_SWARM_RC: $(cat "$OMT_TMP/swarm.err" "$OMT_TMP/manager.out")"
	for i in $(seq 0 11); do
		[ "$(cat "$OMT_TMP/work/out.$i")" = "TASK $i" ] || omt_fail "task $i: '$(cat "$OMT_TMP/work/out.$i")'"
	done
	grep -q '^all 12 tasks done' "$OMT_TMP/manager.out" || omt_fail "manager: $(cat "$OMT_TMP/manager.out")"
	# Each pilot is named for its tunnel address.
	[ "$(grep -c "^task [0-9]* done on 'omerta-pilot-10-77-[0-9]*-[23]'$" "$OMT_TMP/manager.out")" = 12 ] ||
		omt_fail "pilots' names: $(cat "$OMT_TMP/manager.out")"
	# A replacement pilot was started after the killed one.
	sed -n "/job $job ended/,\$p" "$OMT_TMP/swarm.err" | grep -qE ' job [0-9a-f]{8} queued$' ||
		omt_fail "no pilot after $job: $(cat "$OMT_TMP/swarm.err")"
	for i in 1 2; do
		jq -s -e 'any(.[]; .event == "decision" and .decision == "admit" and
			(.description | startswith("omerta swarm pilot")))' "$OMT_TMP/p$i/audit.jsonl" >/dev/null ||
			omt_fail "provider $i: no pilot in its audit log"
	done
	grep -E ' job [0-9a-f]{8} (cancelled|ended)' "$OMT_TMP/swarm.err" >/dev/null
	swarm_clean
}

# A worker outside the tunnel, with the right password, can't reach the
# manager (the swarm's nftables table drops the port there; another port
# at the same address answers), and a pilot inside the tunnel with a wrong
# password can't join. Then SIGTERM: exit 143, the pilot cancelled, nothing left.
test_swarm_outsiders_cannot_join() {
	omt_swarm_up
	echo "the swarm's password" >"$OMT_TMP/pw.swarm"
	echo "the manager's password" >"$OMT_TMP/pw.manager"
	swarm_spawn --workers 1 --password-file "$OMT_TMP/pw.swarm" \
		-- /usr/bin/python3 "$MANAGER" none 600 "$OMT_TMP/pw.manager"
	omt_wait_for "$OMT_TMP/manager.out" '^manager on port 9123' 60
	omt_spawn "$OMT_NS_C" "$OMT_TMP/control.out" "$OMT_TMP/control.err" \
		python3 "$OMT_ROOT/tests/integration/netpoke.py" tcp-sink 9124 "$OMT_TMP/control"
	local connect='import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 3)'
	for _ in $(seq 50); do
		omt_in "${OMT_NS_P[0]}" python3 -c "$connect" 10.201.1.2 9124 2>/dev/null && break
		sleep 0.1
	done
	omt_in "${OMT_NS_P[0]}" python3 -c "$connect" 10.201.1.2 9124 ||
		omt_fail "control: provider 1 can't reach the consumer at all"
	! omt_in "${OMT_NS_P[0]}" python3 -c "$connect" 10.201.1.2 9123 2>/dev/null ||
		omt_fail "the manager's port answered outside the tunnel"
	omt_in "${OMT_NS_P[0]}" timeout 30 work_queue_worker --password "$OMT_TMP/pw.manager" \
		--single-shot --connect-timeout 10 10.201.1.2 9123 >"$OMT_TMP/outsider.out" 2>&1 || true
	! grep -q "connected to manager" "$OMT_TMP/outsider.out" ||
		omt_fail "a worker outside the tunnel connected: $(cat "$OMT_TMP/outsider.out")"
	omt_wait_for "$OMT_TMP/swarm.err" 'worker 10\.77\.[0-9]+\.2:[0-9]+ presented the wrong password' 400 ||
		omt_fail "the pilot never knocked: $(cat "$OMT_TMP/swarm.err")"
	! grep -q "a worker joined" "$OMT_TMP/manager.out" || omt_fail "a worker joined"
	local job
	job=$(grep -oE '^omerta: swarm: [0-9.:]+ job [0-9a-f]{8} running' "$OMT_TMP/swarm.err" |
		tail -n1 | cut -d' ' -f5)
	kill -TERM "$OMT_SWARM_PID"
	swarm_wait
	[ "$OMT_SWARM_RC" = 143 ] || omt_fail "swarm exited $OMT_SWARM_RC on SIGTERM, not 143"
	grep -q "job $job cancelled" "$OMT_TMP/swarm.err" || omt_fail "pilot $job not cancelled: $(cat "$OMT_TMP/swarm.err")"
	# The provider stops the VM and audits its end.
	for _ in $(seq 300); do
		cat "$OMT_TMP"/p[12]/audit.jsonl | jq -s -e --arg j "$job" \
			'any(.[]; .event == "outcome" and .job == $j)' >/dev/null && break
		sleep 0.1
	done
	cat "$OMT_TMP"/p[12]/audit.jsonl | jq -s -e --arg j "$job" \
		'any(.[]; .event == "outcome" and .job == $j)' >/dev/null ||
		omt_fail "no outcome for $job in the audit logs"
	swarm_clean
}

# Makeflow's Work Queue mode through a swarm: a small workflow, its files
# back. One rule probes, from the pilot, our other ports: a listener on
# 9124 here is out of the tunnel's reach, the manager's port is not.
test_swarm_makeflow() {
	omt_swarm_up
	mkdir "$OMT_TMP/mf"
	printf 'one\ntwo\nthree\n' >"$OMT_TMP/mf/words.txt"
	cat >"$OMT_TMP/mf/probe.py" <<-'EOF2'
		import socket, sys
		def reach(port):
		    s = socket.socket()
		    s.settimeout(3)
		    return "%d:%s" % (port, "open" if s.connect_ex((sys.argv[1], port)) == 0 else "closed")
		print(reach(int(sys.argv[2])), reach(9124))
	EOF2
	# Makeflow's commands start with a tab.
	printf '%s:%s\n\t%s\n' \
		upper.txt words.txt 'tr a-z A-Z < words.txt > upper.txt' \
		count.txt upper.txt 'wc -l < upper.txt > count.txt' \
		rev.txt words.txt 'rev < words.txt > rev.txt' \
		all.txt 'upper.txt count.txt rev.txt' 'cat upper.txt count.txt rev.txt > all.txt' \
		probe.txt probe.py 'python3 probe.py ADDRESS PORT > probe.txt' \
		>"$OMT_TMP/mf/wf.in"
	omt_spawn "$OMT_NS_C" "$OMT_TMP/control.out" "$OMT_TMP/control.err" \
		python3 "$OMT_ROOT/tests/integration/netpoke.py" tcp-sink 9124 "$OMT_TMP/control"
	omt_wait_for "$OMT_TMP/control" ready
	swarm_spawn --workers 1 -- sh -c 'cd "$1" &&
		sed "s/ADDRESS/$OMERTA_SWARM_ADDRESS/; s/PORT/$OMERTA_SWARM_PORT/" wf.in >wf.mf &&
		exec makeflow -T wq --port "$OMERTA_SWARM_PORT" \
			--password "$OMERTA_SWARM_PASSWORD_FILE" wf.mf' sh "$OMT_TMP/mf"
	swarm_wait
	[ "$OMT_SWARM_RC" = 0 ] || omt_fail "swarm exited $OMT_SWARM_RC: $(cat "$OMT_TMP/swarm.err" "$OMT_TMP/manager.out")"
	[ "$(cat "$OMT_TMP/mf/all.txt")" = "$(printf 'ONE\nTWO\nTHREE\n3\neno\nowt\neerht')" ] ||
		omt_fail "all.txt: $(cat "$OMT_TMP/mf/all.txt")"
	[ "$(cat "$OMT_TMP/mf/probe.txt")" = "9123:open 9124:closed" ] ||
		omt_fail "from the pilot: $(cat "$OMT_TMP/mf/probe.txt")"
	swarm_clean
}

# Providers that refuse (more CPUs than the policy gives) and one that can't
# be reached: each tried again later and later, never in a tight loop; no
# manager, so SIGINT ends it (130) with nothing left.
test_swarm_refusals_back_off() {
	omt_swarm_up
	echo "10.201.3.1:7360  # no route to it" >>"$OMT_TMP/providers"
	swarm_spawn --workers 3 --cpus 4
	omt_wait_for "$OMT_TMP/swarm.err" '10\.201\.3\.1:7360 job - unreachable' 30
	sleep 8
	kill -INT "$OMT_SWARM_PID"
	swarm_wait
	[ "$OMT_SWARM_RC" = 130 ] || omt_fail "swarm exited $OMT_SWARM_RC on SIGINT, not 130"
	local i n
	for i in 1 2; do
		grep -qE "^omerta: swarm: 10\.201\.$i\.1:7360 job - refused: HTTP 403: .*cpus" \
			"$OMT_TMP/swarm.err" || omt_fail "provider $i: no refusal: $(cat "$OMT_TMP/swarm.err")"
	done
	# 1 + 2 + 4 s of back-off fit in ~9 s: at most 4 tries each.
	for i in 1 2 3; do
		n=$(grep -c "10\.201\.$i\.1:7360 job - " "$OMT_TMP/swarm.err")
		[ "$n" -le 4 ] || omt_fail "provider $i tried $n times in 9 s: $(cat "$OMT_TMP/swarm.err")"
	done
	for i in 1 2; do
		! jq -s -e 'any(.[]; .decision == "admit")' "$OMT_TMP/p$i/audit.jsonl" >/dev/null ||
			omt_fail "provider $i admitted a pilot"
	done
	swarm_clean
}
