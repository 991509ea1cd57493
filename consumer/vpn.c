// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* omerta vpn status: the tunnels of submit (omtc*) and swarm (omts*) here, and their state. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../vpn/wg.h"
#include "cli.h"

int vpn_main(int argc, char **argv)
{
	struct if_nameindex *ifs, *i;
	int n = 0;

	if (argc != 2 || strcmp(argv[1], "status")) {
		if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			printf("Usage: omerta vpn status\n\nThe WireGuard servers 'omerta submit' runs "
			       "for its jobs (interfaces omtc*)\nand 'omerta swarm' for its pilots "
			       "(omts*), with their listen port, and their\nfirst peer's last "
			       "handshake and traffic.\n");
			return OMT_EXIT_OK;
		}
		fprintf(stderr, "Usage: omerta vpn status\n");
		return OMT_EXIT_USAGE;
	}
	ifs = if_nameindex();
	for (i = ifs; i && i->if_index; i++) {
		struct omt_wg_dev d = {};
		struct omt_wg_peer_state st;
		char sock[128];
		struct stat sb;
		uint16_t port = 0;
		int e;

		if (strncmp(i->if_name, "omtc", 4) && strncmp(i->if_name, "omts", 4))
			continue;
		snprintf(d.ifname, sizeof(d.ifname), "%s", i->if_name);
		snprintf(sock, sizeof(sock), "/var/run/wireguard/%s.sock", i->if_name);
		d.userspace = stat(sock, &sb) == 0;
		omt_wg_listen_port(&d, &port);
		e = omt_wg_peer_state(&d, &st);
		if (!n++)
			printf("%-14s %-11s %6s %-22s %12s %12s\n", "interface", "backend", "port",
			       "last handshake", "received", "sent");
		if (e) {
			printf("%-14s %-11s %6u %s\n", i->if_name, d.userspace ? "wireguard-go" : "kernel",
			       port, e == -ENOENT ? "no peer yet" : strerror(-e));
			continue;
		}
		if (st.last_handshake_sec) {
			char when[32];

			snprintf(when, sizeof(when), "%llds ago",
				 (long long)(time(NULL) - st.last_handshake_sec));
			printf("%-14s %-11s %6u %-22s %12llu %12llu\n", i->if_name,
			       d.userspace ? "wireguard-go" : "kernel", port, when,
			       (unsigned long long)st.rx_bytes, (unsigned long long)st.tx_bytes);
		} else {
			printf("%-14s %-11s %6u %-22s %12llu %12llu\n", i->if_name,
			       d.userspace ? "wireguard-go" : "kernel", port, "never",
			       (unsigned long long)st.rx_bytes, (unsigned long long)st.tx_bytes);
		}
	}
	if_freenameindex(ifs);
	if (!n)
		printf("no job tunnels\n");
	return OMT_EXIT_OK;
}
