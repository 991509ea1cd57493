#!/usr/bin/env bash
# Runs every test: the checks of scripts/check-*.sh, the cmocka binaries, the
# fuzz targets, then each integration test function
# (tests/integration/test-*.sh), each in its own namespaces, cleaned up
# whether it passes or fails. Prints PASS/FAIL/SKIP per test and a closing
# "N passed, N failed" line; exits non-zero when anything failed.
#   tests/run.sh [FILTER]   only tests whose name contains FILTER
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
FILTER=${1:-}
passed=0 failed=0 skipped=0
failures=()

report() { # NAME RC LOG
	case $2 in
	0) passed=$((passed + 1)); echo "PASS  $1" ;;
	77) skipped=$((skipped + 1)); echo "SKIP  $1: $(tail -n 1 "$3")" ;;
	*) failed=$((failed + 1)); failures+=("$1"); echo "FAIL  $1"; sed 's/^/      /' "$3" | tail -n 400 ;;
	esac
}

logdir=$(mktemp -d /tmp/omt-tests.XXXXXX)
trap 'rm -rf "$logdir"' EXIT

# The include directions of docs/architecture.md; the exit codes of
# proto/exit.h against the docs.
for check in layers exit-codes; do
	name=check/$check
	[[ -n $FILTER && $name != *"$FILTER"* ]] && continue
	scripts/check-$check.sh >"$logdir/log" 2>&1
	report "$name" $? "$logdir/log"
done

for t in build/tests/*_test; do
	name=unit/$(basename "$t")
	[[ -n $FILTER && $name != *"$FILTER"* ]] && continue
	"$t" >"$logdir/log" 2>&1
	report "$name" $? "$logdir/log"
done

# Each fuzz target, briefly and reproducibly (fixed seed and run count) from
# its seed corpus: a parser that crashes on what a minute of fuzzing finds
# fails here. Longer runs: build/fuzz/NAME_fuzz tests/fuzz/corpus/NAME.
for t in build/fuzz/*_fuzz; do
	[ -x "$t" ] || continue
	base=$(basename "$t" _fuzz)
	name=fuzz/$base
	[[ -n $FILTER && $name != *"$FILTER"* ]] && continue
	rm -rf "$logdir/corpus" && mkdir "$logdir/corpus"
	cp tests/fuzz/corpus/"$base"/* "$logdir/corpus/" 2>/dev/null
	dict=tests/fuzz/${base}_fuzz.dict
	"$t" -seed=1 -runs=1000000 ${dict:+$( [ -f "$dict" ] && echo "-dict=$dict")} \
		"$logdir/corpus" >"$logdir/log" 2>&1
	report "$name" $? "$logdir/log"
done

for f in tests/integration/test-*.sh; do
	for fn in $(grep -oE '^test_[a-z0-9_]+' "$f"); do
		name=$(basename "$f" .sh)/$fn
		[[ -n $FILTER && $name != *"$FILTER"* ]] && continue
		# A subshell per test: its own topology, its own trap.
		( OMT_ROOT=$ROOT; source scripts/lib.sh; source "$f"
		  trap omt_test_teardown EXIT
		  set -e
		  "$fn" ) >"$logdir/log" 2>&1
		report "$name" $? "$logdir/log"
	done
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
