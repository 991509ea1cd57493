# make install / make uninstall into a DESTDIR: every file where the docs say.

test_make_install_destdir() {
	OMT_TMP=$(mktemp -d /tmp/omt-test.XXXXXX)
	local d=$OMT_TMP/root f
	make -s -C "$OMT_ROOT" install DESTDIR="$d" >/dev/null || omt_fail "make install failed"
	for f in usr/local/bin/omerta-loader usr/local/bin/omerta usr/local/lib/omerta/vmlinuz \
		usr/local/lib/omerta/base.cpio.gz usr/local/lib/omerta/debian.sqfs \
		usr/local/lib/omerta/omerta-loader-exec \
		usr/local/share/man/man8/omerta-loader.8 \
		usr/local/share/man/man1/omerta.1 etc/systemd/system/omerta-loader.service \
		usr/local/share/omerta/grafana-omerta.json \
		usr/local/share/omerta/prometheus/omerta-alerts.yml \
		etc/omerta/omerta.ini.example etc/logrotate.d/omerta-loader; do
		[ -s "$d/$f" ] || omt_fail "not installed: /$f"
	done
	man -l "$d/usr/local/share/man/man8/omerta-loader.8" 2>/dev/null | grep -q "Exit status" ||
		omt_fail "the man page does not render"
	grep -q '^Type=notify' "$d/etc/systemd/system/omerta-loader.service" || omt_fail "unit type"
	"$d/usr/local/bin/omerta-loader" --help | grep -q status || omt_fail "installed binary"
	# exec runs as the lean binary, which maps no TLS or HTTP library.
	"$d/usr/local/bin/omerta-loader" -v exec --help 2>&1 >/dev/null |
		grep -q "exec runs as .*/lib/omerta/omerta-loader-exec" || omt_fail "exec not handed over"
	"$d/usr/local/bin/omerta-loader" exec --help | grep -q -- "--vpn-config" || omt_fail "exec --help"
	# It finds the guest images beside itself, not in this tree.
	"$d/usr/local/bin/omerta-loader" -v exec --vpn-config /nonexistent -- true 2>&1 |
		grep -qx "omerta-loader: debug: guest images in $d/usr/local/lib/omerta" ||
		omt_fail "exec does not look for the images in PREFIX/lib/omerta"
	! ldd "$d/usr/local/lib/omerta/omerta-loader-exec" | grep -E "gnutls|microhttpd" ||
		omt_fail "omerta-loader-exec links the daemon's libraries"
	make -s -C "$OMT_ROOT" uninstall DESTDIR="$d" >/dev/null || omt_fail "make uninstall failed"
	[ -z "$(find "$d" -type f)" ] || omt_fail "left after uninstall: $(find "$d" -type f)"
}
