# Integration tests of the daemon's audit log ('omerta-loader run'): its
# rotation by logrotate with the shipped snippet (dist/omerta-loader.logrotate).
# No VM: refused requests make the lines.

APICLIENT=$OMT_ROOT/build/tools/apiclient
BURST_CLIENTS=4
BURST_EACH=50
ROTATIONS=4

# One client's share of the burst: BURST_EACH signed job requests, each
# with a description of its own longer than max_description (8), each
# refused on an audit line of its own that names it.
burst_client() { # I
	local n body out
	for n in $(seq "$BURST_EACH"); do
		body=$OMT_TMP/burst/$1-$n.json
		printf '{"description":"burst-%s-%04d","command":["true"],"vpn":{"endpoint":"10.201.1.2:51820","public_key":"%s","vm_address":"10.77.9.2/24","allowed_ips":["10.77.9.0/24"],"consumer_address":"10.77.9.1"}}' \
			"$1" "$n" "$OMT_CONSUMER_KEY" >"$body"
		out=$(omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" POST /v1/jobs "$body" good)
		echo "${out##* }"
	done >"$OMT_TMP/burst/$1.statuses"
}

# Lines in the audit log now (the file the daemon writes to, once it reopened).
audit_lines() {
	wc -l <"$OMT_TMP/audit.jsonl" 2>/dev/null || echo 0
}

# Until the daemon has said N times that it reopened the audit log.
wait_reopened() { # N
	local i
	for i in $(seq 300); do
		[ "$(grep -c "audit log reopened: $OMT_TMP/audit.jsonl$" "$OMT_TMP/daemon.log")" -ge "$1" ] &&
			return 0
		sleep 0.1
	done
	omt_fail "the audit log not reopened $1 times: $(tail "$OMT_TMP/daemon.log")"
}

# The audit log rotated several times by a real logrotate (the shipped
# snippet, its path and its postrotate's signal rewritten for this daemon)
# while a burst of refused requests is audited, one line each: every
# decision is in exactly one of the files, none lost, none twice, and the
# daemon says it reopened the log each time.
test_audit_rotate_under_load() {
	local snippet=$OMT_ROOT/dist/omerta-loader.logrotate i n r f pids=() want got
	# The snippet rotates what the example policy names, and never copies and truncates.
	grep -q "^audit_log = /var/log/omerta/audit.jsonl$" "$OMT_ROOT/dist/omerta.ini.example" ||
		omt_fail "omerta.ini.example's audit_log is not /var/log/omerta/audit.jsonl"
	grep -q "^/var/log/omerta/audit.jsonl {" "$snippet" || omt_fail "the snippet rotates another file"
	! grep -v '^[[:space:]]*#' "$snippet" | grep -q copytruncate || omt_fail "the snippet copies and truncates"
	grep -q "systemctl kill --kill-whom=main --signal=USR1 omerta-loader.service" "$snippet" ||
		omt_fail "the snippet does not signal the daemon's main process"
	omt_daemon_prepare
	sed -i 's/^\[provider\]$/[provider]\nmax_description = 8/' "$OMT_TMP/omerta.ini"
	omt_daemon_start
	sed -e "s|^/var/log/omerta/audit.jsonl {|$OMT_TMP/audit.jsonl {|" \
		-e "s|^\(\t*\)if \[ -d /run/systemd/system \].*|\1kill -USR1 $OMT_DAEMON_PID|" \
		"$snippet" >"$OMT_TMP/logrotate.conf"
	[ "$(grep -c -e "^$OMT_TMP/audit.jsonl {" -e "kill -USR1 $OMT_DAEMON_PID$" "$OMT_TMP/logrotate.conf")" = 2 ] ||
		omt_fail "the snippet was not rewritten: $(cat "$OMT_TMP/logrotate.conf")"
	mkdir "$OMT_TMP/burst"
	for i in $(seq "$BURST_CLIENTS"); do
		burst_client "$i" &
		pids+=($!)
	done
	# Each rotation once the fresh file has lines of its own: the daemon has
	# reopened it, and the burst goes on.
	for r in $(seq "$ROTATIONS"); do
		for i in $(seq 600); do
			[ "$(audit_lines)" -ge 10 ] && break
			sleep 0.1
		done
		[ "$(audit_lines)" -ge 10 ] || omt_fail "rotation $r: no lines came"
		logrotate -f -s "$OMT_TMP/logrotate.state" "$OMT_TMP/logrotate.conf" ||
			omt_fail "logrotate failed"
		wait_reopened "$r"
	done
	for i in "${pids[@]}"; do wait "$i"; done
	[ "$(grep -c "audit log reopened" "$OMT_TMP/daemon.log")" = "$ROTATIONS" ] ||
		omt_fail "reopened other than $ROTATIONS times: $(grep "audit log" "$OMT_TMP/daemon.log")"
	want=$((BURST_CLIENTS * BURST_EACH))
	[ "$(cat "$OMT_TMP"/burst/*.statuses | grep -cx 400)" = "$want" ] ||
		omt_fail "not every request refused with 400: $(sort "$OMT_TMP"/burst/*.statuses | uniq -c)"
	ls "$OMT_TMP"/audit.jsonl* >"$OMT_TMP/files"
	[ "$(wc -l <"$OMT_TMP/files")" = $((ROTATIONS + 1)) ] || omt_fail "files: $(cat "$OMT_TMP/files")"
	ls "$OMT_TMP"/audit.jsonl.*.gz >/dev/null 2>&1 || omt_fail "nothing compressed: $(cat "$OMT_TMP/files")"
	# Every line whole JSON, every rotated file with lines; the burst's descriptions, each once.
	while read -r f; do
		zcat -f "$f" | jq -e -s 'length > 0' >/dev/null || omt_fail "$f: empty or not JSON lines"
	done <"$OMT_TMP/files"
	while read -r f; do zcat -f "$f"; done <"$OMT_TMP/files" |
		jq -r 'select(.event == "decision" and .decision == "refuse") | .description' |
		grep '^burst-' | sort >"$OMT_TMP/seen"
	got=$(wc -l <"$OMT_TMP/seen")
	[ "$got" = "$want" ] || omt_fail "$got decisions in the files, not $want: twice: $(uniq -d "$OMT_TMP/seen" | head)"
	[ -z "$(uniq -d "$OMT_TMP/seen")" ] || omt_fail "written twice: $(uniq -d "$OMT_TMP/seen" | head)"
	for i in $(seq "$BURST_CLIENTS"); do
		for n in $(seq "$BURST_EACH"); do printf 'burst-%s-%04d\n' "$i" "$n"; done
	done | sort | cmp -s - "$OMT_TMP/seen" || omt_fail "the files' decisions are not the burst's"
}
