#!/bin/sh
# Host set-up that packages don't do: the unprivileged system user QEMU runs
# as (omerta-loader never runs QEMU as root). Idempotent.
set -eu
if ! getent passwd omerta >/dev/null; then
	echo "  USER     omerta (system user for QEMU)"
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin omerta
fi
