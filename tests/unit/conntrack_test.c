// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * nl/conntrack against the real kernel, in a fresh network namespace of its
 * own (needs root). Entries are made by sending datagrams between loopback
 * addresses while an nft table that uses conntrack exists: on loopback the
 * entry is confirmed before sendto() returns, so nothing waits. They are
 * read back from /proc/net/nf_conntrack, which shows this namespace's table.
 */
#include <errno.h>
#include <net/if.h>
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
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>

#include "../../nl/conntrack.h"
#include "../../nl/nft.h"
#include "../../nl/rtnl.h"

#define PORT 5555

static const char track_rules[] =
	"table ip omtct {\n"
	"\tchain out {\n"
	"\t\ttype filter hook output priority 0;\n"
	"\t\tct state new counter\n"
	"\t}\n"
	"}\n";

static void ip4(const char *s, uint8_t out[4])
{
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static int flush(const char *ip)
{
	uint8_t a[4];

	ip4(ip, a);
	return omt_conntrack_flush_addr4(a);
}

static void nft(const char *rules)
{
	FILE *p = popen("nft -f -", "w");

	assert_non_null(p);
	fputs(rules, p);
	assert_int_equal(pclose(p), 0);
}

/* Entries whose original tuple is src -> dst (NULL matches any) and whose
 * line contains extra (if not NULL). */
static int ct_count(const char *src, const char *dst, const char *extra)
{
	char line[512], want[64];
	int n = 0;
	FILE *f = fopen("/proc/net/nf_conntrack", "r");

	if (!f)
		skip();	/* CONFIG_NF_CONNTRACK_PROCFS=n */
	while (fgets(line, sizeof(line), f)) {
		const char *s = strstr(line, " src="), *d = strstr(line, " dst=");

		if (!s || !d || strncmp(line, "ipv4 ", 5))
			continue;
		if (src && (snprintf(want, sizeof(want), " src=%s ", src), strncmp(s, want, strlen(want))))
			continue;
		if (dst && (snprintf(want, sizeof(want), " dst=%s ", dst), strncmp(d, want, strlen(want))))
			continue;
		if (extra && !strstr(line, extra))
			continue;
		n++;
	}
	fclose(f);
	return n;
}

static int udp_socket(const char *src)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	ip4(src, (uint8_t *)&a.sin_addr);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	return s;
}

static void udp_send(int s, const char *dst, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	ip4(dst, (uint8_t *)&a.sin_addr);
	assert_int_equal(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)), 1);
}

static void udp_flow(const char *src, const char *dst, uint16_t port)
{
	int s = udp_socket(src);

	udp_send(s, dst, port);
	close(s);
}

/* The whole table, through a delete without a tuple (not the code under test). */
static void ct_flush_all(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	int ret;

	assert_non_null(nl);
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
	assert_true(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) > 0);
	ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	assert_true(ret > 0);
	assert_true(mnl_cb_run(buf, ret, 1, mnl_socket_get_portid(nl), NULL, NULL) >= 0);
	mnl_socket_close(nl);
}

static void del_ip_table(const char *name, void *arg)
{
	(void)arg;
	omt_nft_del_table(NFPROTO_IPV4, name);
}

static int enter_netns(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "conntrack_test: unshare(CLONE_NEWNET): %s (run as root)\n",
			strerror(errno));
		return -1;
	}
	if (omt_rtnl_link_up(if_nametoindex("lo"))) {
		fprintf(stderr, "conntrack_test: cannot bring lo up\n");
		return -1;
	}
	return 0;
}

static int reset(void **state)
{
	(void)state;
	omt_nft_list_tables(NFPROTO_IPV4, "", del_ip_table, NULL);
	ct_flush_all();
	return 0;
}

/* First test: nothing in this namespace has used conntrack yet. */
static void test_never_used(void **state)
{
	(void)state;
	assert_int_equal(ct_count(NULL, NULL, NULL), 0);
	assert_int_equal(flush("127.0.0.2"), 0);
}

static void test_flush_keeps_other_flow(void **state)
{
	(void)state;
	nft(track_rules);
	udp_flow("127.0.0.1", "127.0.0.2", PORT);
	udp_flow("127.0.0.3", "127.0.0.4", PORT);
	assert_int_equal(ct_count("127.0.0.1", "127.0.0.2", "udp"), 1);
	assert_int_equal(ct_count("127.0.0.3", "127.0.0.4", "udp"), 1);

	assert_int_equal(flush("127.0.0.2"), 1);
	assert_int_equal(ct_count("127.0.0.1", "127.0.0.2", NULL), 0);
	assert_int_equal(ct_count("127.0.0.3", "127.0.0.4", "udp"), 1);
	assert_int_equal(flush("127.0.0.2"), 0);
	assert_int_equal(flush("10.213.7.2"), 0);

	/* As source, too. */
	assert_int_equal(flush("127.0.0.3"), 1);
	assert_int_equal(ct_count(NULL, NULL, NULL), 0);
}

/* More than one batch: the dump is repeated until nothing is left. */
static void test_many_entries(void **state)
{
	int s, i;

	(void)state;
	nft(track_rules);
	s = udp_socket("127.0.0.1");
	for (i = 0; i < 700; i++)
		udp_send(s, "127.0.0.2", 20000 + i);
	close(s);
	udp_flow("127.0.0.1", "127.0.0.4", PORT);
	assert_int_equal(ct_count("127.0.0.1", "127.0.0.2", NULL), 700);

	assert_int_equal(flush("127.0.0.2"), 700);
	assert_int_equal(ct_count("127.0.0.1", "127.0.0.2", NULL), 0);
	assert_int_equal(ct_count("127.0.0.1", "127.0.0.4", NULL), 1);
}

/* The real case: the VM's address is the original source, the reply tuple
 * holds the translated one, which is not what we match on. */
static void test_nat(void **state)
{
	(void)state;
	nft("table ip omtnat {\n"
	    "\tchain post {\n"
	    "\t\ttype nat hook postrouting priority srcnat;\n"
	    "\t\tip daddr 127.0.0.6 snat to 127.0.0.7\n"
	    "\t}\n"
	    "}\n");
	udp_flow("127.0.0.5", "127.0.0.6", PORT);
	assert_int_equal(ct_count("127.0.0.5", "127.0.0.6", "src=127.0.0.6 dst=127.0.0.7 "), 1);

	assert_int_equal(flush("127.0.0.7"), 0);
	assert_int_equal(ct_count("127.0.0.5", "127.0.0.6", NULL), 1);
	assert_int_equal(flush("127.0.0.5"), 1);
	assert_int_equal(ct_count("127.0.0.5", "127.0.0.6", NULL), 0);
}

/* Without CTA_ZONE the delete would look in zone 0 and miss it. */
static void test_zone(void **state)
{
	(void)state;
	nft("table ip omtzone {\n"
	    "\tchain raw {\n"
	    "\t\ttype filter hook output priority raw;\n"
	    "\t\tip daddr 127.0.0.9 ct zone set 5\n"
	    "\t}\n"
	    "}\n");
	nft(track_rules);
	udp_flow("127.0.0.1", "127.0.0.9", PORT);
	assert_int_equal(ct_count("127.0.0.1", "127.0.0.9", "zone=5 "), 1);

	assert_int_equal(flush("127.0.0.9"), 1);
	assert_int_equal(ct_count("127.0.0.1", "127.0.0.9", NULL), 0);
}

static uint16_t csum(const void *p, size_t len)
{
	const uint16_t *w = p;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	sum = (sum & 0xffff) + (sum >> 16);
	sum += sum >> 16;
	return ~sum;
}

/* Tuples without ports are sent back whole (id, type, code). */
static void test_icmp(void **state)
{
	struct icmphdr h = { .type = ICMP_ECHO, .un.echo.id = htons(77) };
	struct sockaddr_in a = { .sin_family = AF_INET };
	int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);

	(void)state;
	assert_true(s >= 0);
	nft(track_rules);
	h.checksum = csum(&h, sizeof(h));
	ip4("127.0.0.8", (uint8_t *)&a.sin_addr);
	assert_int_equal(sendto(s, &h, sizeof(h), 0, (struct sockaddr *)&a, sizeof(a)),
			 sizeof(h));
	close(s);
	assert_int_equal(ct_count(NULL, "127.0.0.8", "icmp"), 1);

	assert_int_equal(flush("127.0.0.8"), 1);
	assert_int_equal(ct_count(NULL, "127.0.0.8", NULL), 0);
}

/* ctnetlink wants CAP_NET_ADMIN; a child that gave up root gets -EPERM. */
static void test_no_permission(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	nft(track_rules);
	udp_flow("127.0.0.1", "127.0.0.2", PORT);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ret;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(255);
		ret = flush("127.0.0.2");
		_exit(ret < 0 ? -ret : 254);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), EPERM);
	assert_int_equal(ct_count("127.0.0.1", "127.0.0.2", NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_never_used, reset),
		cmocka_unit_test_teardown(test_flush_keeps_other_flow, reset),
		cmocka_unit_test_teardown(test_many_entries, reset),
		cmocka_unit_test_teardown(test_nat, reset),
		cmocka_unit_test_teardown(test_zone, reset),
		cmocka_unit_test_teardown(test_icmp, reset),
		cmocka_unit_test_teardown(test_no_permission, reset),
	};

	return cmocka_run_group_tests_name("conntrack", tests, enter_netns, NULL);
}
