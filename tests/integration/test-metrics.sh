# The daemon's Prometheus endpoint, checked by promtool and scraped by a
# real Prometheus server (Debian's) on the provider namespace's loopback.

METRICS=127.0.0.1:9369

metrics_daemon_up() {
	omt_daemon_up
	metrics_daemon_restart "metrics_listen = $METRICS"
}

# The daemon again, with these lines added to [provider].
metrics_daemon_restart() { # LINE...
	local line
	kill "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" 2>/dev/null || true
	for line; do
		sed -i "s/^audit_log = .*/&\n$line/" "$OMT_TMP/omerta.ini"
	done
	omt_daemon_start
	grep -q "metrics on http://$METRICS/metrics" "$OMT_TMP/daemon.log" || omt_fail "no metrics line"
}

scrape() { omt_in "$OMT_NS_R" curl -sf "http://$METRICS/metrics"; }

# Waits until /metrics has LINE (whole), at most TRIES times 0.2 s (default 150).
wait_scrape() { # LINE [TRIES]
	local i
	for i in $(seq "${2:-150}"); do
		scrape | grep -qxF "$1" && return 0
		sleep 0.2
	done
	omt_fail "/metrics never had '$1': $(scrape | grep -v '^#')"
}

# Prometheus's answer to an instant query: the first sample's value, or "".
promql() {
	omt_in "$OMT_NS_R" curl -sfG "http://127.0.0.1:9090/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // ""'
}

wait_promql() { # QUERY EXPECTED-JQ-TEST
	local i v
	for i in $(seq 150); do
		v=$(promql "$1")
		[ -n "$v" ] && jq -en "$v $2" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	omt_fail "Prometheus: $1 = '$v', wanted $2"
}

test_metrics_promtool_and_prometheus() {
	metrics_daemon_up
	scrape >"$OMT_TMP/m0.txt" || omt_fail "no /metrics"
	promtool check metrics <"$OMT_TMP/m0.txt" || omt_fail "promtool: $(cat "$OMT_TMP/m0.txt")"
	grep -qx "omerta_vms_running 0" "$OMT_TMP/m0.txt" || omt_fail "vms_running not 0"
	# Every outcome is a series from the start (an alert's increase() sees the first one).
	local o
	for o in done rogue vpn_setup_failed vpn_lost timeout boot_failed interrupted setup_failed \
		owner cancelled; do
		grep -qx "omerta_jobs_total{outcome=\"$o\"} 0" "$OMT_TMP/m0.txt" ||
			omt_fail "no omerta_jobs_total of outcome $o at 0: $(cat "$OMT_TMP/m0.txt")"
	done
	# The default storage budget, 4096 MiB, nothing held; no power caps.
	grep -qx "omerta_storage_budget_bytes 4294967296" "$OMT_TMP/m0.txt" || omt_fail "storage budget"
	grep -qx "omerta_storage_reserved_bytes 0" "$OMT_TMP/m0.txt" || omt_fail "storage reserved"
	grep -qx "omerta_storage_kept_bytes 0" "$OMT_TMP/m0.txt" || omt_fail "storage kept"
	grep -qx "omerta_vms_power_capped 0" "$OMT_TMP/m0.txt" || omt_fail "power capped"
	# The default vm_uids, 1000 uids; how many are taken (the count is vmuid_test's).
	grep -qx "omerta_vm_uids 1000" "$OMT_TMP/m0.txt" || omt_fail "vm_uids"
	grep -qE "^omerta_vm_uids_taken [0-9]+$" "$OMT_TMP/m0.txt" || omt_fail "vm_uids taken"

	mkdir "$OMT_TMP/prom"
	cat >"$OMT_TMP/prom.yml" <<-EOC
		global:
		  scrape_interval: 1s
		scrape_configs:
		  - job_name: omerta
		    static_configs:
		      - targets: ['$METRICS']
	EOC
	omt_spawn "$OMT_NS_R" /dev/null "$OMT_TMP/prom.log" prometheus --config.file="$OMT_TMP/prom.yml" \
		--storage.tsdb.path="$OMT_TMP/prom" --web.listen-address=127.0.0.1:9090
	wait_promql 'up{job="omerta"}' '== 1'
	wait_promql 'omerta_vms_running' '== 0'

	# A job that keeps its tunnel busy until told to stop.
	omt_spawn "$OMT_NS_C" "$OMT_TMP/a.out" "$OMT_TMP/a.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description "busy" -- sh -c \
		'echo up; until wget -q -O /dev/null http://$OMERTA_CONSUMER_IP:8000/go; do sleep 0.3; done'
	local submit=$OMT_SPAWNED
	omt_wait_for "$OMT_TMP/a.out" '^up$'
	wait_promql 'omerta_vms_running' '== 1'
	local before
	before=$(promql 'sum(omerta_guard_packets_total{direction="from_guest",verdict="pass"})')
	[ -n "$before" ] || omt_fail "no guard counters in Prometheus"
	wait_promql 'sum(omerta_guard_packets_total{direction="from_guest",verdict="pass"})' "> $before"
	scrape | promtool check metrics || omt_fail "promtool with a VM running"
	# The running job holds its declared needs: its memory (256 MiB) for a checkpoint.
	scrape | grep -qx "omerta_storage_reserved_bytes 268435456" ||
		omt_fail "the running job's storage: $(scrape | grep storage)"
	scrape | grep -qE "^omerta_vm_uids_taken [1-9][0-9]*$" ||
		omt_fail "the VM's uid: $(scrape | grep vm_uids)"
	# Energy per VM: a series for the running VM; no RAPL here, so 0, said once.
	scrape | grep -qE '^omerta_vm_energy_joules_total\{vm="[0-9a-f]{8}"\} ' ||
		omt_fail "no energy series for the VM"
	if [ -z "$(ls /sys/class/powercap 2>/dev/null | grep intel-rapl)" ]; then
		[ "$(grep -c "energy: no RAPL counters" "$OMT_TMP/daemon.log")" = 1 ] ||
			omt_fail "no (or more than one) 'no RAPL' line: $(cat "$OMT_TMP/daemon.log")"
	fi
	# omerta-loader status: the same job, its consumer and its counters.
	"$OMT_LOADER" status --json >"$OMT_TMP/status.json" || omt_fail "status failed"
	jq -e --arg k "$OMT_CONSUMER_KEY" '.[] | select(.state == "running" and .consumer == $k and
		.description == "busy" and .tunnel_packets > 0 and .rogue_frames == 0)' \
		"$OMT_TMP/status.json" >/dev/null || omt_fail "status --json: $(cat "$OMT_TMP/status.json")"
	"$OMT_LOADER" status | grep -E '^[0-9a-f]{8} .* running .* busy' >/dev/null ||
		omt_fail "status table: $("$OMT_LOADER" status)"
	touch "$OMT_TMP/www/go"
	wait "$submit" || omt_fail "job failed: $(cat "$OMT_TMP/a.err")"
	wait_promql 'omerta_vms_running' '== 0'
	wait_promql 'omerta_jobs_total{outcome="done"}' '== 1'
	wait_promql 'omerta_vm_boot_seconds_count' '== 1'
	# The VM's labels went with it, and its storage (it left no files).
	! scrape | grep -q 'vm="' || omt_fail "per-VM series outlived the VM"
	scrape | grep -qx "omerta_storage_reserved_bytes 0" || omt_fail "storage held after the job"
	"$OMT_LOADER" status --json | jq -e '.[] | select(.outcome == "done")' >/dev/null ||
		omt_fail "status after the job: $("$OMT_LOADER" status --json)"
	omt_assert_no_jobs
}

# The Grafana dashboard asks only for metrics the daemon exports.
test_metrics_dashboard_matches() {
	metrics_daemon_up
	local names m
	names=$(scrape | awk '/^# TYPE/ {print $3}')
	jq -r '.panels[].targets[].expr' "$OMT_ROOT/dist/grafana-omerta.json" |
		grep -oE 'omerta_[a-z_]+' | sed -E 's/_(bucket|sum|count)$//' | sort -u >"$OMT_TMP/wanted"
	[ -s "$OMT_TMP/wanted" ] || omt_fail "no metrics in the dashboard"
	while read -r m; do
		grep -qx "$m" <<<"$names" || omt_fail "the dashboard asks for $m, which is not exported"
	done <"$OMT_TMP/wanted"
}

# The alert rules ask only for metrics the daemon exports.
test_metrics_alerts_match() {
	metrics_daemon_up
	local names m
	names=$(scrape | awk '/^# TYPE/ {print $3}')
	grep -oE 'omerta_[a-z_]+' "$OMT_ROOT/dist/omerta-alerts.yml" |
		sed -E 's/_(bucket|sum|count)$//' | sort -u >"$OMT_TMP/wanted"
	[ -s "$OMT_TMP/wanted" ] || omt_fail "no metrics in the alert rules"
	while read -r m; do
		grep -qx "$m" <<<"$names" || omt_fail "the alert rules ask for $m, which is not exported"
	done <"$OMT_TMP/wanted"
}

# A RAPL package zone under DIR, its counter at 0: a host drawing nothing.
rapl_package() { # DIR
	local z=$1/intel-rapl:0
	mkdir -p "$z"
	echo package-0 >"$z/name"
	echo 262143328850 >"$z/max_energy_range_uj"
	echo 0 >"$z/energy_uj"
}

# DIR's counter climbs 500 J every 0.5 s (a host drawing 1000 W) until
# the process OMT_RAPL_PID is killed.
rapl_draw() { # DIR
	local z=$1/intel-rapl:0
	( uj=0
	  while :; do
		uj=$((uj + 500000000))
		echo "$uj" >"$z/energy_uj.new" && mv -f "$z/energy_uj.new" "$z/energy_uj"
		sleep 0.5
	  done ) &
	OMT_RAPL_PID=$!
	OMT_PIDS+=("$OMT_RAPL_PID")
}

# power_cap_vm_w = 1 W and RAPL counters of the test's own. The VM boots
# on a host drawing nothing: its quota is its own cpus, not held back. Then
# the host draws 1000 W: the VM's CPU quota is cut, omerta_vms_power_capped
# says 1. The cap taken out (a reload): its quota is its own again, at once,
# while it runs. (A VM cut to 1% of a CPU under TCG may not live through
# the minutes its quota takes to grow back by itself.)
test_metrics_power_capped() {
	metrics_daemon_up
	rapl_package "$OMT_TMP/powercap"
	export OMERTA_POWERCAP_DIR=$OMT_TMP/powercap
	metrics_daemon_restart "power_cap_vm_w = 1"
	! grep -q "energy: no RAPL" "$OMT_TMP/daemon.log" || omt_fail "the test's RAPL counters unread"
	omt_spawn "$OMT_NS_C" "$OMT_TMP/a.out" "$OMT_TMP/a.err" env OMERTA_HOME="$OMT_TMP/consumer" \
		"$OMT_ROOT/build/bin/omerta" submit --provider "$OMT_API" --description "capped" -- sh -c \
		'echo up; until wget -q -O /dev/null http://$OMERTA_CONSUMER_IP:8000/go; do sleep 0.3; done'
	local submit=$OMT_SPAWNED rc=0
	omt_wait_for "$OMT_TMP/a.out" '^up$' 90 || omt_fail "no job: $(cat "$OMT_TMP/a.err")"
	sleep 4	# two power ticks: the quota set to the job's own
	scrape | grep -qx "omerta_vms_power_capped 0" || omt_fail "held back while the host drew nothing"
	rapl_draw "$OMT_TMP/powercap"
	wait_scrape "omerta_vms_power_capped 1"
	scrape | promtool check metrics || omt_fail "promtool with a VM held back"
	scrape | grep -qx "omerta_vms_running 1" || omt_fail "the VM is gone: $(cat "$OMT_TMP/daemon.log")"
	sed -i "s/^power_cap_vm_w = .*/power_cap_vm_w = 0/" "$OMT_TMP/omerta.ini"
	kill -HUP "$OMT_DAEMON_PID"
	wait_scrape "omerta_vms_power_capped 0"
	scrape | grep -qx "omerta_vms_running 1" || omt_fail "the VM is gone: $(cat "$OMT_TMP/daemon.log")"
	kill -TERM "$submit"
	wait "$submit" || rc=$?
	[ "$rc" = 143 ] || omt_fail "submit exited $rc, not 143: $(cat "$OMT_TMP/a.err")"
	wait_scrape 'omerta_jobs_total{outcome="cancelled"} 1'
	wait_scrape "omerta_vms_running 0"
	scrape | grep -qx "omerta_vms_power_capped 0" || omt_fail "a VM gone still held back"
	omt_assert_no_jobs
}
