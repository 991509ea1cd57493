#!/usr/bin/env bash
# Work Queue through 'omerta swarm' against the same manager and task list
# with local workers, in the same run, one after the other. The swarm: two
# pilots on two providers (scripts/lib.sh: omt_swarm_up, each a daemon in
# its own namespaces), its VMs under TCG where the host has no KVM. The
# baseline: two work_queue_workers in the consumer namespace, dialling the
# manager over loopback with the same kind of password file, one core each
# as each pilot has. Each task sends 64 KiB of random bytes and brings back
# their SHA-256 (checked), after 'sleep SECONDS': work of a fixed length
# whatever CPU it lands on, so that the ratio reads as what the swarm adds
# (pilots' start, dispatch and files through the tunnel), not as how fast
# an emulated CPU computes. Times are CLOCK_MONOTONIC, from the manager
# (bench/swarm_manager.py) and from this script.
#   bench/swarm.sh [TASKS] [SECONDS]   (24 tasks, 2 s each)
set -eu
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
source scripts/lib.sh
TASKS=${1:-24}
SECS=${2:-2}
MANAGER=(/usr/bin/python3 "$OMT_ROOT/bench/swarm_manager.py")
LOCAL_PORT=9200
SWARM_PID=""
OURS=()	# the local workers and the swarm's stamper

now() { "${MANAGER[@]}" now; }

# A child of ours is still running (not yet ended, nor a zombie).
alive() { # PID
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s#Z}" = "$s" ]
}

# Waits at most SECONDS for PID (a child) to end, then sends it SIGTERM and
# after 60 s more SIGKILL; its exit status in RC. Teardown forgets it.
finish() { # PID SECONDS
	local pid=$1 i p keep=()
	for i in $(seq $(( $2 * 10 ))); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		[ "$2" = 0 ] || echo "$pid still running after $2 s: SIGTERM" >&2
		kill -TERM "$pid" 2>/dev/null || true
	fi
	for i in $(seq 600); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
	RC=0
	wait "$pid" 2>/dev/null || RC=$?
	for p in "${OMT_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
	OMT_PIDS=("${keep[@]}")
}

bench_teardown() {
	set +e
	trap '' INT TERM HUP	# bounded (finish); not to be cut short
	local p
	# The swarm first, while its providers still answer: it cancels its
	# pilots and removes its interface, nftables table and password file.
	[ -n "$SWARM_PID" ] && finish "$SWARM_PID" 0
	for p in "${OURS[@]}"; do finish "$p" 0; done
	omt_test_teardown
}
trap bench_teardown EXIT
# bash runs no EXIT trap when a signal kills it: exit, and the trap runs.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

omt_swarm_up
C=$OMT_NS_C
mkdir "$OMT_TMP/local" "$OMT_TMP/swarm" "$OMT_TMP/w1" "$OMT_TMP/w2"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$OMT_TMP/password"

# (b) The baseline: the manager first (it must listen), then the workers.
omt_spawn "$C" "$OMT_TMP/local.out" "$OMT_TMP/local.err" env OMERTA_SWARM_PORT=$LOCAL_PORT \
	OMERTA_SWARM_PASSWORD_FILE="$OMT_TMP/password" OMERTA_SWARM_ADDRESS=127.0.0.1 \
	"${MANAGER[@]}" run "$TASKS" "$OMT_TMP/local" "$SECS" 300
manager=$OMT_SPAWNED
omt_wait_for "$OMT_TMP/local.out" '^listening' || omt_fail "local manager: $(cat "$OMT_TMP/local.err")"
local_t0=$(now)
for i in 1 2; do
	omt_spawn "$C" "$OMT_TMP/w$i.out" "$OMT_TMP/w$i.err" work_queue_worker \
		--password "$OMT_TMP/password" --cores 1 --memory 256 --disk 1000 \
		--workdir "$OMT_TMP/w$i" --single-shot --max-backoff 5 --connect-timeout 60 \
		127.0.0.1 "$LOCAL_PORT"
	OURS+=("$OMT_SPAWNED")
done
finish "$manager" 330
[ "$RC" = 0 ] || omt_fail "local manager exited $RC: $(cat "$OMT_TMP/local.out" "$OMT_TMP/local.err")"
# --single-shot: they leave with the manager.
for p in "${OURS[@]}"; do finish "$p" 30; done
OURS=()

# (a) The swarm, its stderr lines stamped as they appear (every 20 ms).
omt_spawn "$C" "$OMT_TMP/swarm.stamped" /dev/null "${MANAGER[@]}" stamp "$OMT_TMP/swarm.err"
OURS+=("$OMT_SPAWNED")
swarm_t0=$(now)
omt_spawn "$C" "$OMT_TMP/swarm.out" "$OMT_TMP/swarm.err" \
	env OMERTA_HOME="$OMT_TMP/consumer" "$OMT_ROOT/build/bin/omerta" swarm \
	--providers "$OMT_TMP/providers" --workers 2 --timeout 1200 --description "swarm bench" \
	-- "${MANAGER[@]}" run "$TASKS" "$OMT_TMP/swarm" "$SECS" 900
SWARM_PID=$OMT_SPAWNED
finish "$SWARM_PID" 960
SWARM_PID=""
sleep 0.1	# the stamper's last lines
[ "$RC" = 0 ] || omt_fail "swarm exited $RC: $(cat "$OMT_TMP/swarm.err" "$OMT_TMP/swarm.out")"
! omt_in "$C" ip -o link show | grep -q ': omts' || omt_fail "the swarm left its interface"
! omt_in "$C" nft list tables | grep -q omerta_swarm || omt_fail "the swarm left its nftables table"

# A manager's output: 'FIRST LAST JOINED TASKS STEADY CYCLE CMD IN OUT SPAN':
# the first and the last result's time, the first worker's joining, the
# tasks each worker ran (as 12/12); the sum of the workers' rates, each from its first
# result to its last (tasks/s); medians of the time between a worker's
# results and of the tasks' own times (bench/swarm_manager.py).
summary() { # FILE
	awk 'function median(a, n,   i, j, v) {
			for (i = 2; i <= n; i++) {
				v = a[i]
				for (j = i - 1; j > 0 && a[j] > v; j--) a[j + 1] = a[j]
				a[j + 1] = v
			}
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		$1 == "result" {
			if (!f) f = $2
			l = $2
			if ($4 in last) cycle[++nc] = $2 - last[$4]
			else { first[$4] = $2; order[++nw] = $4 }
			last[$4] = $2; k[$4]++
			n++; cmd[n] = $5; in_[n] = $6; out[n] = $7; span[n] = $8
		}
		$1 == "joined" && !j { j = $2 }
		END {
			for (w in k) if (k[w] > 1) steady += (k[w] - 1) / (last[w] - first[w])
			tasks = k[order[1]]
			for (i = 2; i <= nw; i++) tasks = tasks "/" k[order[i]]
			print f, l, j, tasks, steady, median(cycle, nc), median(cmd, n), median(in_, n),
				median(out, n), median(span, n)
		}' "$1"
}
read -r lf ll lj lw lsteady lcycle lcmd lsend lrecv lspan <<<"$(summary "$OMT_TMP/local.out")"
read -r sf sl sj sw ssteady scycle scmd ssend srecv sspan <<<"$(summary "$OMT_TMP/swarm.out")"
running=$(awk '$NF == "running" && $5 == "job" { print $1 }' "$OMT_TMP/swarm.stamped" | tr '\n' ' ')
[ -n "$running" ] || omt_fail "no pilot running: $(cat "$OMT_TMP/swarm.err")"
joined=$(awk '$1 == "joined" { print $2 }' "$OMT_TMP/swarm.out" | tr '\n' ' ')

echo "$TASKS tasks (64 KiB in, its SHA-256 back, 'sleep $SECS' of work), 2 workers each way"
awk -v n="$TASKS" -v s="$SECS" -v running="$running" -v joined="$joined" \
	-v l0="$local_t0" -v lf="$lf" -v ll="$ll" -v lj="$lj" -v lw="$lw" -v lsteady="$lsteady" \
	-v lcycle="$lcycle" -v lcmd="$lcmd" -v lsend="$lsend" -v lrecv="$lrecv" -v lspan="$lspan" \
	-v s0="$swarm_t0" -v sf="$sf" -v sl="$sl" -v sj="$sj" -v sw="$sw" -v ssteady="$ssteady" \
	-v scycle="$scycle" -v scmd="$scmd" -v ssend="$ssend" -v srecv="$srecv" -v sspan="$sspan" 'BEGIN {
	a = n / (ll - l0); b = n / (sl - s0)
	row = "%-44s %9.3f %9.3f %10.3fx\n"
	sec = "%-44s %8.3fs %8.3fs %10.3fx\n"
	two = "%-44s %8.3fs %8.3fs\n"
	printf "%-44s %9s %9s %11s\n", "", "local", "swarm", "swarm/local"
	printf row, "tasks/s, start to last result", a, b, b / a
	printf row, "tasks/s, steady (sum of the workers'"'"' rates)", lsteady, ssteady, ssteady / lsteady
	printf sec, "start to first result", lf - l0, sf - s0, (sf - s0) / (lf - l0)
	printf two, "start to first worker joined", lj - l0, sj - s0
	printf sec, "per task, medians: a worker'"'"'s result to next", lcycle, scycle, scycle / lcycle
	printf sec, "  input'"'"'s start to output'"'"'s end", lspan, sspan, sspan / lspan
	printf sec, "  the command (sleep + sha256sum)", lcmd, scmd, scmd / lcmd
	printf two, "  the input sent (64 KiB)", lsend, ssend
	printf two, "  the output brought back", lrecv, srecv
	printf "%-44s %9s %9s\n", "tasks each worker ran", lw, sw
	printf "(at most %.3f tasks/s: 2 workers / %d s)\n", 2 / s, s
	printf "swarm: start to each pilot running (polled every 1 s):"
	k = split(running, r, " "); for (i = 1; i <= k; i++) printf " %.2fs", r[i] - s0
	printf "\nswarm: start to each worker joined:"
	k = split(joined, r, " "); for (i = 1; i <= k; i++) printf " %.2fs", r[i] - s0
	printf "\n"
}'
echo "the swarm's pilots (seconds from its start):"
awk -v s0="$swarm_t0" '$5 == "job" { t = $1; $1 = $2 = $3 = ""; sub(/^ +/, ""); printf "  %7.2f %s\n", t - s0, $0 }' \
	"$OMT_TMP/swarm.stamped"
