# The daemon's Prometheus endpoint, checked by promtool and scraped by a
# real Prometheus server (Debian's) on the provider namespace's loopback.

METRICS=127.0.0.1:9369

metrics_daemon_up() {
	omt_daemon_up
	kill "$OMT_DAEMON_PID"
	wait "$OMT_DAEMON_PID" 2>/dev/null || true
	sed -i "s/^audit_log = .*/&\nmetrics_listen = $METRICS/" "$OMT_TMP/omerta.ini"
	omt_daemon_start
	grep -q "metrics on http://$METRICS/metrics" "$OMT_TMP/daemon.log" || omt_fail "no metrics line"
}

scrape() { omt_in "$OMT_NS_R" curl -sf "http://$METRICS/metrics"; }

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
	# The VM's labels went with it.
	! scrape | grep -q 'vm="' || omt_fail "per-VM series outlived the VM"
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
