#!/usr/bin/env bash
# Checks that every '#include "..."' of the product's C sources points the
# way docs/architecture.md allows: it reads the table between the lines
# "<!-- layers -->" and "<!-- /layers -->" there (folder | may include),
# and fails naming each include that breaks it. Generated headers
# (*.skel.h, vmlinux.h) belong to bpf/. tests/ and bench/ may include
# anything.
#   scripts/check-layers.sh [DOC]
set -u
cd "$(dirname "$0")/.."
doc=${1:-docs/architecture.md}

declare -A allowed=()
in_table=0
while IFS= read -r line; do
	case $line in
	'<!-- layers -->') in_table=1; continue ;;
	'<!-- /layers -->') in_table=0; continue ;;
	esac
	[ "$in_table" = 1 ] || continue
	# | `folder/` | `a/`, `b/` | what it owns |
	[[ $line =~ ^\|\ \`([a-z]+)/\`\ \|([^|]*)\| ]] || continue
	folder=${BASH_REMATCH[1]}
	deps=$(grep -oE '`[a-z]+/`' <<<"${BASH_REMATCH[2]}" | tr -d '`/' | tr '\n' ' ')
	allowed[$folder]=" $deps "
done <"$doc"
if [ ${#allowed[@]} -eq 0 ]; then
	echo "check-layers: no layer table in $doc" >&2
	exit 1
fi

bad=0
while IFS= read -r file; do
	folder=${file%%/*}
	if [ -z "${allowed[$folder]+x}" ]; then
		echo "check-layers: $file: folder '$folder/' is not in $doc's layer table" >&2
		bad=1
		continue
	fi
	while IFS=: read -r lineno inc; do
		case $inc in
		*.skel.h | vmlinux.h) to=bpf ;;
		../*/*) to=${inc#../}; to=${to%%/*} ;;
		*/*) to=$folder/${inc%%/*}; echo "check-layers: $file:$lineno: '$inc' reaches into a subfolder" >&2; bad=1; continue ;;
		*) to=$folder ;;
		esac
		[ "$to" = "$folder" ] && continue
		if [[ ${allowed[$folder]} != *" $to "* ]]; then
			echo "check-layers: $file:$lineno: $folder/ may not include $to/ ('$inc'; see $doc)" >&2
			bad=1
		fi
	done < <(grep -noE '^#include "[^"]+"' "$file" | sed -E 's/^([0-9]+):#include "(.*)"$/\1:\2/')
done < <(git ls-files '*.c' '*.h' | grep -vE '^(tests|bench)/')

[ "$bad" = 0 ] && echo "check-layers: every include follows $doc"
exit "$bad"
