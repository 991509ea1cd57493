# Integration tests of the jail each VM's QEMU runs in (vmctl/qemu.c) and
# of the uid it runs as (host/vmuid.c): build/tools/escapee plays an
# escaped QEMU, entering a live QEMU's cgroups, namespaces, root and uid,
# and tries what such a QEMU would try against another VM and the host.

ESCAPEE=$OMT_ROOT/build/tools/escapee
URL="http://$OMT_C_TUN_IP:8000"

# The host pid of the QEMU of the job in JOB-DIR.
qemu_of() { # JOB-DIR
	cat "$1/qemu.pid"
}

uid_of() { # PID
	awk '/^Uid:/ {print $2}' "/proc/$1/status"
}

# escapee QEMU TRY [ARG] must be refused, saying so.
refused() {
	local out rc=0
	out=$("$ESCAPEE" "$@" 2>&1) || rc=$?
	[ "$rc" = 1 ] || omt_fail "an escaped QEMU could: escapee $* (exit $rc): $out"
}

test_jail_escaped_qemu() {
	omt_daemon_up 2
	local a b qa qb ua ub tap_a dir_a= dir_b= rc=0 i
	for i in a b; do
		omt_spawn "$OMT_NS_C" "$OMT_TMP/$i.out" "$OMT_TMP/$i.err" env OMERTA_HOME="$OMT_TMP/consumer" \
			"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description "vm $i" \
			-- sh -c 'echo up; sleep 25; echo finished'
		eval "$i=\$OMT_SPAWNED"
	done
	omt_wait_for "$OMT_TMP/a.out" '^up$' 180 || omt_fail "job a never started: $(cat "$OMT_TMP/a.err")"
	omt_wait_for "$OMT_TMP/b.out" '^up$' 180 || omt_fail "job b never started: $(cat "$OMT_TMP/b.err")"
	for i in /run/omerta/jobs/*; do
		case $(cat "$i/description") in
		"vm a") dir_a=$i ;;
		"vm b") dir_b=$i ;;
		esac
	done
	[ -n "${dir_a:-}" ] && [ -n "${dir_b:-}" ] || omt_fail "not two job directories: $(ls /run/omerta/jobs)"
	qa=$(qemu_of "$dir_a") qb=$(qemu_of "$dir_b")
	tap_a=$(cat "$dir_a/tap")

	# A uid of the default range each, not the same one.
	ua=$(uid_of "$qa") ub=$(uid_of "$qb")
	[ "$ua" != "$ub" ] || omt_fail "both QEMUs run as uid $ua"
	for i in "$ua" "$ub"; do
		[ "$i" -ge 2000000000 ] && [ "$i" -le 2000000999 ] || omt_fail "QEMU's uid $i is not of the range"
	done

	# The other VM: its initramfs (job.json, the WireGuard key), its
	# memory, signals. Its pid as the host numbers it.
	refused "$qa" read "/proc/$qb/fd/4"
	refused "$qa" read "/proc/$qb/environ"
	refused "$qa" kill "$qb"
	refused "$qa" peek "$qb"
	# Only its own PID namespace is in view: itself (1) and the escapee.
	"$ESCAPEE" "$qa" pids >"$OMT_TMP/pids" || omt_fail "escapee pids: $(cat "$OMT_TMP/pids")"
	grep -qx 1 "$OMT_TMP/pids" || omt_fail "QEMU is not PID 1 of its namespace: $(cat "$OMT_TMP/pids")"
	[ "$(wc -l <"$OMT_TMP/pids")" -le 2 ] || omt_fail "the jail's /proc shows: $(cat "$OMT_TMP/pids")"
	# The host outside its jail.
	refused "$qa" read /etc/passwd
	refused "$qa" read /usr/lib/os-release
	refused "$qa" read "$dir_b/description"
	refused "$qa" read "$OMT_TMP/omerta.ini"
	refused "$qa" read /sys/fs/cgroup/cgroup.procs
	refused "$qa" read /proc/sys/kernel/hostname
	# Its own tap, made persistent through its own fd: gone with the job.
	"$ESCAPEE" "$qa" persist-tap >"$OMT_TMP/persist" 2>&1 ||
		omt_fail "could not set up the persistent tap: $(cat "$OMT_TMP/persist")"
	# The host's abstract UNIX sockets: another network namespace's.
	omt_spawn "$OMT_NS_R" "$OMT_TMP/abstract" /dev/null /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind("\0omt-abstract-" + sys.argv[1]); s.listen(); print("ready", flush=True); time.sleep(120)' "$OMT_ID"
	omt_wait_for "$OMT_TMP/abstract" ready || omt_fail "no abstract socket listener"
	refused "$qa" unix "omt-abstract-$OMT_ID"
	# The network, but through its tap: the cgroup guard refuses the
	# socket, and the attempt is rogue: that VM is killed.
	refused "$qa" inet

	wait "$a" || rc=$?
	[ "$rc" = 240 ] || omt_fail "job a exited $rc, not 240 (rogue): $(cat "$OMT_TMP/a.err")"
	grep -q "reason=qemu_socket" "$OMT_TMP/daemon.log" ||
		omt_fail "no qemu_socket event in the daemon's log"
	rc=0
	wait "$b" || rc=$?
	[ "$rc" = 0 ] && grep -qx finished "$OMT_TMP/b.out" ||
		omt_fail "the other VM was harmed: exit $rc: $(cat "$OMT_TMP/b.out" "$OMT_TMP/b.err")"
	! omt_in "$OMT_NS_R" ip link show dev "$tap_a" >/dev/null 2>&1 ||
		omt_fail "tap $tap_a, made persistent from QEMU's fd, outlived its job"
	omt_assert_no_jobs
}

# A uid of the range that nothing on the host runs as, for the tests below.
HELD_UID=2000000777

# A process running as HELD_UID: the uid counts as taken (host/vmuid.c).
hold_uid() {
	setpriv --reuid "$HELD_UID" --regid "$HELD_UID" --clear-groups sleep 600 &
	OMT_PIDS+=($!)
	HOLDER=$!
}

test_jail_exec_waits_for_a_free_uid() {
	omt_provider_up
	hold_uid
	omt_spawn "$OMT_NS_R" "$OMT_TMP/out" "$OMT_TMP/err" "$OMT_LOADER" exec \
		--vpn-config "$OMT_TMP/vm.conf" --vm-uids "$HELD_UID-$HELD_UID" -- sh -c 'echo ran'
	local job=$OMT_SPAWNED rc=0
	omt_wait_for "$OMT_TMP/err" "is taken: waiting for one" ||
		omt_fail "exec did not wait for the uid: $(cat "$OMT_TMP/err")"
	! pgrep -f 'qemu-system.*omerta-' >/dev/null || omt_fail "a QEMU started without a free uid"
	kill "$HOLDER"
	wait "$job" || rc=$?
	[ "$rc" = 0 ] && grep -qx ran "$OMT_TMP/out" ||
		omt_fail "exit $rc once the uid was free: $(cat "$OMT_TMP/err")"
	omt_expect_exec 2 "--vm-uids must be FIRST-LAST" --vm-uids 10-20 --vpn-config "$OMT_TMP/vm.conf" -- true
	# A range that owns something on the host is refused, naming it.
	local group=omtg$OMT_ID
	trap "groupdel $group 2>/dev/null || true; omt_test_teardown" EXIT
	groupadd -g 2000000778 "$group"
	omt_expect_exec 1 "gid 2000000778 is group '$group'; the range must own nothing" \
		--vm-uids 2000000770-2000000779 --vpn-config "$OMT_TMP/vm.conf" -- true
	groupdel "$group"
	trap omt_test_teardown EXIT
	omt_assert_no_jobs
}

test_jail_daemon_queues_without_a_free_uid() {
	omt_daemon_up 1
	kill "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" 2>/dev/null || true
	# Fewer uids than max_vms: refused at start.
	sed -i 's/^max_vms = .*/max_vms = 2\nvm_uids = 2000000777-2000000777/' "$OMT_TMP/omerta.ini"
	local rc=0
	omt_net "$OMT_NS_R" "$OMT_LOADER" run --config "$OMT_TMP/omerta.ini" 2>"$OMT_TMP/refused.log" || rc=$?
	[ "$rc" = 1 ] && grep -q "vm_uids 2000000777-2000000777 has 1 uids, fewer than max_vms 2" \
		"$OMT_TMP/refused.log" || omt_fail "started with too few uids (exit $rc): $(cat "$OMT_TMP/refused.log")"
	sed -i 's/^max_vms = .*/max_vms = 1/' "$OMT_TMP/omerta.ini"
	omt_daemon_start
	hold_uid
	omt_spawn "$OMT_NS_C" "$OMT_TMP/a.out" "$OMT_TMP/a.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description "waits for a uid" \
		-- sh -c 'echo ran'
	local submit=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/daemon.log" "every uid of vm_uids 2000000777-2000000777 is taken" ||
		omt_fail "the daemon did not keep the job queued: $(cat "$OMT_TMP/daemon.log")"
	jq -e 'any(.[]; .state == "queued")' /run/omerta/daemon/state.json >/dev/null ||
		omt_fail "the job is not queued: $(cat /run/omerta/daemon/state.json)"
	! pgrep -f 'qemu-system.*omerta-' >/dev/null || omt_fail "a QEMU started without a free uid"
	kill "$HOLDER"
	rc=0
	wait "$submit" || rc=$?
	[ "$rc" = 0 ] && grep -qx ran "$OMT_TMP/a.out" ||
		omt_fail "exit $rc once the uid was free: $(cat "$OMT_TMP/a.err" "$OMT_TMP/daemon.log")"
	omt_assert_no_jobs
}

# The daemon under the unit's capability bounding set and no_new_privs,
# exactly: its jobs' jails need nothing more (CAP_SYS_ADMIN for the mounts
# and pivot_root, no CAP_SYS_CHROOT).
test_jail_under_the_units_capabilities() {
	omt_daemon_up
	kill "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" 2>/dev/null || true
	local caps rc=0
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$OMT_ROOT/dist/omerta-loader.service" |
		tr 'A-Z' 'a-z' | sed 's/cap_//g; s/ /,+/g')
	[ -n "$caps" ] || omt_fail "no CapabilityBoundingSet in the unit"
	: >"$OMT_TMP/daemon.log"
	omt_spawn "$OMT_NS_R" /dev/null "$OMT_TMP/daemon.log" setpriv --bounding-set "-all,+$caps" \
		--inh-caps -all --no-new-privs "$OMT_LOADER" run --config "$OMT_TMP/omerta.ini"
	OMT_DAEMON_PID=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/daemon.log" 'listening on|error' || true
	grep -q "listening on" "$OMT_TMP/daemon.log" || omt_fail "daemon did not start: $(cat "$OMT_TMP/daemon.log")"
	[ "$(awk '/^CapBnd:/ {print $2}' "/proc/$OMT_DAEMON_PID/status")" != \
	  "$(awk '/^CapBnd:/ {print $2}' /proc/self/status)" ] || omt_fail "the daemon runs with every capability"
	omt_submit --description "under the unit's capabilities" \
		-- sh -c 'wget -q -O - http://$OMERTA_CONSUMER_IP:8000/file' >"$OMT_TMP/out" 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 0 ] && grep -qx "hello from the consumer" "$OMT_TMP/out" ||
		omt_fail "exit $rc under the unit's capabilities: $(cat "$OMT_TMP/err" "$OMT_TMP/daemon.log")"
	omt_assert_no_jobs
}

# One job in the jail on this host's cgroup layout; the other layout can't
# be had here.
jail_on_cgroups() { # hybrid|v2
	local have=hybrid rc=0 qemu
	[ -e /sys/fs/cgroup/cgroup.controllers ] && have=v2
	if [ "$have" != "$1" ]; then
		echo "this host's cgroups are $have: the jail on $1 is not tried here"
		exit 77
	fi
	omt_provider_up
	omt_spawn "$OMT_NS_R" "$OMT_TMP/out" "$OMT_TMP/err" "$OMT_LOADER" exec \
		--vpn-config "$OMT_TMP/vm.conf" -- sh -c 'echo up; sleep 5'
	local job=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/out" '^up$' 120 || omt_fail "never started: $(cat "$OMT_TMP/err")"
	qemu=$(cat /run/omerta/jobs/*/qemu.pid)
	grep -q "^0::/omerta/" "/proc/$qemu/cgroup" || omt_fail "QEMU is not in its v2 cgroup: $(cat "/proc/$qemu/cgroup")"
	[ "$1" = v2 ] || grep -q ":cpu[,:].*/omerta/" "/proc/$qemu/cgroup" ||
		omt_fail "QEMU is not in its v1 cpu cgroup: $(cat "/proc/$qemu/cgroup")"
	[ "$(awk '/^NSpid:/ {print $NF}' "/proc/$qemu/status")" = 1 ] || omt_fail "QEMU is not PID 1 of its own"
	wait "$job" || rc=$?
	[ "$rc" = 0 ] || omt_fail "exit $rc: $(cat "$OMT_TMP/err")"
	omt_assert_no_jobs
}

test_jail_on_hybrid_cgroups() {
	jail_on_cgroups hybrid
}

test_jail_on_pure_cgroup_v2() {
	jail_on_cgroups v2
}

# Under KVM the jail holds /dev/kvm and QEMU the kvm group.
test_jail_under_kvm() {
	if ! grep -qE ' (vmx|svm)' /proc/cpuinfo || ! [ -w /dev/kvm ]; then
		echo "no usable /dev/kvm here: the jail under KVM is not tried"
		exit 77
	fi
	omt_provider_up
	local rc=0
	omt_exec --accel kvm -- sh -c "wget -q -O - $URL/file" || rc=$?
	[ "$rc" = 0 ] && grep -qx "hello from the consumer" "$OMT_TMP/out" ||
		omt_fail "exit $rc under KVM: $(cat "$OMT_TMP/err")"
	omt_assert_no_jobs
}

# A job tap that no live job owns (here: made persistent by hand, as an
# escaped QEMU would through its fd) is deleted by cleanup; an interface of
# the same name shape that is not a tun device stays. (A live job's tap
# stays too: test_daemon_cleanup_spares_a_running_job.)
test_jail_cleanup_deletes_orphan_taps() {
	omt_two_ns_up
	local orphan=omt0badf00d other=omt0ddba11e
	omt_in "$OMT_NS_R" ip tuntap add "$orphan" mode tap
	omt_in "$OMT_NS_R" ip link add "$other" type veth peer name omtpeer0
	omt_net "$OMT_NS_R" "$OMT_LOADER" cleanup >"$OMT_TMP/cleanup.log" 2>&1 ||
		omt_fail "cleanup failed: $(cat "$OMT_TMP/cleanup.log")"
	! omt_in "$OMT_NS_R" ip link show "$orphan" >/dev/null 2>&1 ||
		omt_fail "cleanup left the orphaned tap $orphan: $(cat "$OMT_TMP/cleanup.log")"
	grep -q "removed tap $orphan, which no live job owns" "$OMT_TMP/cleanup.log" ||
		omt_fail "cleanup did not say so: $(cat "$OMT_TMP/cleanup.log")"
	omt_in "$OMT_NS_R" ip link show "$other" >/dev/null 2>&1 || omt_fail "cleanup removed a veth of the same name shape"
}
