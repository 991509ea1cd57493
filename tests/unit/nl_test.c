// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * nl/rtnl, nl/nft and nl/genl against the real kernel (and host/vmnet's
 * reading of the host's addresses, over nl/rtnl). The whole binary moves
 * into a fresh network namespace first (needs root), so nothing it creates can
 * reach the host and everything goes away with the process. The kernel here
 * may lack dummy and vlan links: the test links are taps, which live as long
 * as their file descriptor. Tables are read back with the nft CLI.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>

#include "../../host/vmnet.h"
#include "../../nl/genl.h"
#include "../../nl/nft.h"
#include "../../nl/rtnl.h"
#include "../../nl/talk.h"

#define MAX_TAPS 4

static int taps[MAX_TAPS];
static int n_taps;

static unsigned int tap_open(const char *name, int noarp)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int s;

	assert_true(fd >= 0);
	assert_true(n_taps < MAX_TAPS);
	taps[n_taps++] = fd;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	if (noarp) {
		/* Frames then leave at once, without waiting for an ARP reply. */
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		assert_true(s >= 0);
		assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
		ifr.ifr_flags |= IFF_NOARP;
		assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
		close(s);
	}
	return if_nametoindex(name);
}

static int link_ioctl(unsigned int ifindex, unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret;

	assert_true(s >= 0);
	assert_non_null(if_indextoname(ifindex, ifr->ifr_name));
	ret = ioctl(s, req, ifr);
	close(s);
	return ret;
}

static int has_addr4(const char *ifname, const char *ip, unsigned int prefix)
{
	struct ifaddrs *ifa, *i;
	int found = 0;

	assert_int_equal(getifaddrs(&ifa), 0);
	for (i = ifa; i && !found; i = i->ifa_next) {
		struct sockaddr_in *a = (struct sockaddr_in *)i->ifa_addr;
		struct sockaddr_in *m = (struct sockaddr_in *)i->ifa_netmask;
		char s[INET_ADDRSTRLEN];

		if (!a || a->sin_family != AF_INET || strcmp(i->ifa_name, ifname))
			continue;
		inet_ntop(AF_INET, &a->sin_addr, s, sizeof(s));
		found = !strcmp(s, ip) &&
			(unsigned int)__builtin_popcount(m->sin_addr.s_addr) == prefix;
	}
	freeifaddrs(ifa);
	return found;
}

struct route_query {
	uint8_t dst[4], gw[4];
	uint8_t prefix;
	int has_gw;
	unsigned int oif;
	int found;
};

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, RTA_MAX) > 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct route_query *q = data;
	uint8_t dst[4] = { 0 };

	if (rtm->rtm_family != AF_INET || rtm->rtm_table != RT_TABLE_MAIN ||
	    rtm->rtm_dst_len != q->prefix)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb);
	if (tb[RTA_DST])
		memcpy(dst, mnl_attr_get_payload(tb[RTA_DST]), 4);
	if (memcmp(dst, q->dst, 4) || !tb[RTA_OIF] || mnl_attr_get_u32(tb[RTA_OIF]) != q->oif ||
	    !tb[RTA_GATEWAY] != !q->has_gw)
		return MNL_CB_OK;
	if (q->has_gw && memcmp(mnl_attr_get_payload(tb[RTA_GATEWAY]), q->gw, 4))
		return MNL_CB_OK;
	q->found = 1;
	return MNL_CB_OK;
}

/* Through an RTM_GETROUTE dump, not through the code under test. */
static int has_route4(const char *dst, uint8_t prefix, const char *gw, unsigned int oif)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct route_query q = { .prefix = prefix, .has_gw = gw != NULL, .oif = oif };
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	int ret;

	assert_int_equal(inet_pton(AF_INET, dst, q.dst), 1);
	if (gw)
		assert_int_equal(inet_pton(AF_INET, gw, q.gw), 1);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = 1;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	assert_non_null(nl);
	assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	assert_true(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) > 0);
	while ((ret = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		ret = mnl_cb_run(buf, ret, 1, mnl_socket_get_portid(nl), route_cb, &q);
		if (ret <= 0)
			break;
	}
	assert_int_equal(ret, 0);
	mnl_socket_close(nl);
	return q.found;
}

/* `nft list table` output, or "" if nft fails (no such table). */
static char *nft_list(const char *family, const char *table)
{
	static char out[4096];
	char cmd[256];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nft list table %s %s 2>/dev/null", family, table);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	if (pclose(p) != 0)
		out[0] = '\0';
	return out;
}

static void ip4(const char *s, uint8_t out[4])
{
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static void del_ip_table(const char *name, void *arg)
{
	(void)arg;
	omt_nft_del_table(NFPROTO_IPV4, name);
}

static void del_inet_table(const char *name, void *arg)
{
	(void)arg;
	omt_nft_del_table(NFPROTO_INET, name);
}

static int enter_netns(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "nl_test: unshare(CLONE_NEWNET): %s (run as root)\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Closing a tap's fd deletes it, which also drops its addresses and routes. */
static int reset(void **state)
{
	unsigned int br = if_nametoindex("omtbr0");

	(void)state;
	while (n_taps)
		close(taps[--n_taps]);
	if (br)
		omt_rtnl_link_del(br);
	omt_nft_list_tables(NFPROTO_IPV4, "", del_ip_table, NULL);
	omt_nft_list_tables(NFPROTO_INET, "", del_inet_table, NULL);
	return 0;
}

static void test_link_up_mtu(void **state)
{
	unsigned int idx = tap_open("omt0", 0);
	struct ifreq ifr;

	(void)state;
	assert_int_equal(link_ioctl(idx, SIOCGIFFLAGS, &ifr), 0);
	assert_false(ifr.ifr_flags & IFF_UP);
	assert_int_equal(omt_rtnl_link_up(idx), 0);
	assert_int_equal(link_ioctl(idx, SIOCGIFFLAGS, &ifr), 0);
	assert_true(ifr.ifr_flags & IFF_UP);

	assert_int_equal(omt_rtnl_link_set_mtu(idx, 1380), 0);
	assert_int_equal(link_ioctl(idx, SIOCGIFMTU, &ifr), 0);
	assert_int_equal(ifr.ifr_mtu, 1380);
	assert_int_equal(omt_rtnl_link_set_mtu(idx, 10), -EINVAL);

	assert_int_equal(omt_rtnl_link_up(idx + 100), -ENODEV);
	assert_int_equal(omt_rtnl_link_set_mtu(idx + 100, 1400), -ENODEV);
}

static void test_link_add_del(void **state)
{
	unsigned int idx;
	int ret;

	(void)state;
	assert_int_equal(omt_rtnl_link_add("omtbr0", "bridge"), 0);
	idx = if_nametoindex("omtbr0");
	assert_true(idx > 0);
	assert_int_equal(omt_rtnl_link_add("omtbr0", "bridge"), -EEXIST);
	assert_int_equal(omt_rtnl_link_del(idx), 0);
	assert_int_equal(if_nametoindex("omtbr0"), 0);
	assert_int_equal(omt_rtnl_link_del(idx), -ENODEV);

	assert_int_equal(omt_rtnl_link_add("omtx0", "omt-no-such-kind"), -EOPNOTSUPP);
	assert_int_equal(omt_rtnl_link_add("omt-name-too-long0", "bridge"), -EINVAL);
	assert_int_equal(omt_rtnl_link_add("", "bridge"), -EINVAL);

	/* The real use; kernels without WireGuard say so cleanly. */
	ret = omt_rtnl_link_add("omtwg0", "wireguard");
	if (ret == 0)
		assert_int_equal(omt_rtnl_link_del(if_nametoindex("omtwg0")), 0);
	else
		assert_int_equal(ret, -EOPNOTSUPP);
}

static void test_addr(void **state)
{
	unsigned int idx = tap_open("omt0", 0);
	uint8_t ip[4];

	(void)state;
	ip4("10.0.0.1", ip);
	assert_int_equal(omt_rtnl_addr_add4(idx, ip, 24), 0);
	assert_true(has_addr4("omt0", "10.0.0.1", 24));
	assert_int_equal(omt_rtnl_addr_add4(idx, ip, 24), -EEXIST);
	ip4("10.0.1.1", ip);
	assert_int_equal(omt_rtnl_addr_add4(idx, ip, 32), 0);
	assert_true(has_addr4("omt0", "10.0.1.1", 32));

	assert_int_equal(omt_rtnl_addr_add4(idx + 100, ip, 24), -ENODEV);
	assert_int_equal(omt_rtnl_addr_add4(idx, ip, 33), -EINVAL);
}

struct seen_addrs {
	char list[512];		/* "LOCAL/PREFIX brd BRD;" each */
	int stop_at, n;
};

static int seen_addr(void *data, const uint8_t local[4], uint8_t prefix, const uint8_t *brd)
{
	struct seen_addrs *a = data;
	size_t len = strlen(a->list);

	if (++a->n == a->stop_at)
		return -ECANCELED;
	snprintf(a->list + len, sizeof(a->list) - len, "%u.%u.%u.%u/%u", local[0], local[1],
		 local[2], local[3], prefix);
	len = strlen(a->list);
	if (brd)
		snprintf(a->list + len, sizeof(a->list) - len, " brd %u.%u.%u.%u", brd[0], brd[1],
			 brd[2], brd[3]);
	len = strlen(a->list);
	snprintf(a->list + len, sizeof(a->list) - len, ";");
	return 0;
}

static int has_ip(const uint8_t (*list)[4], size_t n, const char *s)
{
	uint8_t ip[4];
	size_t i;

	ip4(s, ip);
	for (i = 0; i < n; i++)
		if (!memcmp(list[i], ip, 4))
			return 1;
	return 0;
}

/*
 * The host's addresses: the dump (nl/rtnl.h), and what exec and the daemon
 * make of it (host/vmnet.h).
 */
static void test_addrs_dump(void **state)
{
	unsigned int idx = tap_open("omt0", 0);
	struct seen_addrs seen = { "", 0, 0 };
	struct omt_host_addrs h;
	uint8_t ip[4];
	char err[128];

	(void)state;
	ip4("10.77.5.1", ip);
	assert_int_equal(omt_rtnl_addr_add4(idx, ip, 24), 0);
	ip4("192.0.2.9", ip);
	assert_int_equal(omt_rtnl_addr_add4(idx, ip, 32), 0);
	assert_int_equal(omt_rtnl_addrs4(seen_addr, &seen), 0);
	/* This namespace's loopback is down: these two are all. */
	assert_string_equal(seen.list, "10.77.5.1/24;192.0.2.9/32;");

	seen = (struct seen_addrs){ "", 2, 0 };
	assert_int_equal(omt_rtnl_addrs4(seen_addr, &seen), -ECANCELED);
	assert_string_equal(seen.list, "10.77.5.1/24;");

	assert_int_equal(omt_vmnet_host_addrs(&h, err, sizeof(err)), 0);
	assert_int_equal(h.n_local, 2);
	assert_true(has_ip((const uint8_t (*)[4])h.local, h.n_local, "10.77.5.1"));
	assert_true(has_ip((const uint8_t (*)[4])h.local, h.n_local, "192.0.2.9"));
	/* The kernel takes the /24's last address as the host's, with no brd given. */
	assert_int_equal(h.n_brd, 1);
	assert_true(has_ip((const uint8_t (*)[4])h.brd, h.n_brd, "10.77.5.255"));
	omt_host_addrs_free(&h);
	assert_null(h.local);
	assert_int_equal(h.n_local, 0);
}

static void test_route(void **state)
{
	unsigned int idx = tap_open("omt0", 0);
	uint8_t ip[4], dst[4], gw[4], any[4] = { 0 };

	(void)state;
	ip4("10.0.0.1", ip);
	assert_int_equal(omt_rtnl_link_up(idx), 0);
	assert_int_equal(omt_rtnl_addr_add4(idx, ip, 24), 0);

	ip4("10.1.0.0", dst);
	assert_int_equal(omt_rtnl_route_add4(dst, 16, NULL, idx), 0);
	assert_true(has_route4("10.1.0.0", 16, NULL, idx));
	assert_int_equal(omt_rtnl_route_add4(dst, 16, NULL, idx), -EEXIST);

	ip4("10.2.0.0", dst);
	ip4("10.0.0.254", gw);
	assert_int_equal(omt_rtnl_route_add4(dst, 16, gw, idx), 0);
	assert_true(has_route4("10.2.0.0", 16, "10.0.0.254", idx));
	assert_int_equal(omt_rtnl_route_add4(any, 0, gw, 0), 0);
	assert_true(has_route4("0.0.0.0", 0, "10.0.0.254", idx));

	ip4("10.3.0.1", dst);
	assert_int_equal(omt_rtnl_route_add4(dst, 16, NULL, idx), -EINVAL);
	assert_int_equal(omt_rtnl_route_add4(dst, 32, NULL, idx + 100), -ENODEV);
	assert_int_equal(omt_rtnl_route_add4(dst, 32, NULL, 0), -EINVAL);
	ip4("192.168.77.1", gw);
	assert_int_equal(omt_rtnl_route_add4(dst, 32, gw, 0), -ENETUNREACH);
}

static const char masq_text[] =
	"table ip omtmasq {\n"
	"\tchain postrouting {\n"
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	"\t\tip saddr 10.0.0.2 ip daddr 10.9.9.9 udp dport 51820 masquerade\n"
	"\t}\n"
	"}\n";

static void test_masquerade(void **state)
{
	uint8_t src[4], dst[4];

	(void)state;
	ip4("10.0.0.2", src);
	ip4("10.9.9.9", dst);
	assert_int_equal(omt_nft_add_masquerade("omtmasq", src, dst, 51820), 0);
	assert_string_equal(nft_list("ip", "omtmasq"), masq_text);

	/* All or nothing: the second batch is refused as a whole. */
	assert_int_equal(omt_nft_add_masquerade("omtmasq", src, dst, 51820), -EEXIST);
	assert_string_equal(nft_list("ip", "omtmasq"), masq_text);

	assert_int_equal(omt_nft_del_table(NFPROTO_IPV4, "omtmasq"), 0);
	assert_string_equal(nft_list("ip", "omtmasq"), "");
	assert_int_equal(omt_nft_del_table(NFPROTO_IPV4, "omtmasq"), -ENOENT);
}

static const char egress_text[] =
	"table inet omtegress {\n"
	"\tchain output {\n"
	"\t\ttype filter hook output priority filter; policy accept;\n"
	"\t\toifname \"eth0\" ip daddr 10.9.9.9 udp dport 51820 accept\n"
	"\t\toifname \"eth0\" drop\n"
	"\t}\n"
	"}\n";

static void test_egress_only_rules(void **state)
{
	uint8_t dst[4];

	(void)state;
	ip4("10.9.9.9", dst);
	assert_int_equal(omt_nft_add_egress_only("omtegress", "eth0", dst, 51820), 0);
	assert_string_equal(nft_list("inet", "omtegress"), egress_text);
	assert_int_equal(omt_nft_add_egress_only("omtegress", "eth0", dst, 51820), -EEXIST);
	assert_string_equal(nft_list("inet", "omtegress"), egress_text);
	/* The same name in another family is another table. */
	assert_int_equal(omt_nft_del_table(NFPROTO_IPV4, "omtegress"), -ENOENT);
	assert_int_equal(omt_nft_del_table(NFPROTO_INET, "omtegress"), 0);
	assert_string_equal(nft_list("inet", "omtegress"), "");

	assert_int_equal(omt_nft_add_egress_only("omtegress", "omt-name-too-long0", dst, 1),
			 -EINVAL);
	assert_int_equal(omt_nft_add_egress_only("omtegress", "", dst, 1), -EINVAL);
	assert_string_equal(nft_list("inet", "omtegress"), "");
}

static const char port_only_text[] =
	"table inet omtswarm {\n"
	"\tchain input {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\tiifname \"omts1\" tcp dport 9123 accept\n"
	"\t\tiifname \"omts1\" drop\n"
	"\t\ttcp dport 9123 drop\n"
	"\t}\n"
	"\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tiifname \"omts1\" drop\n"
	"\t}\n"
	"}\n";

/* A TCP connect to 127.0.0.1:port within 300 ms: 1 connected, 0 not. */
static int tcp_connects(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), e = 0;
	struct pollfd p = { .fd = s, .events = POLLOUT };
	socklen_t len = sizeof(e);

	assert_true(s >= 0);
	ip4("127.0.0.1", (uint8_t *)&a.sin_addr);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		assert_int_equal(errno, EINPROGRESS);
	if (poll(&p, 1, 300) == 1)
		getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len);
	else
		e = ETIMEDOUT;
	close(s);
	return e == 0;
}

/* The port only through the named interface: loopback (any other) is dropped. */
static void test_tunnel_port_only(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9123) };
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	(void)state;
	assert_true(l >= 0);
	assert_int_equal(omt_rtnl_link_up(if_nametoindex("lo")), 0);
	ip4("127.0.0.1", (uint8_t *)&a.sin_addr);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 8), 0);
	assert_int_equal(tcp_connects(9123), 1);
	assert_int_equal(omt_nft_add_tunnel_port_only("omtswarm", "omts1", 9123), 0);
	assert_string_equal(nft_list("inet", "omtswarm"), port_only_text);
	assert_int_equal(omt_nft_add_tunnel_port_only("omtswarm", "omts1", 9123), -EEXIST);
	assert_int_equal(tcp_connects(9123), 0);
	assert_int_equal(omt_nft_del_table(NFPROTO_INET, "omtswarm"), 0);
	assert_int_equal(tcp_connects(9123), 1);
	assert_int_equal(omt_nft_add_tunnel_port_only("omtswarm", "omt-name-too-long0", 1), -EINVAL);
	assert_string_equal(nft_list("inet", "omtswarm"), "");
	close(l);
}

struct names {
	char v[8][64];
	int n;
};

static void collect(const char *name, void *arg)
{
	struct names *l = arg;

	assert_true(l->n < 8);
	snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", name);
}

static int has_name(const struct names *l, const char *name)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], name))
			return 1;
	return 0;
}

static void test_list_tables(void **state)
{
	static const char *const ip_tables[] = { "omtvm1", "omtvm2", "omtvm", "other1" };
	struct names l = { .n = 0 };
	uint8_t a[4];
	size_t i;

	(void)state;
	ip4("10.0.0.2", a);
	for (i = 0; i < sizeof(ip_tables) / sizeof(ip_tables[0]); i++)
		assert_int_equal(omt_nft_add_masquerade(ip_tables[i], a, a, 1), 0);
	assert_int_equal(omt_nft_add_egress_only("omtvm3", "eth0", a, 1), 0);

	assert_int_equal(omt_nft_list_tables(NFPROTO_IPV4, "omtvm", collect, &l), 0);
	assert_int_equal(l.n, 3);
	assert_true(has_name(&l, "omtvm1") && has_name(&l, "omtvm2") && has_name(&l, "omtvm"));

	l.n = 0;
	assert_int_equal(omt_nft_list_tables(NFPROTO_IPV4, "omtvm1", collect, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "omtvm1");

	l.n = 0;
	assert_int_equal(omt_nft_list_tables(NFPROTO_INET, "omtvm", collect, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "omtvm3");

	l.n = 0;
	assert_int_equal(omt_nft_list_tables(NFPROTO_IPV4, "nope", collect, &l), 0);
	assert_int_equal(l.n, 0);

	/* The crash clean-up: delete from within the callback. */
	assert_int_equal(omt_nft_list_tables(NFPROTO_IPV4, "omt", del_ip_table, NULL), 0);
	l.n = 0;
	assert_int_equal(omt_nft_list_tables(NFPROTO_IPV4, "", collect, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "other1");
}

/* Counts UDP/IPv4 frames to dport that the kernel sent out of a tap. */
static int udp_frames(int fd, uint16_t dport)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t f[2048];
	int n = 0;
	ssize_t len;

	while (poll(&p, 1, 200) == 1) {
		size_t ihl;

		len = read(fd, f, sizeof(f));
		if (len < 14 + 20 + 8 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != IPPROTO_UDP)
			continue;
		ihl = (f[14] & 0x0f) * 4;
		if ((size_t)len >= 14 + ihl + 8 && (f[14 + ihl + 2] << 8 | f[14 + ihl + 3]) == dport)
			n++;
	}
	return n;
}

static ssize_t send_udp(int s, const char *ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	ip4(ip, (uint8_t *)&a.sin_addr);
	return sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a));
}

static void test_egress_only_drops(void **state)
{
	unsigned int guarded = tap_open("omt1", 1), other = tap_open("omt2", 1);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint8_t ip[4];

	(void)state;
	assert_true(s >= 0);
	ip4("10.3.0.1", ip);
	assert_int_equal(omt_rtnl_addr_add4(guarded, ip, 24), 0);
	ip4("10.4.0.1", ip);
	assert_int_equal(omt_rtnl_addr_add4(other, ip, 24), 0);
	assert_int_equal(omt_rtnl_link_up(guarded), 0);
	assert_int_equal(omt_rtnl_link_up(other), 0);
	ip4("10.3.0.2", ip);
	assert_int_equal(omt_nft_add_egress_only("omtguest", "omt1", ip, 51820), 0);

	assert_int_equal(send_udp(s, "10.3.0.2", 51820), 1);
	assert_int_equal(udp_frames(taps[0], 51820), 1);
	errno = 0;
	assert_int_equal(send_udp(s, "10.3.0.2", 51821), -1);
	assert_int_equal(errno, EPERM);
	errno = 0;
	assert_int_equal(send_udp(s, "10.3.0.3", 51820), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(udp_frames(taps[0], 51821), 0);
	/* Other links are not the rule's business. */
	assert_int_equal(send_udp(s, "10.4.0.2", 9), 1);
	assert_int_equal(udp_frames(taps[1], 9), 1);

	assert_int_equal(omt_nft_del_table(NFPROTO_INET, "omtguest"), 0);
	assert_int_equal(send_udp(s, "10.3.0.2", 51821), 1);
	assert_int_equal(udp_frames(taps[0], 51821), 1);
	close(s);
}

/* nl/genl: the controller names itself; an unknown family is "not supported". */
static void test_genl_family(void **state)
{
	struct mnl_socket *nl = omt_nl_open(NETLINK_GENERIC);
	uint16_t id = 1;

	(void)state;
	assert_non_null(nl);
	assert_int_equal(omt_genl_family(nl, "nlctrl", 7, &id), 0);
	assert_int_equal(id, GENL_ID_CTRL);
	assert_int_equal(omt_genl_family(nl, "omt-no-such", 8, &id), -EPROTONOSUPPORT);
	assert_int_equal(id, 0);
	assert_int_equal(omt_genl_family(nl, "a-name-longer-than-GENL_NAMSIZ", 9, &id), -EINVAL);
	mnl_socket_close(nl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_link_up_mtu, reset),
		cmocka_unit_test_teardown(test_link_add_del, reset),
		cmocka_unit_test_teardown(test_addr, reset),
		cmocka_unit_test_teardown(test_addrs_dump, reset),
		cmocka_unit_test_teardown(test_route, reset),
		cmocka_unit_test_teardown(test_masquerade, reset),
		cmocka_unit_test_teardown(test_egress_only_rules, reset),
		cmocka_unit_test_teardown(test_tunnel_port_only, reset),
		cmocka_unit_test_teardown(test_list_tables, reset),
		cmocka_unit_test_teardown(test_egress_only_drops, reset),
		cmocka_unit_test(test_genl_family),
	};

	return cmocka_run_group_tests_name("nl", tests, enter_netns, NULL);
}
