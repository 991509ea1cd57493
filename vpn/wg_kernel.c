// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "../nl/genl.h"
#include "../nl/talk.h"
#include "wg_kernel.h"

struct genl_sock {
	struct mnl_socket *nl;
	uint16_t family;
	unsigned int seq;
};

/* Runs one request; cb sees every reply message. 0 or the kernel's -errno. */
static int transact(struct genl_sock *g, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	nlh->nlmsg_seq = ++g->seq;
	return omt_nl_talk(g->nl, nlh, cb, data);
}

/* -EPROTONOSUPPORT: no wireguard family, the module is not loaded. */
static int genl_open(struct genl_sock *g)
{
	int err;

	memset(g, 0, sizeof(*g));
	g->seq = time(NULL);
	g->nl = omt_nl_open(NETLINK_GENERIC);
	if (!g->nl)
		return -errno;
	err = omt_genl_family(g->nl, WG_GENL_NAME, ++g->seq, &g->family);
	if (err)
		mnl_socket_close(g->nl);
	return err;
}

static struct nlmsghdr *wg_header(struct genl_sock *g, char *buf, uint8_t cmd, uint16_t flags)
{
	return omt_genl_header(buf, g->family, flags, cmd, WG_GENL_VERSION);
}

/*
 * A WG_CMD_SET_DEVICE for ifname in buf, on a fresh socket g; NULL with
 * *err (-errno) when there is none. The caller adds what it sets.
 */
static struct nlmsghdr *set_device(struct genl_sock *g, char *buf, const char *ifname, int *err)
{
	struct nlmsghdr *nlh;

	*err = -EINVAL;
	if (strlen(ifname) >= IFNAMSIZ)
		return NULL;
	*err = genl_open(g);
	if (*err)
		return NULL;
	nlh = wg_header(g, buf, WG_CMD_SET_DEVICE, NLM_F_ACK);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	return nlh;
}

/* The same, with our private key and listen port. */
static struct nlmsghdr *set_listener(struct genl_sock *g, char *buf, const char *ifname,
				     const uint8_t key[WG_KEY_LEN], uint16_t port, int *err)
{
	struct nlmsghdr *nlh = set_device(g, buf, ifname, err);

	if (nlh) {
		mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, key);
		mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, port);
	}
	return nlh;
}

/* Sends it, wipes buf (the keys were in it) and closes g. 0 or -errno. */
static int set_device_send(struct genl_sock *g, char *buf, struct nlmsghdr *nlh)
{
	int err = transact(g, nlh, NULL, NULL);

	explicit_bzero(buf, MNL_SOCKET_BUFFER_SIZE);
	mnl_socket_close(g->nl);
	return err;
}

int omt_wg_kernel_apply(const char *ifname, const struct omt_wgconf *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sockaddr_in ep = { .sin_family = AF_INET, .sin_port = htons(c->endpoint_port) };
	struct nlattr *peers, *peer, *ips, *ip;
	struct genl_sock g;
	struct nlmsghdr *nlh;
	int i, err;

	nlh = set_listener(&g, buf, ifname, c->private_key, c->listen_port, &err);
	if (!nlh)
		return err;
	memcpy(&ep.sin_addr, c->endpoint_ip, 4);
	mnl_attr_put_u32(nlh, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, c->peer_public_key);
	if (c->has_preshared_key)
		mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, c->preshared_key);
	mnl_attr_put_u32(nlh, WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS);
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(ep), &ep);
	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, c->persistent_keepalive);
	ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	for (i = 0; i < c->n_allowed_ips; i++) {
		ip = mnl_attr_nest_start(nlh, 0);
		mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
		mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, 4, c->allowed_ips[i].ip);
		mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, c->allowed_ips[i].prefix);
		mnl_attr_nest_end(nlh, ip);
	}
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	return set_device_send(&g, buf, nlh);
}

int omt_wg_kernel_set_listener(const char *ifname, const uint8_t key[WG_KEY_LEN], uint16_t port)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct genl_sock g;
	struct nlmsghdr *nlh;
	int err;

	nlh = set_listener(&g, buf, ifname, key, port, &err);
	return nlh ? set_device_send(&g, buf, nlh) : err;
}

/* One peer in a WG_CMD_SET_DEVICE that leaves the others as they are. */
static int set_peer(const char *ifname, const uint8_t key[WG_KEY_LEN], const uint8_t ip[4],
		    uint16_t keepalive)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlattr *peers, *peer, *ips, *a;
	struct genl_sock g;
	struct nlmsghdr *nlh;
	int err;

	nlh = set_device(&g, buf, ifname, &err);
	if (!nlh)
		return err;
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, key);
	if (!ip) {
		mnl_attr_put_u32(nlh, WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME);
	} else {
		mnl_attr_put_u32(nlh, WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS);
		mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, keepalive);
		ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
		a = mnl_attr_nest_start(nlh, 0);
		mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
		mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, 4, ip);
		mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 32);
		mnl_attr_nest_end(nlh, a);
		mnl_attr_nest_end(nlh, ips);
	}
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	return set_device_send(&g, buf, nlh);
}

int omt_wg_kernel_peer_add(const char *ifname, const uint8_t key[WG_KEY_LEN], const uint8_t ip[4],
			   uint16_t keepalive)
{
	return set_peer(ifname, key, ip, keepalive);
}

int omt_wg_kernel_peer_remove(const char *ifname, const uint8_t key[WG_KEY_LEN])
{
	return set_peer(ifname, key, NULL, 0);
}

static int peer_attr_cb(const struct nlattr *a, void *data)
{
	struct omt_wg_peer_state *st = data;

	switch (mnl_attr_get_type(a)) {
	case WGPEER_A_LAST_HANDSHAKE_TIME:
		if (mnl_attr_get_payload_len(a) == sizeof(struct __kernel_timespec)) {
			const struct __kernel_timespec *ts = mnl_attr_get_payload(a);

			st->last_handshake_sec = ts->tv_sec;
		}
		break;
	case WGPEER_A_RX_BYTES:
		if (mnl_attr_validate(a, MNL_TYPE_U64) == 0)
			st->rx_bytes = mnl_attr_get_u64(a);
		break;
	case WGPEER_A_TX_BYTES:
		if (mnl_attr_validate(a, MNL_TYPE_U64) == 0)
			st->tx_bytes = mnl_attr_get_u64(a);
		break;
	}
	return MNL_CB_OK;
}

struct get_ctx {
	struct omt_wg_peer_state *st;
	int found;
};

static int device_attr_cb(const struct nlattr *a, void *data)
{
	struct get_ctx *ctx = data;
	struct nlattr *peer;

	if (mnl_attr_get_type(a) != WGDEVICE_A_PEERS || ctx->found)
		return MNL_CB_OK;
	mnl_attr_for_each_nested(peer, a) {
		mnl_attr_parse_nested(peer, peer_attr_cb, ctx->st);
		ctx->found = 1;
		break;
	}
	return MNL_CB_OK;
}

static int device_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), device_attr_cb, data);
}

int omt_wg_kernel_peer_state(const char *ifname, struct omt_wg_peer_state *st)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct get_ctx ctx = { .st = st };
	struct nlmsghdr *nlh;
	struct genl_sock g;
	int err;

	memset(st, 0, sizeof(*st));
	err = genl_open(&g);
	if (err)
		return err;
	nlh = wg_header(&g, buf, WG_CMD_GET_DEVICE, NLM_F_DUMP | NLM_F_ACK);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	err = transact(&g, nlh, device_msg_cb, &ctx);
	mnl_socket_close(g.nl);
	if (err)
		return err;
	return ctx.found ? 0 : -ENOENT;
}

int omt_wg_kernel_listen_port(const char *ifname, uint16_t *port)
{
	struct omt_genl_u16 want = { WGDEVICE_A_LISTEN_PORT, port };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct genl_sock g;
	int err;

	err = genl_open(&g);
	if (err)
		return err;
	nlh = wg_header(&g, buf, WG_CMD_GET_DEVICE, NLM_F_DUMP | NLM_F_ACK);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	err = transact(&g, nlh, omt_genl_u16_cb, &want);
	mnl_socket_close(g.nl);
	return err;
}
