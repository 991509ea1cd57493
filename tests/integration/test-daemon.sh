# Integration tests of the provider daemon ('omerta-loader run') and the
# consumer CLI ('omerta'): provider namespace and consumer namespace, real
# microVMs, a real wireguard-go server made by 'omerta submit'
# (scripts/lib.sh: omt_daemon_up, omt_submit).

APICLIENT=$OMT_ROOT/build/tools/apiclient

consumer_clean() {
	! omt_in "$OMT_NS_C" ip -o link show | grep -qE ': omtc[0-9a-f]{8}:' || omt_fail "tunnel interface left"
	! ls /var/run/wireguard/omtc*.sock >/dev/null 2>&1 || omt_fail "wireguard-go socket left"
	! pgrep -f 'wireguard-go -f omtc' >/dev/null || omt_fail "wireguard-go left running"
}

audit_has() { # JQ-CONDITION
	jq -s -e "any(.[]; $1)" "$OMT_TMP/audit.jsonl" >/dev/null || {
		cat "$OMT_TMP/audit.jsonl" >&2
		omt_fail "no audit line with $1"
	}
}

# Refusals of unverified requests are counted and written every 10 s.
audit_refusal_has() { # JQ-CONDITION
	local i
	for i in $(seq 30); do
		jq -s -e "any(.[]; .event == \"refusals\" and $1)" "$OMT_TMP/audit.jsonl" >/dev/null &&
			return 0
		sleep 1
	done
	audit_has ".event == \"refusals\" and $1"
}

test_daemon_job_end_to_end() {
	omt_daemon_up
	local rc=0
	omt_submit --description "fetch a file" \
		-- sh -c 'wget -q -O - http://$OMERTA_CONSUMER_IP:8000/file; exit 5' \
		>"$OMT_TMP/out" 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 5 ] || { cat "$OMT_TMP/err" "$OMT_TMP/daemon.log" >&2; omt_fail "exit $rc, not the job's 5"; }
	grep -qx "hello from the consumer" "$OMT_TMP/out" || omt_fail "output: $(cat "$OMT_TMP/out")"
	grep -q "trusting the provider key" "$OMT_TMP/err" || omt_fail "provider key not pinned"
	grep -q "^10.201.1.1:7360 " "$OMT_TMP/consumer/known_providers" || omt_fail "known_providers"
	audit_has '.event == "decision" and .decision == "admit" and .description == "fetch a file"'
	audit_has '.event == "outcome" and .outcome == "done" and .exit_status == 5 and .tunnel_bytes_in > 0'
	[ "$(stat -c %a "$OMT_TMP/consumer/identity")" = 600 ] || omt_fail "identity not 0600"
	consumer_clean
	omt_assert_no_jobs
}

test_daemon_refusals() {
	omt_daemon_up
	local rc out stranger
	# A key the policy doesn't know.
	mkdir "$OMT_TMP/stranger"
	stranger=$(OMERTA_HOME=$OMT_TMP/stranger "$OMT_ROOT/build/bin/omerta" keygen 2>/dev/null)
	rc=0
	OMERTA_HOME=$OMT_TMP/stranger nsenter --net=/var/run/netns/"$OMT_NS_C" "$OMT_ROOT/build/bin/omerta" \
		submit --provider "$OMT_API" --description x -- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 1 ] && grep -q "unknown consumer key" "$OMT_TMP/err" || omt_fail "unknown key: $rc $(cat "$OMT_TMP/err")"
	# Not verified: unsigned, and said so.
	grep -q "without verifying it" "$OMT_TMP/err" || omt_fail "unknown key answered signed: $(cat "$OMT_TMP/err")"
	audit_refusal_has ".reason == \"unknown consumer key\" and .verified == false and .claimed_key == \"$stranger\" and .remote == \"10.201.1.2\" and .count >= 1"
	# A description over the limit (512 bytes by default).
	rc=0
	omt_submit --description "$(head -c 600 /dev/zero | tr '\0' d)" -- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 1 ] && grep -q "description" "$OMT_TMP/err" || omt_fail "long description: $rc $(cat "$OMT_TMP/err")"
	audit_has '.decision == "refuse" and (.reason | test("description"))'
	# An empty one: the CLI insists, so send it raw.
	printf '{"description":"","command":["true"],"vpn":{"endpoint":"10.201.1.2:51820","public_key":"%s","vm_address":"10.77.9.2/24","allowed_ips":["10.77.9.0/24"],"consumer_address":"10.77.9.1"}}' \
		"$OMT_CONSUMER_KEY" >"$OMT_TMP/empty.json"
	out=$(omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" POST /v1/jobs "$OMT_TMP/empty.json" good)
	[[ $out == *"description"*" 400" ]] || omt_fail "empty description: $out"
	audit_has '.decision == "refuse" and (.reason | test("description is empty"))'
	# A body changed after signing: its headers verify, the body not.
	out=$(omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" POST /v1/jobs "$OMT_TMP/empty.json" tampered)
	[[ $out == *"does not match Omerta-Content-SHA256"*" 400" ]] || omt_fail "tampered body: $out"
	audit_refusal_has '.reason == "body does not match its hash"'
	# Signed the omerta-v1 way.
	out=$(omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" POST /v1/jobs "$OMT_TMP/empty.json" v1)
	[[ $out == *"omerta-v1"*"omerta-v2 only"*" 401" ]] || omt_fail "v1: $out"
	# The same signed request twice.
	out=$(omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" GET /v1/jobs/00000000 - replay)
	[[ $out == *"no such job"*" 404"*"replayed"*" 401" ]] || omt_fail "replay: $out"
	audit_refusal_has '.reason == "replayed nonce" and .verified == false'
	# An old timestamp.
	out=$(omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" GET /v1/jobs/00000000 - stale)
	[[ $out == *"stale timestamp"*" 401" ]] || omt_fail "stale: $out"
	audit_refusal_has '.reason == "stale or future timestamp"'
	# A verified upload dripped a byte a second is cut off.
	head -c 2000 /dev/zero | tr '\0' x >"$OMT_TMP/big.json"
	out=$(omt_net "$OMT_NS_C" timeout 120 "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" POST /v1/jobs "$OMT_TMP/big.json" drip)
	[[ $out == "curl failed 0" ]] || omt_fail "dripped body: $out"
	audit_refusal_has ".reason == \"upload too slow\" and .verified == true and .claimed_key == \"$OMT_CONSUMER_KEY\""
	# A denied key, after a reload that says so.
	sed -i 's/^\tallow = yes/\tallow = no/; s/^allow = yes/allow = no/' "$OMT_TMP/omerta.ini"
	kill -HUP "$OMT_DAEMON_PID"
	omt_wait_for "$OMT_TMP/daemon.log" "policy reloaded"
	rc=0
	omt_submit --description "denied now" -- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 1 ] && grep -q "denied" "$OMT_TMP/err" || omt_fail "denied key: $rc $(cat "$OMT_TMP/err")"
	audit_refusal_has '.reason == "consumer denied by policy" and .verified == true'
	consumer_clean
	omt_assert_no_jobs
}

# The API is TLS 1.3 with the provider key's certificate: a consumer that
# pinned another key stops at the handshake, naming both keys, and sends
# nothing; plain HTTP only with tls = off and an http:// address.
test_daemon_tls_bound_to_key() {
	omt_daemon_up
	local rc other provider lines
	provider=$(sed -n 's/.*provider key \([^,]*\),.*/\1/p' "$OMT_TMP/daemon.log")
	other=$("$OMT_ROOT/build/bin/omerta" keygen "$OMT_TMP/other.key" 2>/dev/null)
	lines=$(wc -l <"$OMT_TMP/audit.jsonl")
	rc=0
	omt_submit --provider-key "$other" --description "$(head -c 600 /dev/zero | tr '\0' d)" \
		-- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 1 ] && grep -qF "showed key $provider on TLS, not its key $other" "$OMT_TMP/err" ||
		omt_fail "wrong pin: $rc $(cat "$OMT_TMP/err")"
	# Pinned in known_providers: checked during the handshake too.
	echo "$OMT_API $other" >"$OMT_TMP/consumer/known_providers"
	rc=0
	omt_submit --description "$(head -c 600 /dev/zero | tr '\0' d)" -- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 1 ] && grep -qF "HAS CHANGED! It presents $provider" "$OMT_TMP/err" &&
		grep -qF "pins $other" "$OMT_TMP/err" && grep -qF "nothing sent" "$OMT_TMP/err" ||
		omt_fail "wrong pin in known_providers: $rc $(cat "$OMT_TMP/err")"
	rm "$OMT_TMP/consumer/known_providers"
	sleep 13		# refusals are written every 10 s
	[ "$(wc -l <"$OMT_TMP/audit.jsonl")" = "$lines" ] || omt_fail "the request reached the provider: $(cat "$OMT_TMP/audit.jsonl")"
	# The right key: the handshake goes, the answer is the provider's (signed).
	rc=0
	omt_submit --provider-key "$provider" --description "$(head -c 600 /dev/zero | tr '\0' d)" \
		-- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 1 ] && grep -q "description" "$OMT_TMP/err" && ! grep -q "without verifying" "$OMT_TMP/err" ||
		omt_fail "right pin: $rc $(cat "$OMT_TMP/err")"
	# Plain HTTP to a TLS API: no answer.
	rc=0
	omt_submit --provider "http://$OMT_API" --description x -- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 1 ] || omt_fail "http:// to TLS: $rc $(cat "$OMT_TMP/err")"
	# tls = off: plain HTTP, still signed both ways.
	kill "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" || true
	sed -i 's/^\[provider\]$/[provider]\ntls = off/' "$OMT_TMP/omerta.ini"
	omt_daemon_start
	rc=0
	omt_submit --provider "http://$OMT_API" --description "$(head -c 600 /dev/zero | tr '\0' d)" \
		-- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 1 ] && grep -q "description" "$OMT_TMP/err" && ! grep -q "without verifying" "$OMT_TMP/err" ||
		omt_fail "tls = off: $rc $(cat "$OMT_TMP/err")"
	rc=0
	omt_submit --description x -- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 1 ] || omt_fail "https:// to plain: $rc $(cat "$OMT_TMP/err")"
	consumer_clean
}

# 300 connections from 10 addresses for 60 s at most: strangers naming the
# listed key with 12 MiB bodies dripped, and that key's own verified 12 MiB
# uploads dripped. The daemon's memory stays within 128 MiB of idle, the
# refusals are counted (not a line each), and another consumer's job is
# admitted and answered meanwhile.
test_daemon_flood_bounded() {
	omt_daemon_up
	local i idle peak sources="" second rc=0 lines
	for i in $(seq 10 19); do
		omt_in "$OMT_NS_C" ip addr add "10.201.1.$i/24" dev "$OMT_C_DEV"
		sources+=${sources:+,}10.201.1.$i
	done
	mkdir "$OMT_TMP/second"
	second=$(OMERTA_HOME=$OMT_TMP/second "$OMT_ROOT/build/bin/omerta" keygen 2>/dev/null)
	printf '[consumer "%s"]\nallow = yes\nnetwork = default\n' "$second" >>"$OMT_TMP/omerta.ini"
	kill -HUP "$OMT_DAEMON_PID"
	omt_wait_for "$OMT_TMP/daemon.log" "policy reloaded"
	head -c $((12 << 20)) /dev/zero | tr '\0' x >"$OMT_TMP/big.json"
	"$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" POST /v1/jobs "$OMT_TMP/big.json" headers:100 >"$OMT_TMP/signed"
	rm "$OMT_TMP/big.json"
	idle=$(awk '/^VmRSS/ { print $2 }' /proc/"$OMT_DAEMON_PID"/status)
	omt_spawn "$OMT_NS_R" "$OMT_TMP/rss" /dev/null sh -c \
		'while kill -0 $1; do awk "/^VmRSS/ { print \$2 }" /proc/$1/status; sleep 0.5; done' sh "$OMT_DAEMON_PID"
	omt_spawn "$OMT_NS_C" "$OMT_TMP/flood.out" "$OMT_TMP/flood.err" python3 \
		"$OMT_ROOT/tests/integration/apiflood.py" "$OMT_API" "$sources" 300 60 20000 \
		"$OMT_CONSUMER_KEY" "$OMT_TMP/signed"
	local flood=$OMT_SPAWNED
	sleep 5
	OMERTA_HOME=$OMT_TMP/second nsenter --net=/var/run/netns/"$OMT_NS_C" "$OMT_ROOT/build/bin/omerta" \
		submit --provider "$OMT_API" --description "during a flood" -- echo served \
		>"$OMT_TMP/second.out" 2>"$OMT_TMP/second.err" || rc=$?
	[ "$rc" = 0 ] && grep -qx served "$OMT_TMP/second.out" ||
		omt_fail "the other consumer's job: $rc $(cat "$OMT_TMP/second.err")"
	wait "$flood" || omt_fail "flood: $(cat "$OMT_TMP/flood.err")"
	peak=$(sort -n "$OMT_TMP/rss" | tail -n 1)
	echo "daemon RSS: idle $idle KiB, peak $peak KiB; flood: $(cat "$OMT_TMP/flood.out")"
	[ $((peak - idle)) -lt $((128 << 10)) ] || omt_fail "the daemon grew from $idle KiB to $peak KiB"
	jq -e '.statuses["401"] > 100 and .cut > 0' "$OMT_TMP/flood.out" >/dev/null ||
		omt_fail "flood: $(cat "$OMT_TMP/flood.out")"
	audit_refusal_has ".reason == \"bad signature\" and .claimed_key == \"$OMT_CONSUMER_KEY\" and .count > 1"
	audit_refusal_has '.reason == "upload too slow" and .verified == true'
	lines=$(grep -c '"event":"refusals"' "$OMT_TMP/audit.jsonl")
	[ "$lines" -lt "$(jq '.statuses["401"]' "$OMT_TMP/flood.out")" ] || omt_fail "$lines refusal lines"
	consumer_clean
}

# SIGHUP, and the daemon's word that it read the file again.
reload_policy() {
	local before i
	before=$(grep -c "policy reloaded" "$OMT_TMP/daemon.log" || true)
	kill -HUP "$OMT_DAEMON_PID"
	for i in $(seq 100); do
		[ "$(grep -c "policy reloaded" "$OMT_TMP/daemon.log")" -gt "$before" ] && return 0
		sleep 0.1
	done
	omt_fail "policy not reloaded: $(cat "$OMT_TMP/daemon.log")"
}

# A raw POST /v1/jobs with vpn.endpoint IP:51820; prints the answer and its status.
post_endpoint() { # IP
	printf '{"description":"x","command":["true"],"vpn":{"endpoint":"%s:51820","public_key":"%s","vm_address":"10.77.9.2/24","allowed_ips":["10.77.9.0/24"],"consumer_address":"10.77.9.1"}}' \
		"$1" "$OMT_CONSUMER_KEY" >"$OMT_TMP/req.json"
	omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" POST /v1/jobs "$OMT_TMP/req.json" good
}

# The endpoint rules: the daemon's own address (10.201.1.1, inside the
# test policy's endpoints = 10.201.0.0/16), loopback, link-local and the
# VMs' network are refused whatever endpoints says; the consumer's private
# address (10.201.1.2) only while its network lists it. Each refusal is a
# 403 naming the address and the rule, with an audit line.
test_daemon_endpoint_rules() {
	omt_daemon_up
	local ip is out rc
	while IFS='|' read -r ip is; do
		out=$(post_endpoint "$ip")
		[[ $out == *"endpoint $ip is $is"*" 403" ]] || omt_fail "endpoint $ip: $out"
	done <<-EOT
		10.201.1.1|one of this host's addresses
		10.201.1.255|the broadcast address of one of this host's networks
		127.0.0.1|a loopback address (127.0.0.0/8)
		169.254.169.254|a link-local address (169.254.0.0/16)
		10.213.0.2|in the VMs' network (10.213.0.0/16)
	EOT
	audit_has '.decision == "refuse" and .network == "default" and .reason == "endpoint 10.201.1.1 is one of this host\u0027s addresses"'
	audit_has '.decision == "refuse" and .reason == "endpoint 169.254.169.254 is a link-local address (169.254.0.0/16)"'
	# The network without endpoints: the consumer's private address is refused, and told why.
	sed -i '/^endpoints = /d' "$OMT_TMP/omerta.ini"
	reload_policy
	rc=0
	omt_submit --description "private endpoint" -- echo ran >"$OMT_TMP/out" 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 1 ] || omt_fail "private endpoint without endpoints: exit $rc: $(cat "$OMT_TMP/err")"
	grep -qF 'HTTP 403: endpoint 10.201.1.2 is in a private range (10.0.0.0/8): network "default" does not allow it (endpoints = ...)' \
		"$OMT_TMP/err" || omt_fail "refusal: $(cat "$OMT_TMP/err")"
	! grep -q ran "$OMT_TMP/out" || omt_fail "the job ran"
	audit_has '.decision == "refuse" and .description == "private endpoint" and (.reason | test("^endpoint 10.201.1.2 is in a private range"))'
	# Listed again (that one address): admitted, and it runs.
	sed -i 's/^priority = 0$/&\nendpoints = 10.201.1.2\/32/' "$OMT_TMP/omerta.ini"
	reload_policy
	omt_submit --description "private endpoint, listed" -- echo ran >"$OMT_TMP/out" 2>"$OMT_TMP/err" ||
		omt_fail "private endpoint with endpoints: $(cat "$OMT_TMP/err")"
	grep -qx ran "$OMT_TMP/out" || omt_fail "output: $(cat "$OMT_TMP/out")"
	audit_has '.decision == "admit" and .description == "private endpoint, listed"'
	consumer_clean
	omt_assert_no_jobs
}

# exec checks the endpoint again when the job starts: an address the host
# took while the job was queued is refused then, and the job ends
# setup_failed.
test_daemon_exec_rechecks_endpoint() {
	omt_daemon_up 1
	local first out
	# The only VM is busy until the test says go.
	omt_spawn "$OMT_NS_C" "$OMT_TMP/a.out" "$OMT_TMP/a.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description first -- sh -c \
		'echo a; until wget -q -O /dev/null http://$OMERTA_CONSUMER_IP:8000/go; do sleep 0.2; done'
	first=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/a.out" '^a$'
	# Queued behind it: 10.201.9.9 is nobody's yet, and the policy lists 10.201.0.0/16.
	out=$(post_endpoint 10.201.9.9)
	[[ $out == *'"state":"queued"'*" 201" ]] || omt_fail "not admitted: $out"
	omt_in "$OMT_NS_R" ip addr add 10.201.9.9/32 dev lo
	touch "$OMT_TMP/www/go"
	wait "$first" || omt_fail "first job failed: $(cat "$OMT_TMP/a.err")"
	omt_wait_for "$OMT_TMP/audit.jsonl" '"outcome":"setup_failed"' 60 ||
		omt_fail "no set-up failure: $(cat "$OMT_TMP/audit.jsonl")"
	grep -q "refused: endpoint 10.201.9.9 is one of this host's addresses" "$OMT_TMP/daemon.log" ||
		omt_fail "exec did not say why: $(cat "$OMT_TMP/daemon.log")"
	omt_assert_no_jobs
}

test_daemon_priority_queue() {
	omt_daemon_up 1
	local low high
	# A second consumer of higher priority.
	mkdir "$OMT_TMP/vip"
	high=$(OMERTA_HOME=$OMT_TMP/vip "$OMT_ROOT/build/bin/omerta" keygen 2>/dev/null)
	printf '\n[consumer "%s"]\nallow = yes\nnetwork = default\npriority = 50\nmax_jobs = 4\n' "$high" >>"$OMT_TMP/omerta.ini"
	kill -HUP "$OMT_DAEMON_PID"
	omt_wait_for "$OMT_TMP/daemon.log" "policy reloaded"
	# One job holds the only VM until the test says go (a file appears on the
	# consumer's server); meanwhile a low-priority and a high-priority one queue.
	omt_spawn "$OMT_NS_C" "$OMT_TMP/a.out" "$OMT_TMP/a.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description first -- sh -c \
		'echo a; until wget -q -O /dev/null http://$OMERTA_CONSUMER_IP:8000/go; do sleep 0.2; done'
	local first_submit=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/a.out" '^a$'
	omt_spawn "$OMT_NS_C" "$OMT_TMP/b.out" "$OMT_TMP/b.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description low -- echo b
	low=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/b.err" accepted
	omt_spawn "$OMT_NS_C" "$OMT_TMP/c.out" "$OMT_TMP/c.err" env OMERTA_HOME="$OMT_TMP/vip" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description high -- echo c
	high=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/c.err" accepted
	touch "$OMT_TMP/www/go"
	wait "$first_submit" || omt_fail "first job failed: $(cat "$OMT_TMP/a.err")"
	wait "$low" || omt_fail "low job failed: $(cat "$OMT_TMP/b.err")"
	wait "$high" || omt_fail "high job failed: $(cat "$OMT_TMP/c.err")"
	grep -qx b "$OMT_TMP/b.out" && grep -qx c "$OMT_TMP/c.out" || omt_fail "outputs"
	# Started in priority order: first, high, low (arrival said low first).
	grep -o 'started (consumer [^,]*' "$OMT_TMP/daemon.log" >"$OMT_TMP/order"
	jq -r 'select(.event == "decision" and .decision == "admit") | .job + " " + .description' \
		"$OMT_TMP/audit.jsonl" >"$OMT_TMP/admitted"
	local first highjob lowjob order
	first=$(awk '$2 == "first" {print $1}' "$OMT_TMP/admitted")
	highjob=$(awk '$2 == "high" {print $1}' "$OMT_TMP/admitted")
	lowjob=$(awk '$2 == "low" {print $1}' "$OMT_TMP/admitted")
	order=$(grep -o 'job [0-9a-f]*: started' "$OMT_TMP/daemon.log" | awk '{print $2}' | tr -d : | tr '\n' ' ')
	[ "$order" = "$first $highjob $lowjob " ] || omt_fail "start order '$order', want '$first $highjob $lowjob '"
	omt_assert_no_jobs
}

test_daemon_bad_reload_keeps_policy() {
	omt_daemon_up
	sed -i 's/^max_vms = .*/max_vms = lots/' "$OMT_TMP/omerta.ini"
	kill -HUP "$OMT_DAEMON_PID"
	omt_wait_for "$OMT_TMP/daemon.log" "not reloaded"
	grep -q "omerta.ini:.*'lots'" "$OMT_TMP/daemon.log" || omt_fail "no file:line:value: $(cat "$OMT_TMP/daemon.log")"
	omt_submit --description "still served" -- true 2>"$OMT_TMP/err" || omt_fail "refused after a bad reload: $(cat "$OMT_TMP/err")"
	consumer_clean
}

test_daemon_sigkill_mid_job() {
	omt_daemon_up
	local qemu i rc=0
	omt_spawn "$OMT_NS_C" "$OMT_TMP/a.out" "$OMT_TMP/a.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description long -- sh -c 'echo up; sleep 120'
	local submit=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/a.out" '^up$'
	qemu=$(pgrep -f 'qemu-system.*omerta-') || omt_fail "no QEMU"
	kill -KILL "$OMT_DAEMON_PID"
	# The job dies with the daemon...
	for i in $(seq 200); do kill -0 "$qemu" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$qemu" 2>/dev/null || omt_fail "QEMU outlived the daemon"
	# ...the consumer gives up and takes its tunnel down...
	wait "$submit" || rc=$?
	[ "$rc" != 0 ] || omt_fail "submit claimed success"
	consumer_clean
	# ...and the next start leaves the host clean.
	omt_daemon_start
	for i in $(seq 100); do ls /run/omerta/jobs 2>/dev/null | grep -q . || break; sleep 0.05; done
	omt_assert_no_jobs
	[ -z "$(ls /run/omerta/daemon/ | grep -v -e lock -e state_dir)" ] || omt_fail "VM configs left: $(ls /run/omerta/daemon)"
	[ -z "$(ls -A "$OMT_TMP/state/jobs")" ] || omt_fail "job files left: $(ls "$OMT_TMP/state/jobs")"
}

# omerta-loader cleanup while a job runs: what the job's live loader owns
# stays (its guard on its tap, its pins), and the job ends well.
test_daemon_cleanup_spares_a_running_job() {
	omt_daemon_up
	local tap rc=0
	omt_spawn "$OMT_NS_C" "$OMT_TMP/a.out" "$OMT_TMP/a.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description "outlives a cleanup" \
		-- sh -c 'echo up; sleep 15; echo finished'
	local submit=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/a.out" '^up$' 120
	tap=$(omt_in "$OMT_NS_R" ip -o link show | grep -oE ': omt[0-9a-f]{8}:' | tr -d ': ')
	[ -n "$tap" ] || omt_fail "no tap"
	omt_in "$OMT_NS_R" ip link show dev "$tap" | grep -q xdp || omt_fail "no guard on $tap to start with"
	omt_net "$OMT_NS_R" "$OMT_LOADER" cleanup >"$OMT_TMP/cleanup.log" 2>&1 ||
		omt_fail "cleanup failed: $(cat "$OMT_TMP/cleanup.log")"
	omt_in "$OMT_NS_R" ip link show dev "$tap" | grep -q xdp ||
		omt_fail "cleanup took the guard off a running job's tap: $(cat "$OMT_TMP/cleanup.log")"
	ls -d /sys/fs/bpf/omerta/jobs/* >/dev/null 2>&1 || omt_fail "cleanup removed a running job's pins"
	wait "$submit" || rc=$?
	[ "$rc" = 0 ] || omt_fail "the job exited $rc after cleanup: $(cat "$OMT_TMP/a.err" "$OMT_TMP/cleanup.log")"
	grep -qx finished "$OMT_TMP/a.out" || omt_fail "output: $(cat "$OMT_TMP/a.out")"
	consumer_clean
	omt_assert_no_jobs
}

test_daemon_hostile_job_killed() {
	omt_daemon_up
	local rc=0
	omt_submit --description "totally harmless" -- sh -c 'gw=$(ip route | awk "/ via /{print \$3; exit}")
		ip addr add 10.213.0.99/32 dev eth0; arping -c 3 -s 10.213.0.99 -I eth0 "$gw"' \
		>"$OMT_TMP/out" 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 240 ] || { cat "$OMT_TMP/err" "$OMT_TMP/daemon.log" >&2; omt_fail "exit $rc, not 240"; }
	grep -q "rogue" "$OMT_TMP/err" || omt_fail "the consumer was not told: $(cat "$OMT_TMP/err")"
	audit_has '.event == "outcome" and .outcome == "rogue" and .rogue_events >= 1'
	consumer_clean
	omt_assert_no_jobs
}

test_daemon_sd_notify() {
	omt_daemon_up
	kill "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" 2>/dev/null || true
	# systemd's side of Type=notify: a datagram socket in NOTIFY_SOCKET.
	python3 - "$OMT_TMP/notify.sock" >"$OMT_TMP/notify.log" <<-'PY' &
		import socket, sys
		s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		s.bind(sys.argv[1])
		s.settimeout(60)
		seen = []
		while not any("STOPPING=1" in m for m in seen):
		    seen.append(s.recv(4096).decode())
		    print(seen[-1].replace("\n", " "), flush=True)
	PY
	local listener=$!
	OMT_PIDS+=("$listener")
	omt_wait_for_file "$OMT_TMP/notify.sock"
	NOTIFY_SOCKET=$OMT_TMP/notify.sock omt_daemon_start
	omt_wait_for "$OMT_TMP/notify.log" 'READY=1'
	grep -q 'STATUS=listening on 10.201.1.1:7360' "$OMT_TMP/notify.log" || omt_fail "no STATUS"
	kill -HUP "$OMT_DAEMON_PID"
	omt_wait_for "$OMT_TMP/notify.log" 'RELOADING=1'
	kill -TERM "$OMT_DAEMON_PID"
	omt_wait_for "$OMT_TMP/notify.log" 'STOPPING=1'
	wait "$OMT_DAEMON_PID" || omt_fail "daemon exited $? on SIGTERM"
}

# One request as the consumer (or as OMERTA_HOME=DIR's identity), answered
# within 5 s: "BODY STATUS" ("... 124" when it was not).
api() { # METHOD PATH [DIR]
	local out rc=0
	out=$(timeout 5 nsenter --net=/var/run/netns/"$OMT_NS_C" "$APICLIENT" \
		"${3:-$OMT_TMP/consumer}/identity" "$OMT_API" "$1" "$2" - good) || rc=$?
	[ "$rc" = 0 ] && echo "$out" || echo "$out (not answered within 5 s) $rc"
}

# Polls GET /v1/jobs/JOB until its control is no longer "running", at most
# SECONDS (default 120); prints that control, e.g. {"action":"checkpoint",
# "state":"done","message":"checkpointed to ..."}. What a consumer does.
control_wait() { # JOB [SECONDS]
	local i out
	for i in $(seq $(( ${2:-120} * 5 ))); do
		out=$(api GET "/v1/jobs/$1")
		[[ $out == *" 200" ]] || { echo "status: $out"; return 1; }
		out=${out% 200}
		if jq -e '.control.state != "running"' <<<"$out" >/dev/null; then
			jq -c .control <<<"$out"
			return 0
		fi
		sleep 0.2
	done
	echo "still running after ${2:-120} s: $out"
	return 1
}

# The job's exec (the daemon's only child) stopped: it can't answer its
# control socket until exec_thaw. The test's exit thaws it too (it may be
# gone by then: the trap runs under set -e), or the daemon would wait for
# it forever.
OMT_FROZEN=
exec_freeze() {
	OMT_FROZEN=$(pgrep -P "$OMT_DAEMON_PID")
	[[ $OMT_FROZEN =~ ^[0-9]+$ ]] || omt_fail "not one exec child: '$OMT_FROZEN'"
	trap 'kill -CONT $OMT_FROZEN 2>/dev/null || true; omt_test_teardown' EXIT
	kill -STOP "$OMT_FROZEN"
}
exec_thaw() { kill -CONT "$OMT_FROZEN"; }

# A checkpoint or restore (ACTION) of JOB through the API, its exec frozen
# meanwhile: answered at once (202, its control "running"), and so are the
# other requests, this consumer's and OTHER's (a second consumer's
# OMERTA_HOME), while it is under way; then it ends: its control in
# OMT_CONTROL. (Not in a subshell: exec_freeze sets the test's trap.)
OMT_CONTROL=
control_frozen() { # JOB ACTION OTHER
	local out
	exec_freeze
	out=$(api POST "/v1/jobs/$1/$2")
	[[ $out == *'"state":"running","control":{"action":"'$2'","state":"running"}}'*" 202" ]] ||
		omt_fail "$2: $out"
	out=$(api GET "/v1/jobs/$1")
	[[ $out == *'"control":{"action":"'$2'","state":"running"}}'*" 200" ]] || omt_fail "status during $2: $out"
	out=$(api POST "/v1/jobs/$1/checkpoint")
	[[ $out == *"under way"*" 409" ]] || omt_fail "checkpoint during $2: $out"
	out=$(api POST "/v1/jobs/$1/restore")
	[[ $out == *"under way"*" 409" ]] || omt_fail "restore during $2: $out"
	out=$(api GET "/v1/jobs/$1/restore")
	[[ $out == *" 405" ]] || omt_fail "GET restore during $2: $out"
	out=$(api GET "/v1/jobs/$1" "$3")
	[[ $out == *"no such job"*" 404" ]] || omt_fail "another consumer during $2: $out"
	out=$(api GET "/v1/jobs/$1/output")
	[[ $out == *'"done":false'*" 200" ]] || omt_fail "output during $2: $out"
	# Still under way: exec has not answered.
	sleep 1
	out=$(api GET "/v1/jobs/$1")
	[[ $out == *'"control":{"action":"'$2'","state":"running"}}'*" 200" ]] || omt_fail "status during $2: $out"
	exec_thaw
	OMT_CONTROL=$(control_wait "$1") || omt_fail "$2 never ended: $OMT_CONTROL"
}

# The consumer checkpoints and restores its running job through the API:
# each answered at once (202), done by a thread of the daemon's, its
# progress in GET /v1/jobs/ID's "control"; the API answers everyone
# meanwhile (the job's exec is stopped to hold the checkpoint up). The
# network's owner_priority reaches the job's exec.
test_daemon_checkpoint_restore_api() {
	omt_daemon_up
	# Paused while the owner is active (here: the CPU busy, other work on this
	# machine), on again after 1 s idle: the count gets on either way.
	sed -i 's/^priority = 0$/priority = 0\nowner_priority = pause/; s/^max_vms = .*$/&\nowner_idle_s = 1/' \
		"$OMT_TMP/omerta.ini"
	mkdir "$OMT_TMP/other"
	printf '\n[consumer "%s"]\nallow = yes\nnetwork = default\n' \
		"$(OMERTA_HOME=$OMT_TMP/other "$OMT_ROOT/build/bin/omerta" keygen 2>/dev/null)" >>"$OMT_TMP/omerta.ini"
	kill -HUP "$OMT_DAEMON_PID"
	omt_wait_for "$OMT_TMP/daemon.log" "policy reloaded"
	omt_spawn "$OMT_NS_C" "$OMT_TMP/a.out" "$OMT_TMP/a.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description counter -- sh -c \
		'i=0; while [ $i -lt 30 ]; do echo $i; i=$((i+1)); sleep 0.2; done'
	local submit=$OMT_SPAWNED job out ctl
	omt_wait_for "$OMT_TMP/a.out" '^3$' 90 || omt_fail "never counted: $(cat "$OMT_TMP/a.err")"
	job=$(ls /run/omerta/jobs)
	# The network's owner_priority reached exec (the owner source: auto).
	omt_wait_for "$OMT_TMP/daemon.log" "job $job: owner activity from [a-z]+: pause the VM" ||
		omt_fail "no owner watch: $(cat "$OMT_TMP/daemon.log")"
	out=$(api GET "/v1/jobs/$job")
	[[ $out == "{\"job\":\"$job\",\"state\":\"running\"} 200" ]] || omt_fail "status before: $out"
	control_frozen "$job" checkpoint "$OMT_TMP/other"
	[[ $OMT_CONTROL == '{"action":"checkpoint","state":"done","message":"checkpointed to '$OMT_TMP/state/jobs/$job.checkpoint' ('*' MiB in '*' s)"}' ]] ||
		omt_fail "checkpoint: $OMT_CONTROL"
	# On disk under state_dir (counted in the storage budget), not in /run's tmpfs.
	[ "$(stat -c %a "$OMT_TMP/state/jobs/$job.checkpoint")" = 600 ] || omt_fail "no private checkpoint file"
	[ ! -e "/run/omerta/jobs/$job/checkpoint" ] || omt_fail "a checkpoint in /run"
	# exec's refusal comes the same way; it stays until the next one starts.
	out=$(api POST "/v1/jobs/$job/checkpoint")
	[[ $out == *'"action":"checkpoint","state":"running"'*" 202" ]] || omt_fail "second checkpoint: $out"
	ctl=$(control_wait "$job") || omt_fail "second checkpoint: $ctl"
	[[ $ctl == '{"action":"checkpoint","state":"failed","message":"already checkpointed"}' ]] ||
		omt_fail "second checkpoint: $ctl"
	ctl=$(control_wait "$job") || omt_fail "status: $ctl"
	[[ $ctl == *'"failed","message":"already checkpointed"}' ]] || omt_fail "not kept: $ctl"
	control_frozen "$job" restore "$OMT_TMP/other"
	[[ $OMT_CONTROL == '{"action":"restore","state":"done","message":"restored in '*' s"}' ]] ||
		omt_fail "restore: $OMT_CONTROL"
	[ ! -e "$OMT_TMP/state/jobs/$job.checkpoint" ] || omt_fail "the checkpoint outlived its restore"
	wait "$submit" || omt_fail "the job failed: $(cat "$OMT_TMP/a.err")"
	seq 0 29 | diff - <(grep -E '^[0-9]+$' "$OMT_TMP/a.out") >&2 || omt_fail "the count was not intact"
	grep -q "job $job: checkpoint for its consumer: checkpointed" "$OMT_TMP/daemon.log" || omt_fail "not logged"
	grep -q "job $job: checkpoint for its consumer failed: already checkpointed" "$OMT_TMP/daemon.log" ||
		omt_fail "refusal not logged"
	# A finished job: 409 at once, its last control kept.
	out=$(api POST "/v1/jobs/$job/restore")
	[[ $out == *"not running"*" 409" ]] || omt_fail "restore once done: $out"
	out=$(api GET "/v1/jobs/$job")
	[[ $out == *'"state":"done"'*'"control":{"action":"restore","state":"done"'*" 200" ]] || omt_fail "status once done: $out"
	omt_assert_no_jobs
}

# A job cancelled while its checkpoint is under way: the daemon stays up,
# the checkpoint ends (failed or done, never "running" forever), the job is
# cancelled; and a daemon stopped (SIGTERM) while another job's checkpoint
# is under way waits for it and exits 0, leaving nothing behind.
test_daemon_control_then_cancel() {
	omt_daemon_up
	omt_spawn "$OMT_NS_C" "$OMT_TMP/a.out" "$OMT_TMP/a.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description long -- sh -c \
		'echo up; sleep 600'
	local submit=$OMT_SPAWNED job out ctl
	omt_wait_for "$OMT_TMP/a.out" '^up$' 90 || omt_fail "never started: $(cat "$OMT_TMP/a.err")"
	job=$(ls /run/omerta/jobs)
	exec_freeze
	out=$(api POST "/v1/jobs/$job/checkpoint")
	[[ $out == *'"state":"running"}'*" 202" ]] || omt_fail "checkpoint: $out"
	out=$(api DELETE "/v1/jobs/$job")
	[[ $out == *'"control":{"action":"checkpoint","state":"running"}'*" 200" ]] || omt_fail "cancel: $out"
	exec_thaw
	ctl=$(control_wait "$job") || omt_fail "the checkpoint never ended: $ctl"
	jq -e '.action == "checkpoint" and (.state == "done" or .state == "failed")' <<<"$ctl" >/dev/null ||
		omt_fail "checkpoint: $ctl"
	for _ in $(seq 300); do
		out=$(api GET "/v1/jobs/$job")
		[[ $out == *'"state":"cancelled"'* ]] && break
		sleep 0.2
	done
	[[ $out == *'"state":"cancelled","outcome":"cancelled"'*" 200" ]] || omt_fail "not cancelled: $out"
	wait "$submit" || true
	kill -0 "$OMT_DAEMON_PID" || omt_fail "the daemon died"
	# Another job, checkpoint under way, and the daemon told to stop.
	omt_spawn "$OMT_NS_C" "$OMT_TMP/b.out" "$OMT_TMP/b.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description long -- sh -c \
		'echo up; sleep 600'
	omt_wait_for "$OMT_TMP/b.out" '^up$' 90 || omt_fail "never started: $(cat "$OMT_TMP/b.err")"
	job=$(ls /run/omerta/jobs)
	exec_freeze
	out=$(api POST "/v1/jobs/$job/checkpoint")
	[[ $out == *" 202" ]] || omt_fail "checkpoint: $out"
	kill -TERM "$OMT_DAEMON_PID"
	omt_wait_for "$OMT_TMP/daemon.log" "stopping every job"
	exec_thaw
	local rc=0
	timeout 120 tail --pid="$OMT_DAEMON_PID" -f /dev/null || rc=$?
	[ "$rc" = 0 ] || omt_fail "the daemon did not stop: $(tail -n 5 "$OMT_TMP/daemon.log")"
	wait "$OMT_DAEMON_PID" || omt_fail "the daemon exited $?: $(tail -n 5 "$OMT_TMP/daemon.log")"
	grep -q "job $job: checkpoint for its consumer" "$OMT_TMP/daemon.log" || omt_fail "the checkpoint's end not logged"
	omt_assert_no_jobs
}

# A Python job on the debian image: an input file in, output files back
# under the consumer's --output directory, the workload's exit status
# passed through; the outcome's audit line names the image and its hash.
# Then the same job with a symlink planted in the consumer's directory
# where the job's "sub" goes: refused (exit 246), nothing written through it.
test_daemon_python_input_output() {
	omt_daemon_up
	local rc=0 job body
	mkdir "$OMT_TMP/outdir" "$OMT_TMP/outdir2" "$OMT_TMP/elsewhere"
	printf 'one two three\nfour\n' >"$OMT_TMP/data.txt"
	cat >"$OMT_TMP/job.py" <<-'PY'
		import os, sys
		words = open("/job/input/data.txt").read().split()
		os.makedirs("/job/output/sub")
		with open("/job/output/count.txt", "w") as f:
		    f.write("%d words\n" % len(words))
		with open("/job/output/sub/upper.txt", "w") as f:
		    f.write(" ".join(w.upper() for w in words) + "\n")
		print("counted", len(words))
		sys.exit(7)
	PY
	omt_submit --description "count words" --image debian --language python \
		--script "$OMT_TMP/job.py" --input "$OMT_TMP/data.txt" --output "$OMT_TMP/outdir" \
		>"$OMT_TMP/out" 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 7 ] || { cat "$OMT_TMP/err" "$OMT_TMP/daemon.log" >&2; omt_fail "exit $rc, not the job's 7"; }
	grep -qx "counted 4" "$OMT_TMP/out" || omt_fail "stdout: $(cat "$OMT_TMP/out")"
	[ "$(cat "$OMT_TMP/outdir/count.txt")" = "4 words" ] || omt_fail "count.txt: $(ls -lR "$OMT_TMP/outdir")"
	[ "$(cat "$OMT_TMP/outdir/sub/upper.txt")" = "ONE TWO THREE FOUR" ] || omt_fail "sub/upper.txt"
	[ "$(stat -c %a "$OMT_TMP/outdir/count.txt")" = 644 ] || omt_fail "count.txt not 0644"
	grep -q "2 files (27 bytes) and 1 directories written under" "$OMT_TMP/err" || omt_fail "no summary: $(cat "$OMT_TMP/err")"
	audit_has '.event == "decision" and .decision == "admit" and .description == "count words"'
	audit_has '.event == "outcome" and .outcome == "done" and .exit_status == 7 and .image == "debian" and
		.image_sha256 == "'"$(cut -d' ' -f1 "$OMT_ROOT/build/guest/debian.sqfs.sha256")"'"'
	# The provider's side: the inputs gone with the job, the outputs kept for GET .../files.
	job=$(jq -r 'select(.event == "outcome") | .job' "$OMT_TMP/audit.jsonl")
	[ ! -e "$OMT_TMP/state/jobs/$job.in" ] || omt_fail "inputs left after the job"
	[ "$(stat -c %a "$OMT_TMP/state/jobs/$job.out")" = 700 ] || omt_fail "no private $job.out"
	body=$(omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" GET "/v1/jobs/$job/files" - good)
	[[ $body == *" 200" ]] || omt_fail "files: $body"
	jq -e '.dirs == ["sub"] and ([.files[].path] == ["count.txt", "sub/upper.txt"]) and
		(.files[0].data | @base64d) == "4 words\n" and .files[0].mode == 420 and (has("error") | not)' \
		<<<"${body% 200}" >/dev/null || omt_fail "files answer: $body"

	# The consumer's directory holds a symlink where "sub" goes: not followed.
	ln -s "$OMT_TMP/elsewhere" "$OMT_TMP/outdir2/sub"
	rc=0
	omt_submit --description "count words again" --language python \
		--script "$OMT_TMP/job.py" --input "$OMT_TMP/data.txt" --output "$OMT_TMP/outdir2" \
		>"$OMT_TMP/out" 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 246 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc, not 246, with a symlink in the way"; }
	grep -q "directory 'sub': exists and is not a directory (a symlink?)" "$OMT_TMP/err" || omt_fail "$(cat "$OMT_TMP/err")"
	[ -z "$(ls -A "$OMT_TMP/elsewhere")" ] || omt_fail "written through the symlink"

	# Nothing of the jobs is left once the daemon stops.
	kill -TERM "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" || omt_fail "daemon exited $? on SIGTERM"
	[ -z "$(ls /run/omerta/daemon/ | grep -v '^lock$')" ] || omt_fail "left behind: $(ls /run/omerta/daemon)"
	[ -z "$(ls -A "$OMT_TMP/state/jobs")" ] || omt_fail "left behind: $(ls "$OMT_TMP/state/jobs")"
	consumer_clean
	omt_assert_no_jobs
}

# The workload options refused: by omerta itself (exit 2) before anything is
# sent, and by the daemon (400, audited) when a request says it anyway.
test_daemon_workload_refusals() {
	omt_daemon_up
	local rc out
	echo 'print(1)' >"$OMT_TMP/job.py"
	rc=0
	omt_submit --description x --image minimal --language python --script "$OMT_TMP/job.py" \
		2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 2 ] && grep -q "needs --image debian" "$OMT_TMP/err" || omt_fail "local: $rc $(cat "$OMT_TMP/err")"
	rc=0
	omt_submit --description x --language python -- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 2 ] && grep -q "is for --script" "$OMT_TMP/err" || omt_fail "language with a command: $rc"
	rc=0
	omt_submit --description x --input "$OMT_TMP/job.py" --input "$OMT_TMP/job.py" -- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 2 ] && grep -q "another input is named 'job.py'" "$OMT_TMP/err" || omt_fail "same input twice: $rc"
	rc=0
	omt_submit --description x --output "$OMT_TMP/nowhere" -- true 2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 2 ] && grep -q "must be an existing directory" "$OMT_TMP/err" || omt_fail "no output dir: $rc"
	! grep -q '"decision"' "$OMT_TMP/audit.jsonl" 2>/dev/null || omt_fail "sent anyway"
	# Sent raw: the daemon says which value is wrong.
	printf '{"description":"x","script":"print(1)","language":"python","image":"minimal","vpn":{"endpoint":"10.201.1.2:51820","public_key":"%s","vm_address":"10.77.9.2/24","allowed_ips":["10.77.9.0/24"],"consumer_address":"10.77.9.1"}}' \
		"$OMT_CONSUMER_KEY" >"$OMT_TMP/req.json"
	out=$(omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" POST /v1/jobs "$OMT_TMP/req.json" good)
	[[ $out == *"language 'python' needs image 'debian' (minimal has only sh)"*" 400" ]] || omt_fail "python on minimal: $out"
	audit_has '.decision == "refuse" and (.reason | test("needs image"))'
	sed -i 's|"language":"python","image":"minimal"|"inputs":[{"name":"../etc/passwd","data":""}]|' "$OMT_TMP/req.json"
	out=$(omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" POST /v1/jobs "$OMT_TMP/req.json" good)
	[[ $out == *"inputs[0].name must be a file name"*"'../etc/passwd'"*" 400" ]] || omt_fail "input name: $out"
	out=$(omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" GET /v1/jobs/00000000/files - good)
	[[ $out == *"no such job"*" 404" ]] || omt_fail "files of no job: $out"
	consumer_clean
	omt_assert_no_jobs
}

# Eight submits at once from two consumers (each with its own wireguard-go
# starting alongside the others'), twice: every job is admitted with its
# tunnel's real port and runs. A port read before wireguard-go had bound
# its socket went out as 0, and the provider refused the job.
test_daemon_concurrent_submits() {
	omt_daemon_up 2
	local second round i pids=() rc
	mkdir "$OMT_TMP/second"
	second=$(OMERTA_HOME=$OMT_TMP/second "$OMT_ROOT/build/bin/omerta" keygen 2>/dev/null)
	printf '\n[consumer "%s"]\nallow = yes\nnetwork = default\nmax_jobs = 4\n' "$second" >>"$OMT_TMP/omerta.ini"
	kill -HUP "$OMT_DAEMON_PID"
	omt_wait_for "$OMT_TMP/daemon.log" "policy reloaded"
	cp "$OMT_TMP/consumer/known_providers" "$OMT_TMP/second/" 2>/dev/null || true
	for round in 1 2; do
		pids=()
		for i in 1 2 3 4; do
			for who in consumer second; do
				omt_spawn "$OMT_NS_C" "$OMT_TMP/$who.$round.$i.out" "$OMT_TMP/$who.$round.$i.err" \
					env OMERTA_HOME="$OMT_TMP/$who" "$OMT_ROOT/build/bin/omerta" submit \
					--provider "$OMT_API" --image minimal --description "load $round.$i" \
					-- echo "done $who $round $i"
				pids+=("$OMT_SPAWNED")
			done
		done
		for i in "${pids[@]}"; do
			rc=0
			wait "$i" || rc=$?
			[ "$rc" = 0 ] || omt_fail "a submit of round $round exited $rc: $(cat "$OMT_TMP"/*."$round".*.err | grep -v '^omerta: job')"
		done
		for i in 1 2 3 4; do
			for who in consumer second; do
				grep -qx "done $who $round $i" "$OMT_TMP/$who.$round.$i.out" ||
					omt_fail "$who's job $round.$i: $(cat "$OMT_TMP/$who.$round.$i.err")"
			done
		done
	done
	! grep -h 'accepted; tunnel .*:0$' "$OMT_TMP"/*.err || omt_fail "a tunnel went out with port 0"
	consumer_clean
	omt_assert_no_jobs
}

# A consumer whose storage share can't hold one job's output (64 MiB, what
# GET .../files serves) and checkpoint is refused at once, told the numbers;
# nothing runs, nothing is written.
test_daemon_storage_budget() {
	omt_daemon_up
	local rc=0
	# The consumer's section is the file's last.
	echo "storage_budget_mib = 32" >>"$OMT_TMP/omerta.ini"
	kill -HUP "$OMT_DAEMON_PID"
	omt_wait_for "$OMT_TMP/daemon.log" "policy reloaded"
	mkdir "$OMT_TMP/outdir"
	omt_submit --description "a /run-sized output" --memory 128 --output "$OMT_TMP/outdir" -- true \
		2>"$OMT_TMP/err" || rc=$?
	[ "$rc" = 1 ] || omt_fail "exit $rc, not refused: $(cat "$OMT_TMP/err")"
	grep -qF "the job needs 192 MiB of storage (inputs 0 MiB, output 64 MiB, checkpoint 128 MiB), more than the whole 32 MiB budget of consumer '$OMT_CONSUMER_KEY'" "$OMT_TMP/err" ||
		omt_fail "reason: $(cat "$OMT_TMP/err")"
	audit_has '.decision == "refuse" and (.reason | test("needs 192 MiB of storage"))'
	! jq -s -e 'any(.[]; .decision == "admit")' "$OMT_TMP/audit.jsonl" >/dev/null || omt_fail "admitted"
	! grep -q "started" "$OMT_TMP/daemon.log" || omt_fail "a job started"
	[ -z "$(ls -A "$OMT_TMP/state/jobs")" ] || omt_fail "files written: $(ls "$OMT_TMP/state/jobs")"
	consumer_clean
	omt_assert_no_jobs
}

# Finished jobs' output files make room for a new job, the oldest first: a
# share of 206 MiB holds one job's needs (192) and one finished job's
# files (8 MiB and a directory), not two.
test_daemon_storage_drops_oldest() {
	omt_daemon_up
	local n job body
	echo "storage_budget_mib = 206" >>"$OMT_TMP/omerta.ini"
	kill -HUP "$OMT_DAEMON_PID"
	omt_wait_for "$OMT_TMP/daemon.log" "policy reloaded"
	for n in first second third; do
		mkdir "$OMT_TMP/$n"
		omt_submit --description "$n" --image minimal --memory 128 --output "$OMT_TMP/$n" \
			-- sh -c 'dd if=/dev/zero of=/job/output/blob bs=1M count=8 2>/dev/null' \
			>/dev/null 2>"$OMT_TMP/$n.err" || omt_fail "$n refused or failed: $(cat "$OMT_TMP/$n.err")"
		[ "$(stat -c %s "$OMT_TMP/$n/blob")" = 8388608 ] || omt_fail "$n's output: $(ls -l "$OMT_TMP/$n")"
	done
	for n in first second third; do
		job=$(jq -r "select(.event == \"decision\" and .description == \"$n\") | .job" "$OMT_TMP/audit.jsonl")
		body=$(omt_net "$OMT_NS_C" "$APICLIENT" "$OMT_TMP/consumer/identity" "$OMT_API" GET "/v1/jobs/$job/files" - good)
		case $n in
		first) [[ $body == *"dropped to make room"*" 410" ]] || omt_fail "the oldest's files kept: $body" ;;
		*) [[ $body == *" 200" ]] || omt_fail "$n's files dropped: ${body: -200}" ;;
		esac
	done
	[ ! -e "$OMT_TMP/state/jobs/$(jq -r 'select(.event == "decision" and .description == "first") | .job' "$OMT_TMP/audit.jsonl").out" ] ||
		omt_fail "the oldest's files still on disk"
	grep -q "dropped to make room" "$OMT_TMP/daemon.log" || omt_fail "no log of the drop"
	consumer_clean
	omt_assert_no_jobs
}
