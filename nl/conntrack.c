// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A filtered flush (CTA_FILTER) can't say "source or destination" in one
 * request, and what it accepts has changed between kernels; so: dump,
 * collect the matching entries, and delete them one by one once the dump
 * is over (deleting while it runs can make it skip entries). The
 * original tuple is sent back exactly as the kernel dumped it, so ICMP ids,
 * GRE keys and directional zones need no code of their own here. Memory is
 * bounded: when the batch fills up, the next round dumps again.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <libmnl/libmnl.h>

#include "conntrack.h"
#include "talk.h"

#define BATCH 256
#define TUPLE_MAX 128	/* an IPv4 UDP original tuple is 52 bytes */
#define MAX_ROUNDS 64	/* BATCH * MAX_ROUNDS entries of one address is no VM's */

struct ct_entry {
	uint8_t tuple[TUPLE_MAX];	/* payload of CTA_TUPLE_ORIG */
	uint16_t len;
	bool has_zone;
	uint16_t zone;			/* network order, as dumped */
};

struct ct_match {
	const uint8_t *ip;
	struct ct_entry *v;
	unsigned int n;
	bool full;
};

struct ct_attrs {
	const struct nlattr *orig, *zone;
};

struct ip_attrs {
	const void *src, *dst;
};

static int ct_attr_cb(const struct nlattr *attr, void *data)
{
	struct ct_attrs *a = data;

	switch (mnl_attr_get_type(attr)) {
	case CTA_TUPLE_ORIG:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
			a->orig = attr;
		break;
	case CTA_ZONE:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
			a->zone = attr;
		break;
	}
	return MNL_CB_OK;
}

static int tuple_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == CTA_TUPLE_IP &&
	    mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
		*(const struct nlattr **)data = attr;
	return MNL_CB_OK;
}

static int ip_attr_cb(const struct nlattr *attr, void *data)
{
	struct ip_attrs *a = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (mnl_attr_get_payload_len(attr) != 4)
		return MNL_CB_OK;
	if (type == CTA_IP_V4_SRC)
		a->src = mnl_attr_get_payload(attr);
	else if (type == CTA_IP_V4_DST)
		a->dst = mnl_attr_get_payload(attr);
	return MNL_CB_OK;
}

static int ct_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ct_match *m = data;
	struct ct_attrs a = { 0 };
	const struct nlattr *ip = NULL;
	struct ip_attrs addr = { 0 };
	struct ct_entry *e;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), ct_attr_cb, &a) < 0 || !a.orig ||
	    mnl_attr_parse_nested(a.orig, tuple_attr_cb, &ip) < 0 || !ip ||
	    mnl_attr_parse_nested(ip, ip_attr_cb, &addr) < 0 || !addr.src || !addr.dst)
		return MNL_CB_OK;
	if (memcmp(addr.src, m->ip, 4) && memcmp(addr.dst, m->ip, 4))
		return MNL_CB_OK;
	if (m->n == BATCH) {
		m->full = true;
		return MNL_CB_OK;
	}
	if (mnl_attr_get_payload_len(a.orig) > TUPLE_MAX)
		return MNL_CB_OK;
	e = &m->v[m->n++];
	e->len = mnl_attr_get_payload_len(a.orig);
	memcpy(e->tuple, mnl_attr_get_payload(a.orig), e->len);
	e->has_zone = a.zone != NULL;
	if (a.zone)
		memcpy(&e->zone, mnl_attr_get_payload(a.zone), 2);
	return MNL_CB_OK;
}

static struct nlmsghdr *ct_msg(char *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	return nlh;
}

static int ct_delete(struct mnl_socket *nl, const struct ct_entry *e, uint32_t seq)
{
	char buf[512] = { 0 };
	struct nlmsghdr *nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, seq);

	mnl_attr_put(nlh, CTA_TUPLE_ORIG | NLA_F_NESTED, e->len, e->tuple);
	if (e->has_zone)
		mnl_attr_put(nlh, CTA_ZONE, 2, &e->zone);
	return omt_nl_talk(nl, nlh, NULL, NULL);
}

int omt_conntrack_flush_addr4(const uint8_t ip[4])
{
	struct ct_match m = { .ip = ip };
	char req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg))] = { 0 };
	struct mnl_socket *nl;
	uint32_t seq = time(NULL);
	unsigned int i, round;
	int ret = 0, deleted = 0;

	m.v = calloc(BATCH, sizeof(*m.v));
	if (!m.v)
		return -ENOMEM;
	nl = omt_nl_open(NETLINK_NETFILTER);
	if (!nl) {
		ret = -errno;
		goto cleanup;
	}
	for (round = 0; round < MAX_ROUNDS; round++) {
		m.n = 0;
		m.full = false;
		ret = omt_nl_talk(nl, ct_msg(req, IPCTNL_MSG_CT_GET, NLM_F_DUMP, seq++), ct_cb, &m);
		for (i = 0; !ret && i < m.n; i++) {
			ret = ct_delete(nl, &m.v[i], seq++);
			if (ret == -ENOENT)
				ret = 0;
			else if (!ret)
				deleted++;
		}
		if (ret || !m.full)
			break;
	}
	if (!ret)
		ret = round == MAX_ROUNDS ? -EAGAIN : deleted;
cleanup:
	if (nl)
		mnl_socket_close(nl);
	free(m.v);
	return ret;
}
