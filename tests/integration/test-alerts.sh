# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The Prometheus alert rules of dist/omerta-alerts.yml: valid for promtool,
# and each alert fires on the series fixtures of omerta-alerts.test.yml where
# it must, with its labels and its text as written, and not where it must
# not. No VM, no daemon: that the rules ask only for exported metrics is
# test-metrics.sh's test_metrics_alerts_match.

ALERT_RULES=$OMT_ROOT/dist/omerta-alerts.yml
ALERT_TESTS=$OMT_ROOT/tests/integration/omerta-alerts.test.yml

test_alerts_promtool() {
	promtool check rules "$ALERT_RULES" || omt_fail "promtool check rules $ALERT_RULES"
	promtool test rules "$ALERT_TESTS" || omt_fail "promtool test rules $ALERT_TESTS"
}

# Every alert of the rules has a fixture where it fires and one where it does not.
test_alerts_each_tested_both_ways() {
	local alerts seen a
	alerts=$(sed -nE 's/^ *- alert: *([A-Za-z0-9_]+) *$/\1/p' "$ALERT_RULES")
	[ -n "$alerts" ] || omt_fail "no alerts in $ALERT_RULES"
	# "NAME fires" and "NAME quiet" for each eval of the fixtures.
	seen=$(awk '/^ *alertname:/ { name = $2 }
		/^ *exp_alerts: *\[\] *$/ { print name, "quiet" }
		/^ *- exp_labels:/ { print name, "fires" }' "$ALERT_TESTS")
	for a in $alerts; do
		grep -qx "$a fires" <<<"$seen" || omt_fail "$a: no fixture where it fires"
		grep -qx "$a quiet" <<<"$seen" || omt_fail "$a: no fixture where it does not fire"
	done
}
