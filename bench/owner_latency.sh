#!/usr/bin/env bash
# Owner activity to VM paused: a job runs with --owner-priority pause while a
# scripted logind on a private bus (tests/integration/test-owner.sh) flips
# IdleHint; the time from the flip to the loader's "VM paused" line, against
# the same flip to build/tools/ownerwatch printing "active" (the D-Bus
# notification alone), in the same run. Target: < 100 ms.
#   bench/owner_latency.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
source scripts/lib.sh
source tests/integration/test-owner.sh
ROUNDS=${1:-10}
trap omt_test_teardown EXIT
omt_provider_up
owner_bus_up
echo "idle 1" >&"$OWNER_LOGIND"
owner_watch_start logind
omt_spawn "$OMT_NS_R" "$OMT_TMP/out" "$OMT_TMP/err" env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" \
	"$OMT_LOADER" exec --vpn-config "$OMT_TMP/vm.conf" --timeout 0 --image minimal \
	--owner-priority pause --owner-source logind --owner-idle 1 -- sh -c 'echo up; while :; do :; done'
omt_wait_for "$OMT_TMP/out" '^up$' 120 || omt_fail "the job never ran: $(cat "$OMT_TMP/err")"
python3 - "$ROUNDS" "$OMT_TMP/logind.in" "$OMT_TMP/err" "$OMT_TMP/watch.out" <<'PY'
import statistics, sys, time
rounds, fifo, err, watch = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def count(path, text):
    with open(path) as f:
        return f.read().count(text)

def wait_more(path, text, n, deadline=30):
    t_end = time.monotonic() + deadline
    while count(path, text) <= n:
        if time.monotonic() > t_end:
            sys.exit(f"timed out waiting for {text!r} in {path}")
        time.sleep(0.0005)
    return time.monotonic()

vm, bus = [], []
with open(fifo, "w", buffering=1) as logind:
    for _ in range(rounds):
        p, a = count(err, "VM paused"), count(watch, "active\n")
        t0 = time.monotonic()
        logind.write("idle 0\n")
        t_bus = wait_more(watch, "active\n", a)
        t_vm = wait_more(err, "VM paused", p)
        bus.append((t_bus - t0) * 1000)
        vm.append((t_vm - t0) * 1000)
        g = count(err, "the VM goes on")
        logind.write("idle 1\n")
        wait_more(err, "the VM goes on", g)
        time.sleep(0.5)
b, v = statistics.median(bus), statistics.median(vm)
print(f"IdleHint flip to ownerwatch 'active': {b:7.1f} ms median (baseline)")
print(f"IdleHint flip to VM paused:           {v:7.1f} ms median, worst {max(vm):.1f} ms  {v / b:.1f}x")
PY
