#!/usr/bin/env bash
# The cost of a job, against a bare QEMU boot of the same kernel (same
# machine type, memory, TCG) whose init prints a line and powers off, in the
# same run, rounds interleaved, medians:
#   - time from start to the first output, and to the end, of `exec -- true`
#     (with `echo` for the first output) against the bare boot;
#   - the loader's peak resident memory per VM;
#   - rogue frame to QEMU dead (as the loader logs it), against SIGKILL of a
#     bare QEMU to its death;
#   - with OMT_BASELINE_LOADER (another build's omerta-loader, e.g. of an
#     earlier commit), the same two exec measures of that loader, in the
#     same rounds, and this loader's ratio to it.
#   bench/exec.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
source scripts/lib.sh
ROUNDS=${1:-5}
trap omt_test_teardown EXIT
omt_provider_up

# The bare boot: busybox as init, one line, power off.
mkdir -p "$OMT_TMP/bare/bin" "$OMT_TMP/bare/dev"
cp /bin/busybox "$OMT_TMP/bare/bin/"
printf '#!/bin/busybox sh\n/bin/busybox echo omt-first\n/bin/busybox poweroff -f\n' \
	>"$OMT_TMP/bare/init"
chmod +x "$OMT_TMP/bare/init"
(cd "$OMT_TMP/bare" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -n) >"$OMT_TMP/bare.cpio.gz"
# The same kernel command line as exec's, TSC rate included (vmctl/qemu.h).
KHZ=$(awk '/^cpu MHz/ {printf "%d", $4 * 1000; exit}' /proc/cpuinfo)
BARE=(qemu-system-x86_64 -M microvm,accel=tcg -cpu max -m 256 -smp 1 -nodefaults
	-no-user-config -display none -no-reboot -kernel build/guest/vmlinuz
	-initrd "$OMT_TMP/bare.cpio.gz" -append "console=ttyS0 quiet panic=-1 tsc_early_khz=$KHZ"
	-serial stdio)
EXEC=(nsenter --net=/var/run/netns/"$OMT_NS_R" "$OMT_LOADER" exec --vpn-config "$OMT_TMP/vm.conf" --image minimal)
BASE=${OMT_BASELINE_LOADER:-}
BASE_EXEC=(nsenter --net=/var/run/netns/"$OMT_NS_R" "$BASE" exec --vpn-config "$OMT_TMP/vm.conf" --image minimal)

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
col() { awk -v c="$1" '{print $c}'; }

: >"$OMT_TMP/bare.txt"; : >"$OMT_TMP/echo.txt"; : >"$OMT_TMP/true.txt"; : >"$OMT_TMP/rogue.txt"
: >"$OMT_TMP/base_echo.txt"; : >"$OMT_TMP/base_true.txt"
for r in $(seq "$ROUNDS"); do
	python3 bench/timecmd.py omt-first -- "${BARE[@]}" </dev/null >>"$OMT_TMP/bare.txt"
	python3 bench/timecmd.py omt-first -- "${EXEC[@]}" -- echo omt-first >>"$OMT_TMP/echo.txt"
	python3 bench/timecmd.py never -- "${EXEC[@]}" -- true >>"$OMT_TMP/true.txt"
	if [ -n "$BASE" ]; then
		python3 bench/timecmd.py omt-first -- "${BASE_EXEC[@]}" -- echo omt-first >>"$OMT_TMP/base_echo.txt"
		python3 bench/timecmd.py never -- "${BASE_EXEC[@]}" -- true >>"$OMT_TMP/base_true.txt"
	fi
	"${EXEC[@]}" --guest-firewall off -- ping -c 3 10.201.1.2 >/dev/null 2>"$OMT_TMP/rogue.err" || true
	grep -o 'rogue frame to QEMU dead: [0-9.]*' "$OMT_TMP/rogue.err" | awk '{print $NF}' >>"$OMT_TMP/rogue.txt"
done

bare_first=$(col 1 <"$OMT_TMP/bare.txt" | median)
bare_total=$(col 2 <"$OMT_TMP/bare.txt" | median)
echo_first=$(col 1 <"$OMT_TMP/echo.txt" | median)
true_total=$(col 2 <"$OMT_TMP/true.txt" | median)
hwm=$(col 3 <"$OMT_TMP/true.txt" | median)
rogue=$(median <"$OMT_TMP/rogue.txt")

# Baseline for the kill: SIGKILL of a booting bare QEMU to its death.
kill_ms=$(python3 - "${BARE[@]}" <<'PY'
import os, select, signal, statistics, subprocess, sys, time
v = []
for _ in range(5):
    p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    time.sleep(0.5)
    fd = os.pidfd_open(p.pid)
    t0 = time.monotonic()
    os.kill(p.pid, signal.SIGKILL)
    select.select([fd], [], [], 5)
    v.append((time.monotonic() - t0) * 1000)
    os.close(fd)
    p.wait()
print(f"{statistics.median(v):.3f}")
PY
)
echo "microVM jobs, $ROUNDS rounds, medians (TCG)"
awk -v bf="$bare_first" -v bt="$bare_total" -v ef="$echo_first" -v tt="$true_total" -v h="$hwm" \
	-v rg="$rogue" -v k="$kill_ms" 'BEGIN {
	printf "  bare boot: first output %6.3f s, powered off %6.3f s (baseline)\n", bf, bt
	printf "  exec echo: first output %6.3f s  %5.2fx bare (overhead %+.0f%%)\n", ef, ef / bf, (ef / bf - 1) * 100
	printf "  exec true: whole job    %6.3f s  %5.2fx bare (overhead %+.0f%%)\n", tt, tt / bt, (tt / bt - 1) * 100
	printf "  loader peak RSS per VM: %d KiB\n", h
	printf "  rogue frame to QEMU dead: %.3f ms; SIGKILL to dead of a bare QEMU: %.3f ms (%.2fx)\n", rg, k, rg / k
}'
if [ -n "$BASE" ]; then
	awk -v ef="$echo_first" -v tt="$true_total" -v bf="$(col 1 <"$OMT_TMP/base_echo.txt" | median)" \
		-v bt="$(col 2 <"$OMT_TMP/base_true.txt" | median)" -v b="$BASE" 'BEGIN {
	printf "  baseline loader %s:\n", b
	printf "    echo: first output %6.3f s; this loader %5.2fx (%+.0f ms)\n", bf, ef / bf, (ef - bf) * 1000
	printf "    true: whole job    %6.3f s; this loader %5.2fx (%+.0f ms)\n", bt, tt / bt, (tt - bt) * 1000
}'
fi
