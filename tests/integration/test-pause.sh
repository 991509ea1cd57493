# Integration tests of pausing, checkpointing and restoring a running job
# (omerta-loader pause/resume/checkpoint/restore, served by exec's control
# socket): real QEMU microVMs, real migration to a file, the WireGuard
# tunnel coming back after a restore. Each test_* runs in its own subshell.

# A workload that counts and prints, a number every 0.2 s, then fetches
# through the tunnel: its output must continue where it stopped, and the
# tunnel must work after the restore.
COUNTER="i=0; while [ \$i -lt 40 ]; do echo \$i; i=\$((i+1)); sleep 0.2; done; wget -q -O - http://$OMT_C_TUN_IP:8000/file"

# The numbers the workload printed are 0..39, each once, in order.
assert_count_intact() {
	seq 0 39 >"$OMT_TMP/expect"
	grep -E '^[0-9]+$' "$OMT_TMP/out" >"$OMT_TMP/got" || true
	diff "$OMT_TMP/expect" "$OMT_TMP/got" >&2 || omt_fail "the count was not intact"
}

start_counter() {
	omt_spawn "$OMT_NS_R" "$OMT_TMP/out" "$OMT_TMP/err" "$OMT_LOADER" exec \
		--vpn-config "$OMT_TMP/vm.conf" --result "$OMT_TMP/result.json" -- sh -c "$COUNTER"
	JOB_PID=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/out" '^5$' 90 || omt_fail "the workload never counted: $(cat "$OMT_TMP/err")"
	JOB=$(ls /run/omerta/jobs)
}

finish_counter() {
	local rc=0
	wait "$JOB_PID" || rc=$?
	[ "$rc" = 0 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc"; }
	assert_count_intact
	grep -qx "hello from the consumer" "$OMT_TMP/out" || omt_fail "no fetch through the tunnel after: $(tail -n 3 "$OMT_TMP/out")"
	omt_assert_no_jobs
}

test_pause_resume() {
	omt_provider_up
	start_counter
	"$OMT_LOADER" pause "$JOB" >"$OMT_TMP/ctl" || omt_fail "pause: $(cat "$OMT_TMP/ctl")"
	grep -q "paused" "$OMT_TMP/ctl" || omt_fail "pause said: $(cat "$OMT_TMP/ctl")"
	# Paused means no progress.
	sleep 1
	local n1 n2
	n1=$(grep -cE '^[0-9]+$' "$OMT_TMP/out")
	sleep 1.5
	n2=$(grep -cE '^[0-9]+$' "$OMT_TMP/out")
	[ "$n1" = "$n2" ] || omt_fail "a paused VM went on counting ($n1 -> $n2)"
	! "$OMT_LOADER" restore "$JOB" 2>"$OMT_TMP/ctl.err" || omt_fail "restore of a paused VM succeeded"
	grep -q "no checkpoint" "$OMT_TMP/ctl.err" || omt_fail "restore said: $(cat "$OMT_TMP/ctl.err")"
	"$OMT_LOADER" resume "$JOB" >"$OMT_TMP/ctl" || omt_fail "resume: $(cat "$OMT_TMP/ctl")"
	finish_counter
	jq -e '.stopped_s >= 2' "$OMT_TMP/result.json" >/dev/null || omt_fail "stopped time: $(cat "$OMT_TMP/result.json")"
}

test_checkpoint_restore() {
	omt_provider_up
	start_counter
	"$OMT_LOADER" checkpoint "$JOB" >"$OMT_TMP/ctl" || omt_fail "checkpoint: $(cat "$OMT_TMP/ctl")"
	grep -q "checkpointed to /run/omerta/jobs/$JOB/checkpoint" "$OMT_TMP/ctl" || omt_fail "checkpoint said: $(cat "$OMT_TMP/ctl")"
	# Saved and gone: no QEMU, the state in a root-only file.
	! pgrep -f "qemu-system.*omerta-$JOB" >/dev/null || omt_fail "QEMU still runs after the checkpoint"
	[ "$(stat -c '%a %U' "/run/omerta/jobs/$JOB/checkpoint")" = "600 root" ] || omt_fail "checkpoint file mode/owner"
	! "$OMT_LOADER" checkpoint "$JOB" 2>"$OMT_TMP/ctl.err" || omt_fail "a second checkpoint succeeded"
	sleep 1
	"$OMT_LOADER" restore "$JOB" >"$OMT_TMP/ctl" || omt_fail "restore: $(cat "$OMT_TMP/ctl")"
	grep -q "restored" "$OMT_TMP/ctl" || omt_fail "restore said: $(cat "$OMT_TMP/ctl")"
	[ ! -e "/run/omerta/jobs/$JOB/checkpoint" ] || omt_fail "the checkpoint outlived its restore"
	finish_counter
	jq -e '.checkpoints == 1' "$OMT_TMP/result.json" >/dev/null || omt_fail "result: $(cat "$OMT_TMP/result.json")"
}

# A job ended while checkpointed takes its checkpoint with it.
test_checkpoint_then_stop() {
	omt_provider_up
	start_counter
	"$OMT_LOADER" checkpoint "$JOB" >"$OMT_TMP/ctl" || omt_fail "checkpoint: $(cat "$OMT_TMP/ctl")"
	local rc=0
	kill -TERM "$JOB_PID"
	wait "$JOB_PID" || rc=$?
	[ "$rc" = 143 ] || omt_fail "exit $rc, not 143"
	omt_assert_no_jobs
}

test_control_bad_input() {
	local rc=0
	OMT_TMP=$(mktemp -d /tmp/omt-test.XXXXXX)	# the teardown removes it
	"$OMT_LOADER" checkpoint 12345678 2>"$OMT_TMP/e" || rc=$?
	[ "$rc" = 1 ] && grep -q "no running job '12345678'" "$OMT_TMP/e" || omt_fail "unknown job: rc $rc $(cat "$OMT_TMP/e")"
	rc=0
	"$OMT_LOADER" restore ../../etc 2>"$OMT_TMP/e" || rc=$?
	[ "$rc" = 2 ] && grep -q "'../../etc'" "$OMT_TMP/e" || omt_fail "bad id: rc $rc $(cat "$OMT_TMP/e")"
}

# --owner-priority against a scripted logind on a private bus
# (tests/integration/test-owner.sh: owner_bus_up): the owner comes back
# (IdleHint false), the VM stops as the policy says; the owner goes idle,
# after --owner-idle the VM goes on.
source "$OMT_ROOT/tests/integration/test-owner.sh"

owner_job() { # POLICY
	omt_provider_up
	owner_bus_up
	echo "idle 1" >&"$OWNER_LOGIND"
	omt_wait_for "$OMT_TMP/logind.state" '^idle 1$'
	omt_spawn "$OMT_NS_R" "$OMT_TMP/out" "$OMT_TMP/err" env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" \
		"$OMT_LOADER" exec --vpn-config "$OMT_TMP/vm.conf" --result "$OMT_TMP/result.json" \
		--owner-priority "$1" --owner-source auto --owner-idle 1 -- sh -c "$COUNTER"
	JOB_PID=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/err" "owner activity from logind: $1 the VM" 90 || omt_fail "no owner watch: $(cat "$OMT_TMP/err")"
	omt_wait_for "$OMT_TMP/out" '^5$' 90 || omt_fail "the workload never counted: $(cat "$OMT_TMP/err")"
}

owner_stop_and_go() { # STOPPED-WORD
	echo "idle 0" >&"$OWNER_LOGIND"
	omt_wait_for "$OMT_TMP/err" "the owner is active: VM $1" || omt_fail "not $1: $(cat "$OMT_TMP/err")"
	local n1 n2
	n1=$(grep -cE '^[0-9]+$' "$OMT_TMP/out")
	sleep 2
	n2=$(grep -cE '^[0-9]+$' "$OMT_TMP/out")
	[ "$n1" = "$n2" ] || omt_fail "the VM went on counting while the owner was active ($n1 -> $n2)"
	echo "idle 1" >&"$OWNER_LOGIND"
	omt_wait_for "$OMT_TMP/err" "the owner has been idle for 1 s: the VM goes on" || omt_fail "never went on: $(cat "$OMT_TMP/err")"
	finish_counter
}

test_owner_pause() {
	owner_job pause
	owner_stop_and_go paused
}

test_owner_checkpoint() {
	owner_job checkpoint
	owner_stop_and_go checkpointed
	jq -e '.checkpoints == 1' "$OMT_TMP/result.json" >/dev/null || omt_fail "result: $(cat "$OMT_TMP/result.json")"
}

test_owner_kill() {
	owner_job kill
	echo "idle 0" >&"$OWNER_LOGIND"
	local rc=0
	wait "$JOB_PID" || rc=$?
	[ "$rc" = 245 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc, not 245"; }
	jq -e '.outcome == "owner"' "$OMT_TMP/result.json" >/dev/null || omt_fail "result: $(cat "$OMT_TMP/result.json")"
	omt_assert_no_jobs
}

# The daemon holds a logind sleep inhibitor while a job runs (this machine
# has no power supplies: it counts as on AC), and lets go after.
test_daemon_sleep_inhibitor() {
	omt_daemon_up
	owner_bus_up
	kill "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" || true
	omt_daemon_start	# now on the private bus (DBUS_SYSTEM_BUS_ADDRESS)
	grep -q '^inhibitors 0$' "$OMT_TMP/logind.state" || omt_fail "a lock before any job"
	omt_spawn "$OMT_NS_C" "$OMT_TMP/a.out" "$OMT_TMP/a.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description sleepless -- sh -c \
		'echo up; sleep 3'
	local submit=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/logind.state" '^inhibitors 1$' 90 || omt_fail "no lock while the job runs: $(cat "$OMT_TMP/daemon.log")"
	grep -q '^last_inhibit sleep|omerta|' "$OMT_TMP/logind.state" || omt_fail "lock: $(cat "$OMT_TMP/logind.state")"
	wait "$submit" || omt_fail "job failed: $(cat "$OMT_TMP/a.err")"
	omt_wait_for "$OMT_TMP/logind.state" '^inhibitors 0$' || omt_fail "the lock outlived the job"
	omt_assert_no_jobs
}
