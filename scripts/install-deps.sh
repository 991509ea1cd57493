#!/bin/sh
# Installs every build, test and demo dependency from Debian packages.
# Idempotent: packages already present are not fetched again.
set -eu

# Why each package is here: docs/dependencies.md.
PKGS="
make gcc clang llvm pkg-config
libbpf-dev bpftool libelf-dev zlib1g-dev
libjson-c-dev libcmocka-dev libmnl-dev libnftnl-dev libsodium-dev libinih-dev libmicrohttpd-dev libcurl4-openssl-dev libssl-dev libgnutls28-dev libsystemd-dev go-md2man
libclang-rt-14-dev libfuzzer-14-dev
qemu-system-x86 busybox-static cpio kmod mmdebstrap squashfs-tools dbus-daemon
iproute2 iputils-ping util-linux nftables wireguard-go wireguard-tools iperf3 python3 jq
prometheus curl man-db
dpkg-dev debhelper lintian systemd logrotate
coop-computing-tools python3-workqueue openmpi-bin
"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done

if [ -n "$missing" ]; then
	echo "  DEPS $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
