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
	local job qemu i
	omt_wait_for "$OMT_TMP/manager.out" '^task [0-9]+ done' 400 ||
		omt_fail "no task done: $(cat "$OMT_TMP/swarm.err" "$OMT_TMP/manager.out")"
	job=$(grep -oE '^omerta: swarm: 10\.201\.1\.1:7360 job [0-9a-f]{8} running' "$OMT_TMP/swarm.err" |
		tail -n1 | cut -d' ' -f5)
	[ -n "$job" ] || omt_fail "provider 1 runs no pilot: $(cat "$OMT_TMP/swarm.err")"
	qemu=$(job_qemu "$job") || omt_fail "no QEMU for job $job"
	kill -9 "$qemu"
	omt_wait_for "$OMT_TMP/swarm.err" "10\.201\.1\.1:7360 job $job ended" 60
	swarm_wait
	[ "$OMT_SWARM_RC" = 0 ] || omt_fail "swarm exited $OMT_SWARM_RC: $(cat "$OMT_TMP/swarm.err" "$OMT_TMP/manager.out")"
	for i in $(seq 0 11); do
		[ "$(cat "$OMT_TMP/work/out.$i")" = "TASK $i" ] || omt_fail "task $i: '$(cat "$OMT_TMP/work/out.$i")'"
	done
	grep -q '^all 12 tasks done' "$OMT_TMP/manager.out" || omt_fail "manager: $(cat "$OMT_TMP/manager.out")"
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
