// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Rules are built from expressions the way nft(8) compiles them, so that
 * `nft list` prints them back as the source text in nft.h. In the inet
 * family `ip daddr` needs an explicit `meta nfproto ipv4` before it, or the
 * offset would be read from IPv6 headers too.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "nft.h"
#include "talk.h"

#define BATCH_LIMIT 8192

struct batch {
	char buf[2 * BATCH_LIMIT];	/* mnl_nlmsg_batch wants twice its limit */
	struct mnl_nlmsg_batch *b;
	uint32_t begin_seq, seq;
	unsigned int acks;
};

struct base_chain {
	uint16_t family;
	const char *table, *name, *type;
	uint32_t hook;
	int32_t prio;
};

static int batch_next(struct batch *b)
{
	return mnl_nlmsg_batch_next(b->b) ? 0 : -EMSGSIZE;
}

static int batch_start(struct batch *b)
{
	memset(b->buf, 0, sizeof(b->buf));	/* attribute padding goes out as is */
	b->b = mnl_nlmsg_batch_start(b->buf, BATCH_LIMIT);
	if (!b->b)
		return -ENOMEM;
	b->begin_seq = b->seq = time(NULL);
	b->acks = 0;
	nftnl_batch_begin(mnl_nlmsg_batch_current(b->b), b->seq++);
	mnl_nlmsg_batch_next(b->b);
	return 0;
}

static struct nlmsghdr *batch_msg(struct batch *b, uint16_t type, uint16_t family,
				  uint16_t flags)
{
	b->acks++;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->b), type, family,
				     flags | NLM_F_ACK, b->seq++);
}

/*
 * The kernel handles the batch inside sendmsg and answers every message
 * that asked for an ack, in order, so the first error is the one that made
 * it abort. Failures of the batch as a whole (commit, no memory) are
 * reported once against the begin message.
 */
static int batch_send(struct batch *b)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned int answered = 0;
	int ret, err = 0;

	nftnl_batch_end(mnl_nlmsg_batch_current(b->b), b->seq++);
	ret = batch_next(b);
	if (ret)
		return ret;
	nl = omt_nl_open(NETLINK_NETFILTER);
	if (!nl)
		return -errno;
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b->b), mnl_nlmsg_batch_size(b->b)) < 0) {
		err = -errno;
		goto cleanup;
	}
	while (answered < b->acks) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		const struct nlmsgerr *e;

		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret < 0) {
			err = err ?: -errno;
			break;
		}
		for (; mnl_nlmsg_ok(nlh, ret); nlh = mnl_nlmsg_next(nlh, &ret)) {
			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error && !err)
				err = e->error;
			if (nlh->nlmsg_seq == b->begin_seq)
				answered = b->acks;
			else
				answered++;
		}
	}
cleanup:
	mnl_socket_close(nl);
	return err;
}

static int put_table(struct batch *b, uint16_t family, const char *name, uint16_t type,
		     uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!t)
		return -ENOMEM;
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, name) < 0)
		goto cleanup;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nlh = batch_msg(b, type, family, flags);
	nftnl_table_nlmsg_build_payload(nlh, t);
	ret = batch_next(b);
cleanup:
	nftnl_table_free(t);
	return ret;
}

static int put_chain(struct batch *b, const struct base_chain *c)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!ch)
		return -ENOMEM;
	if (nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, c->table) < 0 ||
	    nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, c->name) < 0 ||
	    nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, c->type) < 0)
		goto cleanup;
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, c->family);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, c->hook);
	nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, c->prio);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = batch_msg(b, NFT_MSG_NEWCHAIN, c->family, NLM_F_CREATE);
	nftnl_chain_nlmsg_build_payload(nlh, ch);
	ret = batch_next(b);
cleanup:
	nftnl_chain_free(ch);
	return ret;
}

/* A base chain and its rules, for add_table(). */
struct chain_rules {
	const struct base_chain *c;
	struct nftnl_rule *const *rules;
	unsigned int n;
};

/* A new table (the first chain's) holding these base chains and their rules, in one batch. */
static int add_table(const struct chain_rules *chains, unsigned int n_chains)
{
	const struct base_chain *t = chains[0].c;
	struct batch b;
	struct nlmsghdr *nlh;
	unsigned int i, k;
	int ret;

	ret = batch_start(&b);
	if (ret)
		return ret;
	ret = put_table(&b, t->family, t->table, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	for (k = 0; !ret && k < n_chains; k++) {
		ret = put_chain(&b, chains[k].c);
		for (i = 0; !ret && i < chains[k].n; i++) {
			nlh = batch_msg(&b, NFT_MSG_NEWRULE, t->family, NLM_F_CREATE | NLM_F_APPEND);
			nftnl_rule_nlmsg_build_payload(nlh, chains[k].rules[i]);
			ret = batch_next(&b);
		}
	}
	if (!ret)
		ret = batch_send(&b);
	mnl_nlmsg_batch_stop(b.b);
	return ret;
}

static int add_base_chain(const struct base_chain *c, struct nftnl_rule *const *rules,
			  unsigned int n_rules)
{
	const struct chain_rules one = { c, rules, n_rules };

	return add_table(&one, 1);
}

static struct nftnl_rule *rule_new(const struct base_chain *c)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, c->table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->name) < 0) {
		nftnl_rule_free(r);
		return NULL;
	}
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, c->family);
	return r;
}

/* The expression helpers return 0 or -ENOMEM, so that a rule reads as a
 * chain of ||. All loads go to register 1, as nft does for simple matches. */
static int meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	return 0;
}

static int payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	return 0;
}

static int cmp_eq(struct nftnl_rule *r, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	nftnl_rule_add_expr(r, e);
	return 0;
}

static int verdict(struct nftnl_rule *r, uint32_t v)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, v);
	nftnl_rule_add_expr(r, e);
	return 0;
}

static int masq(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("masq");

	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

/* nft compares the whole IFNAMSIZ buffer, zero-padded: an exact match. */
static int match_ifname(struct nftnl_rule *r, uint32_t key, const char name[IFNAMSIZ])
{
	return meta(r, key) || cmp_eq(r, name, IFNAMSIZ) ? -ENOMEM : 0;
}

/* ifname into a zero-padded IFNAMSIZ buffer: -EINVAL when empty or too long. */
static int ifname_buf(const char *ifname, char name[IFNAMSIZ])
{
	memset(name, 0, IFNAMSIZ);
	if (!*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	memcpy(name, ifname, strlen(ifname));
	return 0;
}

static int match_nfproto_ipv4(struct nftnl_rule *r)
{
	uint8_t proto = NFPROTO_IPV4;

	return meta(r, NFT_META_NFPROTO) || cmp_eq(r, &proto, 1) ? -ENOMEM : 0;
}

static int match_ip4(struct nftnl_rule *r, uint32_t offset, const uint8_t ip[4])
{
	return payload(r, NFT_PAYLOAD_NETWORK_HEADER, offset, 4) || cmp_eq(r, ip, 4) ?
	       -ENOMEM : 0;
}

static int match_dport(struct nftnl_rule *r, uint8_t proto, uint16_t port)
{
	uint16_t be = htons(port);

	return meta(r, NFT_META_L4PROTO) || cmp_eq(r, &proto, 1) ||
	       payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2) || cmp_eq(r, &be, 2) ?
	       -ENOMEM : 0;
}

int omt_nft_add_masquerade(const char *table, const uint8_t src[4], const uint8_t dst[4],
			   uint16_t dport)
{
	const struct base_chain c = {
		.family = NFPROTO_IPV4, .table = table, .name = "postrouting",
		.type = "nat", .hook = NF_INET_POST_ROUTING, .prio = 100,
	};
	struct nftnl_rule *r = rule_new(&c);
	int ret = -ENOMEM;

	if (!r)
		return -ENOMEM;
	if (match_ip4(r, 12, src) || match_ip4(r, 16, dst) || match_dport(r, IPPROTO_UDP, dport) ||
	    masq(r))
		goto cleanup;
	ret = add_base_chain(&c, &r, 1);
cleanup:
	nftnl_rule_free(r);
	return ret;
}

int omt_nft_add_egress_only(const char *table, const char *ifname, const uint8_t dst[4],
			    uint16_t dport)
{
	const struct base_chain c = {
		.family = NFPROTO_INET, .table = table, .name = "output",
		.type = "filter", .hook = NF_INET_LOCAL_OUT, .prio = 0,
	};
	struct nftnl_rule *rules[2] = { rule_new(&c), rule_new(&c) };
	char name[IFNAMSIZ];
	int ret = ifname_buf(ifname, name);

	if (ret)
		goto cleanup;
	ret = -ENOMEM;
	if (!rules[0] || !rules[1] ||
	    match_ifname(rules[0], NFT_META_OIFNAME, name) || match_nfproto_ipv4(rules[0]) ||
	    match_ip4(rules[0], 16, dst) || match_dport(rules[0], IPPROTO_UDP, dport) ||
	    verdict(rules[0], NF_ACCEPT) ||
	    match_ifname(rules[1], NFT_META_OIFNAME, name) || verdict(rules[1], NF_DROP))
		goto cleanup;
	ret = add_base_chain(&c, rules, 2);
cleanup:
	if (rules[0])
		nftnl_rule_free(rules[0]);
	if (rules[1])
		nftnl_rule_free(rules[1]);
	return ret;
}

int omt_nft_add_tunnel_port_only(const char *table, const char *ifname, uint16_t dport)
{
	const struct base_chain in = {
		.family = NFPROTO_INET, .table = table, .name = "input",
		.type = "filter", .hook = NF_INET_LOCAL_IN, .prio = 0,
	}, fwd = {
		.family = NFPROTO_INET, .table = table, .name = "forward",
		.type = "filter", .hook = NF_INET_FORWARD, .prio = 0,
	};
	struct nftnl_rule *r[4] = { rule_new(&in), rule_new(&in), rule_new(&in), rule_new(&fwd) };
	const struct chain_rules chains[2] = { { &in, r, 3 }, { &fwd, r + 3, 1 } };
	char name[IFNAMSIZ];
	int i, ret = ifname_buf(ifname, name);

	if (ret)
		goto cleanup;
	ret = -ENOMEM;
	if (!r[0] || !r[1] || !r[2] || !r[3] ||
	    match_ifname(r[0], NFT_META_IIFNAME, name) ||
	    match_dport(r[0], IPPROTO_TCP, dport) || verdict(r[0], NF_ACCEPT) ||
	    match_ifname(r[1], NFT_META_IIFNAME, name) || verdict(r[1], NF_DROP) ||
	    match_dport(r[2], IPPROTO_TCP, dport) || verdict(r[2], NF_DROP) ||
	    match_ifname(r[3], NFT_META_IIFNAME, name) || verdict(r[3], NF_DROP))
		goto cleanup;
	ret = add_table(chains, 2);
cleanup:
	for (i = 0; i < 4; i++)
		if (r[i])
			nftnl_rule_free(r[i]);
	return ret;
}

int omt_nft_del_table(int family, const char *table)
{
	struct batch b;
	int ret;

	ret = batch_start(&b);
	if (ret)
		return ret;
	ret = put_table(&b, family, table, NFT_MSG_DELTABLE, 0);
	if (!ret)
		ret = batch_send(&b);
	mnl_nlmsg_batch_stop(b.b);
	return ret;
}

struct table_list {
	const char *prefix;
	char **names;
	size_t n;
};

static int table_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == NFTA_TABLE_NAME &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		*(const char **)data = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_list *l = data;
	const char *name = NULL;
	char **names;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), table_attr_cb, &name) < 0)
		return MNL_CB_ERROR;
	if (!name || strncmp(name, l->prefix, strlen(l->prefix)))
		return MNL_CB_OK;
	names = realloc(l->names, (l->n + 1) * sizeof(*names));
	if (!names)
		return MNL_CB_ERROR;
	l->names = names;
	names[l->n] = strdup(name);
	if (!names[l->n])
		return MNL_CB_ERROR;
	l->n++;
	return MNL_CB_OK;
}

int omt_nft_list_tables(int family, const char *prefix,
			void (*cb)(const char *name, void *arg), void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct table_list l = { .prefix = prefix };
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	size_t i;
	int ret;

	nl = omt_nl_open(NETLINK_NETFILTER);
	if (!nl)
		return -errno;
	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, family, NLM_F_DUMP, time(NULL));
	ret = omt_nl_talk(nl, nlh, table_cb, &l);
	mnl_socket_close(nl);
	for (i = 0; i < l.n; i++) {
		if (!ret)
			cb(l.names[i], arg);
		free(l.names[i]);
	}
	free(l.names);
	return ret;
}
