# Integration tests of owner/: owner activity from logind's IdleHint and the
# sleep inhibitor, against a private dbus-daemon (a unix socket in $OMT_TMP,
# policy: everything allowed) with a scripted logind on it
# (build/tools/fakelogind), driven through build/tools/ownerwatch. No
# namespaces: nothing here touches the network or the host's own bus. Each
# test_* runs in its own subshell with set -e; everything started goes into
# OMT_PIDS and $OMT_TMP, which omt_test_teardown kills and removes.

OWNER_TOOLS=$OMT_ROOT/build/tools

# Waits until FILE has at least N lines that are exactly LINE.
owner_wait_count() { # FILE LINE N
	local i
	for i in $(seq 600); do
		[ "$(grep -cxF "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		sleep 0.05
	done
	echo "timed out waiting for $3 x '$2' in $1:" >&2
	cat "$1" >&2
	return 1
}

# A private system bus (DBUS_SYSTEM_BUS_ADDRESS) and fakelogind on it;
# OWNER_LOGIND is fakelogind's stdin, its state in $OMT_TMP/logind.state.
owner_bus_up() {
	[ -n "$OMT_TMP" ] || OMT_TMP=$(mktemp -d /tmp/omt-test.XXXXXX)
	cat >"$OMT_TMP/bus.conf" <<-EOC
		<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
		 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
		<busconfig>
		  <type>system</type>
		  <listen>unix:path=$OMT_TMP/bus</listen>
		  <auth>EXTERNAL</auth>
		  <policy context="default">
		    <allow user="*"/>
		    <allow own="*"/>
		    <allow send_type="method_call"/>
		    <allow send_destination="*"/>
		    <allow receive_sender="*"/>
		  </policy>
		</busconfig>
	EOC
	dbus-daemon --config-file="$OMT_TMP/bus.conf" --nofork --nopidfile --print-address=1 \
		>"$OMT_TMP/bus.addr" 2>"$OMT_TMP/bus.log" &
	OWNER_BUS_PID=$!
	OMT_PIDS+=("$OWNER_BUS_PID")
	omt_wait_for "$OMT_TMP/bus.addr" '^unix:' || omt_fail "no bus: $(cat "$OMT_TMP/bus.log")"
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$OMT_TMP/bus

	mkfifo "$OMT_TMP/logind.in"
	"$OWNER_TOOLS/fakelogind" "$OMT_TMP/logind.state" <"$OMT_TMP/logind.in" \
		2>"$OMT_TMP/logind.log" &
	OMT_PIDS+=($!)
	exec {OWNER_LOGIND}>"$OMT_TMP/logind.in"
	omt_wait_for "$OMT_TMP/logind.state" '^ready$' ||
		omt_fail "fakelogind did not start: $(cat "$OMT_TMP/logind.log")"
}

# ownerwatch SOURCE on the power supplies in $OMT_TMP/ps; OWNER_WATCH is its
# stdin, its stdout $OMT_TMP/watch.out, stderr $OMT_TMP/watch.err.
owner_watch_start() { # SOURCE
	mkdir -p "$OMT_TMP/ps"
	mkfifo "$OMT_TMP/watch.in"
	"$OWNER_TOOLS/ownerwatch" "$1" "$OMT_TMP/ps" <"$OMT_TMP/watch.in" \
		>"$OMT_TMP/watch.out" 2>"$OMT_TMP/watch.err" &
	OWNER_WATCH_PID=$!
	OMT_PIDS+=("$OWNER_WATCH_PID")
	exec {OWNER_WATCH}>"$OMT_TMP/watch.in"
	omt_wait_for "$OMT_TMP/watch.out" '^source ' ||
		omt_fail "ownerwatch did not start: $(cat "$OMT_TMP/watch.err")"
}

# Sends "jobs N" or "update" to ownerwatch and waits for its answer SEQ.
owner_cmd() { # SEQ COMMAND
	echo "$2" >&"$OWNER_WATCH"
	omt_wait_for "$OMT_TMP/watch.out" "^ack $1 " ||
		omt_fail "no answer to '$2': $(cat "$OMT_TMP/watch.err")"
}

test_owner_logind_idlehint() {
	owner_bus_up
	echo "idle 1" >&"$OWNER_LOGIND"
	omt_wait_for "$OMT_TMP/logind.state" '^idle 1$'

	# "auto" finds logind when it is on the bus.
	timeout 10 "$OWNER_TOOLS/ownerwatch" auto "$OMT_TMP" </dev/null >"$OMT_TMP/auto.out" 2>&1 ||
		omt_fail "ownerwatch auto: $(cat "$OMT_TMP/auto.out")"
	grep -qx "source logind" "$OMT_TMP/auto.out" || omt_fail "auto chose: $(cat "$OMT_TMP/auto.out")"

	owner_watch_start logind
	grep -qx "source logind" "$OMT_TMP/watch.out" || omt_fail "source: $(cat "$OMT_TMP/watch.out")"
	owner_wait_count "$OMT_TMP/watch.out" idle 1
	echo "idle 0" >&"$OWNER_LOGIND"
	owner_wait_count "$OMT_TMP/watch.out" active 1
	echo "idle 1" >&"$OWNER_LOGIND"
	owner_wait_count "$OMT_TMP/watch.out" idle 2
	echo "idle 0" >&"$OWNER_LOGIND"
	owner_wait_count "$OMT_TMP/watch.out" active 2
	# A signal that changes nothing reports nothing.
	echo "idle 0" >&"$OWNER_LOGIND"
	echo "idle 1" >&"$OWNER_LOGIND"
	owner_wait_count "$OMT_TMP/watch.out" idle 3
	[ "$(grep -xE 'active|idle' "$OMT_TMP/watch.out" | tr '\n' ' ')" = "idle active idle active idle " ] ||
		omt_fail "states: $(cat "$OMT_TMP/watch.out")"

	# The bus goes away: a fatal error, not a silent "idle" forever.
	kill "$OWNER_BUS_PID"
	local i rc=0
	for i in $(seq 100); do kill -0 "$OWNER_WATCH_PID" 2>/dev/null || break; sleep 0.05; done
	wait "$OWNER_WATCH_PID" || rc=$?
	[ "$rc" = 1 ] || omt_fail "ownerwatch exited $rc when the bus went, not 1"
	grep -q "owner activity" "$OMT_TMP/watch.err" || omt_fail "no error: $(cat "$OMT_TMP/watch.err")"
}

test_sleep_inhibitor() {
	owner_bus_up
	mkdir -p "$OMT_TMP/ps/AC"
	echo Mains >"$OMT_TMP/ps/AC/type"
	echo 1 >"$OMT_TMP/ps/AC/online"
	owner_watch_start logind
	state() { grep -x "$1" "$OMT_TMP/logind.state" >/dev/null || omt_fail "logind state: $(cat "$OMT_TMP/logind.state")"; }

	owner_cmd 1 "jobs 1"
	grep -qx "ack 1 held" "$OMT_TMP/watch.out" || omt_fail "not held on AC: $(cat "$OMT_TMP/watch.err")"
	omt_wait_for "$OMT_TMP/logind.state" '^inhibitors 1$'
	state "last_inhibit sleep|omerta|compute jobs are running|block"
	grep -q "sleep inhibited" "$OMT_TMP/watch.err" || omt_fail "taking not logged"

	# The periodic update takes nothing more.
	owner_cmd 2 update
	state "inhibit_calls 1"

	# On battery: released at the next update.
	echo 0 >"$OMT_TMP/ps/AC/online"
	owner_cmd 3 update
	grep -qx "ack 3 released" "$OMT_TMP/watch.out" || omt_fail "held on battery"
	omt_wait_for "$OMT_TMP/logind.state" '^inhibitors 0$'
	grep -q "sleep no longer inhibited: on battery" "$OMT_TMP/watch.err" || omt_fail "release not logged"

	# Back on AC, then no jobs.
	echo 1 >"$OMT_TMP/ps/AC/online"
	owner_cmd 4 update
	omt_wait_for "$OMT_TMP/logind.state" '^inhibitors 1$'
	state "inhibit_calls 2"
	owner_cmd 5 "jobs 0"
	grep -qx "ack 5 released" "$OMT_TMP/watch.out" || omt_fail "held without jobs"
	omt_wait_for "$OMT_TMP/logind.state" '^inhibitors 0$'

	# logind loses the lock (a restart): the next update takes it again.
	owner_cmd 6 "jobs 1"
	omt_wait_for "$OMT_TMP/logind.state" '^inhibitors 1$'
	echo drop >&"$OWNER_LOGIND"
	omt_wait_for "$OMT_TMP/logind.state" '^inhibitors 0$'
	owner_cmd 7 update
	omt_wait_for "$OMT_TMP/logind.state" '^inhibitors 1$'
	state "inhibit_calls 4"

	# Held when the daemon exits: released with it.
	owner_cmd 8 "jobs 2"
	omt_wait_for "$OMT_TMP/logind.state" '^inhibitors 1$'
	exec {OWNER_WATCH}>&-
	wait "$OWNER_WATCH_PID" || omt_fail "ownerwatch failed: $(cat "$OMT_TMP/watch.err")"
	omt_wait_for "$OMT_TMP/logind.state" '^inhibitors 0$'

	# No logind on the bus: said once, nothing held, nothing fails.
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$OMT_TMP/nobus timeout 10 "$OWNER_TOOLS/ownerwatch" cpu "$OMT_TMP/ps" \
		>"$OMT_TMP/nobus.out" 2>"$OMT_TMP/nobus.err" <<-EOC || omt_fail "ownerwatch without a bus failed: $(cat "$OMT_TMP/nobus.err")"
		jobs 1
		update
	EOC
	grep -qx "ack 2 released" "$OMT_TMP/nobus.out" || omt_fail "without a bus: $(cat "$OMT_TMP/nobus.out")"
	[ "$(grep -c "sleep can't be inhibited" "$OMT_TMP/nobus.err")" = 1 ] ||
		omt_fail "not said once: $(cat "$OMT_TMP/nobus.err")"
}
