/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Userspace WireGuard: wireguard-go, run as our child, configured over its
 * UAPI socket /var/run/wireguard/IFNAME.sock (the text protocol of
 * wireguard.com/xplatform: "set=1" or "get=1", key=value lines, a blank
 * line, answered by "errno=N" and a blank line; keys in hex). The socket is
 * not namespaced: two wireguard-go with one name in two namespaces collide,
 * so callers pick unique names. wireguard-go answers errors as a negative
 * errno ("errno=-22"); either sign is read as that -errno.
 */
#ifndef OMERTA_WG_UAPI_H
#define OMERTA_WG_UAPI_H

#include <stdint.h>
#include <sys/types.h>

#include "wg_kernel.h"
#include "wgconf.h"

#define OMT_WG_UAPI_DIR "/var/run/wireguard"

/*
 * Starts `wireguard-go -f ifname` in the caller's network namespace as our
 * child, its log on our stderr, and waits (at most ~5 s) until it answers on
 * its socket. It gets SIGTERM when the calling thread exits
 * (PR_SET_PDEATHSIG): start it from a thread that lives as long as the
 * device. -EADDRINUSE if a live socket of that name is there (another
 * namespace's device), -ENOENT if wireguard-go is not installed, -EIO if it
 * exited (it says why on stderr), -ETIMEDOUT. *pid is -1 on failure.
 */
int omt_wg_go_start(const char *ifname, pid_t *pid);
/* SIGTERM, reap (~2 s, then SIGKILL), remove the socket if left and dead. */
void omt_wg_go_stop(const char *ifname, pid_t pid);

/*
 * As omt_wg_kernel_apply: private key, listen port, and the single peer of c
 * replacing any peers (endpoint only when c->endpoint_port != 0, allowed
 * IPs, keepalive, preshared key). -ENOENT if there is no such socket,
 * otherwise the -errno wireguard-go answers (-EADDRINUSE for a taken port).
 */
int omt_wg_uapi_apply(const char *ifname, const struct omt_wgconf *c);
/* State of the device's first peer; -ENOENT when it has none. */
int omt_wg_uapi_peer_state(const char *ifname, struct omt_wg_peer_state *st);
/* The UDP port it listens on; 0 if it has none bound. */
int omt_wg_uapi_listen_port(const char *ifname, uint16_t *port);
/*
 * Only the private key and the listen port; the peers stay as they are.
 * An interface that is up binds the port before this returns (-EADDRINUSE
 * when it is taken); one that is down binds it when it comes up.
 */
int omt_wg_uapi_set_listener(const char *ifname, const uint8_t key[32], uint16_t port);
/* As omt_wg_kernel_peer_add and omt_wg_kernel_peer_remove. */
int omt_wg_uapi_peer_add(const char *ifname, const uint8_t key[32], const uint8_t ip[4],
			 uint16_t keepalive);
int omt_wg_uapi_peer_remove(const char *ifname, const uint8_t key[32]);

#endif
