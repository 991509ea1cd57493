/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Kernel WireGuard over its generic-netlink family (libmnl, nl/genl.h):
 * configure one interface with one peer (or add and remove peers), and read the peer's state and the
 * listen port back. The interface itself is created with rtnetlink
 * (nl/rtnl.h, kind "wireguard").
 */
#ifndef OMERTA_WG_KERNEL_H
#define OMERTA_WG_KERNEL_H

#include <stdint.h>

#include "wgconf.h"

struct omt_wg_peer_state {
	int64_t last_handshake_sec;	/* 0: no handshake yet */
	uint64_t rx_bytes;
	uint64_t tx_bytes;
};

/* Private key, listen port and the single peer of c, replacing any peers. */
int omt_wg_kernel_apply(const char *ifname, const struct omt_wgconf *c);
/* State of the interface's first peer; -ENOENT when it has none. */
int omt_wg_kernel_peer_state(const char *ifname, struct omt_wg_peer_state *st);
/* The UDP port it listens on (*port untouched when the answer lacks it). */
int omt_wg_kernel_listen_port(const char *ifname, uint16_t *port);
/* Only the private key and the listen port; the peers stay as they are. */
int omt_wg_kernel_set_listener(const char *ifname, const uint8_t key[32], uint16_t port);
/* One peer more (or its settings replaced): one address (/32), a keepalive. */
int omt_wg_kernel_peer_add(const char *ifname, const uint8_t key[32], const uint8_t ip[4],
			   uint16_t keepalive);
/* That peer gone; the others stay. */
int omt_wg_kernel_peer_remove(const char *ifname, const uint8_t key[32]);

#endif
