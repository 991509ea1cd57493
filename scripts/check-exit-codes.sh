#!/usr/bin/env bash
# Checks that the exit codes of proto/exit.h (the one definition exec, the
# daemon and the consumer share) are the ones the docs give: every code of
# exec's table in docs/omerta-loader.md is defined there, and the consumer's
# list in docs/omerta.md names each of exec's codes 240 and up.
set -u
cd "$(dirname "$0")/.."
header=proto/exit.h
bad=0
mapfile -t codes < <(sed -nE 's/^#define OMT_EXIT_[A-Z_]+ ([0-9]+).*/\1/p' "$header")
[ ${#codes[@]} -gt 0 ] || { echo "check-exit-codes: no codes in $header" >&2; exit 1; }
has() { local c; for c in "${codes[@]}"; do [ "$c" = "$1" ] && return 0; done; return 1; }
# exec's table: "| 240 | ..." rows (and "| 130, 143 |": 128 + signal).
table=$(sed -n '/^### Exit status of exec/,/^A workload can/p' docs/omerta-loader.md)
[ -n "$table" ] || { echo "check-exit-codes: no exec table in docs/omerta-loader.md" >&2; exit 1; }
for c in $(grep -oE '^\| [0-9]+ \|' <<<"$table" | tr -dc '0-9\n'); do
	has "$c" || { echo "check-exit-codes: docs/omerta-loader.md gives exit $c, $header has no such code" >&2; bad=1; }
done
for c in "${codes[@]}"; do
	[ "$c" -ge 240 ] || continue
	grep -qE "^\| $c \|" <<<"$table" ||
		{ echo "check-exit-codes: $header's $c is not in docs/omerta-loader.md's exec table" >&2; bad=1; }
	grep -qw "$c" docs/omerta.md ||
		{ echo "check-exit-codes: $header's $c is not in docs/omerta.md" >&2; bad=1; }
done
[ "$bad" = 0 ] && echo "check-exit-codes: $header and the docs agree"
exit "$bad"
