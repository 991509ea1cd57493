/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One WireGuard interface, whichever backend runs it: kernel WireGuard when
 * the kernel has it (configured over generic netlink, vpn/wg_kernel.h), else
 * wireguard-go as our child (configured over its UAPI socket, vpn/wg_uapi.h).
 * As in wireguard-tools' ipc.c, callers see only these functions. Up and down
 * run in the interface's network namespace; the rest may run anywhere for
 * wireguard-go, in that namespace for the kernel.
 */
#ifndef OMERTA_WG_H
#define OMERTA_WG_H

#include <stdint.h>
#include <sys/types.h>

#include "wg_kernel.h"
#include "wgconf.h"

struct omt_wg_dev {
	char ifname[16];
	int userspace;		/* 1: wireguard-go, pid is its process */
	pid_t pid;
};

/*
 * Creates ifname: a kernel "wireguard" link, or, when the kernel lacks the
 * kind (-EOPNOTSUPP), wireguard-go. The link is down and has no address
 * (nl/rtnl.h). d is zeroed on failure, so omt_wg_down(d) is always safe.
 */
int omt_wg_up(const char *ifname, struct omt_wg_dev *d);
int omt_wg_apply(const struct omt_wg_dev *d, const struct omt_wgconf *c);
/*
 * For an interface with many peers (omerta swarm): a peer added, or its
 * settings replaced (its one address, ip/32, and a keepalive), and a peer
 * removed; the other peers stay as they are. 0 or -errno.
 */
int omt_wg_peer_add(const struct omt_wg_dev *d, const uint8_t key[32], const uint8_t ip[4],
		    uint16_t keepalive);
int omt_wg_peer_remove(const struct omt_wg_dev *d, const uint8_t key[32]);
/* The first peer's state; -ENOENT when there is no peer. */
int omt_wg_peer_state(const struct omt_wg_dev *d, struct omt_wg_peer_state *st);
/*
 * Our private key, and a UDP port of our choosing (one nothing here uses)
 * to listen on, into *port: set, not waited for, so that *port is never 0
 * however late wireguard-go binds it. Up, the interface binds it at once
 * (another is tried when it was taken meanwhile); down, when it comes up.
 * 0 or -errno.
 */
int omt_wg_listen(const struct omt_wg_dev *d, const uint8_t key[32], uint16_t *port);
/* The UDP port it listens on (the one picked after listen_port 0); 0 if none. */
int omt_wg_listen_port(const struct omt_wg_dev *d, uint16_t *port);
/* Deletes the link, or stops wireguard-go (which takes its link along). */
void omt_wg_down(struct omt_wg_dev *d);

#endif
