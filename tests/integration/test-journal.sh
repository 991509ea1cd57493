# Integration tests of the daemon's log in the journal ('omerta-loader run'
# under systemd): a real systemd-journald, started by the test in a mount
# namespace of its own, with its own /run/systemd/journal (its sockets) and
# /run/log ($OMT_TMP/journal: where it writes, read with journalctl -D);
# its configuration ($OMT_TMP/journald.conf, bind-mounted) keeps it in
# memory and reading nothing else. The daemon runs in that namespace, its
# stderr the journal's stream socket with JOURNAL_STREAM set, as systemd
# would start it (tests/integration/journalstream.py). A real VM runs a job.

# systemd-journald in a mount namespace of its own, in R's network namespace: JOURNALD_PID.
journald_up() {
	mkdir "$OMT_TMP/journal"
	printf '[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\nRateLimitBurst=0\n' \
		>"$OMT_TMP/journald.conf"
	omt_spawn "$OMT_NS_R" /dev/null "$OMT_TMP/journald.err" \
		unshare --mount --propagation private sh -c \
		'mount -t tmpfs -o mode=0755 omt-journal /run/systemd && mkdir /run/systemd/journal &&
		 mount --bind "$1" /run/log && mount --bind "$2" /etc/systemd/journald.conf &&
		 exec /lib/systemd/systemd-journald' sh "$OMT_TMP/journal" "$OMT_TMP/journald.conf"
	JOURNALD_PID=$OMT_SPAWNED
	local i
	for i in $(seq 100); do
		nsenter --mount=/proc/"$JOURNALD_PID"/ns/mnt test -S /run/systemd/journal/stdout && return 0
		sleep 0.1
	done
	omt_fail "journald did not start: $(cat "$OMT_TMP/journald.err")"
}

# The journal's entries as JSON, one a line; journalctl's matches as arguments.
journal() {
	journalctl -D "$OMT_TMP/journal/journal" -o json --no-pager "$@"
}

# Until an entry's MESSAGE contains TEXT (journalctl's matches after it), at most SECONDS.
journal_wait() { # SECONDS TEXT [MATCHES...]
	local seconds=$1 text=$2 i
	shift 2
	for i in $(seq $((seconds * 5))); do
		journal "$@" | jq -s -e --arg t "$text" 'any(.[]; .MESSAGE | contains($t))' >/dev/null &&
			return 0
		sleep 0.2
	done
	omt_fail "no '$text' in the journal: $(journal -o cat | tail -n 20)"
}

# An entry (of the matches after it) that satisfies the jq CONDITION.
journal_has() { # CONDITION [MATCHES...]
	local cond=$1
	shift
	journal "$@" | jq -s -e "any(.[]; $cond)" >/dev/null ||
		omt_fail "no journal entry with $cond: $(journal "$@" | jq -c '{MESSAGE, PRIORITY, OMERTA_JOB, OMERTA_CONSUMER, OMERTA_OUTCOME, OMERTA_REASON}')"
}

# `journalctl OMERTA_JOB=ID` tells one job's story: admitted, started, exec's
# lines, its end with its outcome; every line naming the job carries the
# field, the daemon's its consumer too. Refusals carry their reason (and the
# key claimed or verified), each line its priority and identifier, and the
# same text as on stderr, where nothing goes while the journal takes it.
test_journal_job_story() {
	local job rc stranger prefix
	omt_daemon_prepare
	journald_up
	omt_spawn "$OMT_NS_R" /dev/null "$OMT_TMP/daemon.log" \
		nsenter --mount=/proc/"$JOURNALD_PID"/ns/mnt /usr/bin/python3 \
		"$OMT_ROOT/tests/integration/journalstream.py" omerta-loader \
		"$OMT_LOADER" run --config "$OMT_TMP/omerta.ini"
	OMT_DAEMON_PID=$OMT_SPAWNED
	journal_wait 30 "listening on"
	rc=0
	omt_submit --description "journal story" -- sh -c 'exit 3' >"$OMT_TMP/out" 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 3 ] || omt_fail "exit $rc, not the job's 3: $(cat "$OMT_TMP/err")"
	job=$(jq -r 'select(.decision == "admit") | .job' "$OMT_TMP/audit.jsonl")
	[[ $job =~ ^[0-9a-f]{8}$ ]] || omt_fail "no job admitted: $(cat "$OMT_TMP/audit.jsonl")"
	prefix="omerta-loader: info: job $job:"
	journal_wait 30 "$prefix done, exit status 3" "OMERTA_JOB=$job"
	journal "OMERTA_JOB=$job" >"$OMT_TMP/story"
	# The daemon's lines, in order, with the job's consumer; its end with the outcome.
	jq -s -e --arg p "$prefix" --arg k "$OMT_CONSUMER_KEY" --arg pid "$OMT_DAEMON_PID" '
		map(select(._PID == $pid)) as $d
		| ($d | map(.MESSAGE)) as $m
		| ($m | index($p + " admitted (consumer " + $k[0:12] + "..., network default)")) as $a
		| ($m | index($p + " started (consumer " + $k[0:12] + "..., network default)")) as $s
		| ($m | index($p + " done, exit status 3")) as $e
		| $a != null and $s != null and $e != null and $a < $s and $s < $e
		  and all($d[]; .OMERTA_CONSUMER == $k and .PRIORITY == "6"
			  and .SYSLOG_IDENTIFIER == "omerta-loader" and ._TRANSPORT == "journal")
		  and $d[$e].OMERTA_OUTCOME == "done" and ($d[$a] | has("OMERTA_OUTCOME") | not)' \
		"$OMT_TMP/story" >/dev/null || omt_fail "the daemon's story: $(jq -c '{_PID, MESSAGE, OMERTA_CONSUMER, OMERTA_OUTCOME, PRIORITY}' "$OMT_TMP/story")"
	# exec's lines (its own process) are the job's too, its last with the outcome.
	jq -s -e --arg p "$prefix" --arg pid "$OMT_DAEMON_PID" '
		map(select(._PID != $pid)) | length > 3
		and any(.[]; .MESSAGE == $p + " exit status 3" and .OMERTA_OUTCOME == "done")' \
		"$OMT_TMP/story" >/dev/null || omt_fail "exec's lines: $(jq -c '{_PID, MESSAGE, OMERTA_OUTCOME}' "$OMT_TMP/story")"
	# Every line of exec's, from its first, is the job's (no other VM ran).
	[ "$(journal SYSLOG_IDENTIFIER=omerta-loader | jq -s --arg j "$job" --arg pid "$OMT_DAEMON_PID" \
		'map(select(._PID != $pid and .OMERTA_JOB != $j)) | length')" = 0 ] ||
		omt_fail "exec's lines without OMERTA_JOB: $(journal SYSLOG_IDENTIFIER=omerta-loader | jq -c 'select(.OMERTA_JOB == null) | .MESSAGE')"
	# No line naming the job lacks its field; none of ours came through the stream.
	[ "$(journal | jq -s --arg j "$job" 'map(select((.MESSAGE | contains("job " + $j + ":"))
		and .OMERTA_JOB != $j)) | length')" = 0 ] || omt_fail "a line of job $job without OMERTA_JOB"
	journal _TRANSPORT=stdout | jq -c 'select(.MESSAGE | startswith("omerta-loader: "))' \
		>"$OMT_TMP/streamed"
	[ ! -s "$OMT_TMP/streamed" ] || omt_fail "lines on stderr, not in the journal's fields: $(cat "$OMT_TMP/streamed")"

	# A verified consumer's refusal: its key and the reason.
	rc=0
	omt_submit --description "$(head -c 600 /dev/zero | tr '\0' d)" -- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 1 ] || omt_fail "long description: $rc $(cat "$OMT_TMP/err")"
	journal_wait 10 "refused a job of consumer ${OMT_CONSUMER_KEY:0:12}..." "OMERTA_CONSUMER=$OMT_CONSUMER_KEY"
	journal_has '.OMERTA_REASON == "description is 600 bytes, over 512" and .PRIORITY == "6"
		and (has("OMERTA_JOB") | not)' \
		"OMERTA_CONSUMER=$OMT_CONSUMER_KEY"
	# A stranger's: counted, logged when the counts are written (every 10 s).
	mkdir "$OMT_TMP/stranger"
	stranger=$(OMERTA_HOME=$OMT_TMP/stranger "$OMT_ROOT/build/bin/omerta" keygen 2>/dev/null)
	OMERTA_HOME=$OMT_TMP/stranger nsenter --net=/var/run/netns/"$OMT_NS_C" "$OMT_ROOT/build/bin/omerta" \
		submit --provider "$OMT_API" --description x -- true 2>/dev/null && omt_fail "a stranger's job went in"
	journal_wait 30 "refused 1 requests from 10.201.1.2 claiming key ${stranger:0:12}...: unknown consumer key" \
		"OMERTA_REASON=unknown consumer key"
	journal_has ".OMERTA_CONSUMER == \"$stranger\"" "OMERTA_REASON=unknown consumer key"
	# A warning's priority.
	sed -i "s|^state_dir = .*|state_dir = $OMT_TMP/elsewhere|" "$OMT_TMP/omerta.ini"
	kill -HUP "$OMT_DAEMON_PID"
	journal_wait 10 "policy reloaded"
	journal_has '(.MESSAGE | startswith("omerta-loader: warn: state_dir ")) and .PRIORITY == "4"'
	[ ! -s "$OMT_TMP/daemon.log" ] || omt_fail "on the file, not the journal: $(cat "$OMT_TMP/daemon.log")"
	omt_assert_no_jobs
}
