#!/bin/sh
# Host set-up that packages don't do, for 'make install' and the tests.
# Idempotent.
#   scripts/setup-host.sh [CONFIG]
# Each VM's QEMU runs as a uid (and gid) of its own from the policy's
# vm_uids range (CONFIG, default /etc/omerta/omerta.ini; without the key or
# the file, the default range). Nothing is created for it: the range must
# own nothing on the host, which is checked here, and its allocation lock
# lives in /var/lib/omerta, made here.
set -eu
config=${1:-/etc/omerta/omerta.ini}
range=2000000000-2000000999
if [ -r "$config" ]; then
	set_range=$(sed -n 's/^[[:space:]]*vm_uids[[:space:]]*[=:][[:space:]]*\([0-9]*-[0-9]*\).*/\1/p' "$config" | tail -n 1)
	[ -z "$set_range" ] || range=$set_range
fi
first=${range%-*} last=${range#*-}
owners=$( { getent passwd | awk -F: -v a="$first" -v b="$last" '$3 >= a && $3 <= b { print "uid " $3 " is user \047" $1 "\047" }'
	    getent group | awk -F: -v a="$first" -v b="$last" '$3 >= a && $3 <= b { print "gid " $3 " is group \047" $1 "\047" }'; } | head -n 3)
if [ -n "$owners" ]; then
	echo "setup-host: vm_uids $range must own nothing on this host, but:" >&2
	echo "$owners" | sed 's/^/  /' >&2
	exit 1
fi
# omerta-vm (the omerta-loader package's) holds the range itself, so that
# nobody else is given it.
for f in /etc/subuid /etc/subgid; do
	[ -r "$f" ] || continue
	awk -F: -v a="$first" -v b="$last" -v f="$f" \
		'$1 != "omerta-vm" && $2 <= b && $2 + $3 - 1 >= a { print "setup-host: warning: " f " gives " $1 " ids " $2 "-" $2 + $3 - 1 ", which meet vm_uids" }' "$f" >&2
done
if [ ! -d /var/lib/omerta ]; then
	echo "  DIR      /var/lib/omerta (the VM uids' lock)"
	install -d -m 0755 /var/lib/omerta
fi
