// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * vpn/wg_uapi and vpn/wg against a real wireguard-go (needs root). The binary
 * first moves into a fresh network namespace of its own ("home") and makes
 * two more, A and B, joined by a veth (10.203.0.1 = 10.203.0.2). The
 * namespaces are anonymous, held only by our file descriptors: they go away
 * with the process however it ends, and wireguard-go with them
 * (PR_SET_PDEATHSIG). What could outlive us, the UAPI sockets in
 * /var/run/wireguard (not namespaced), carry the omtw prefix and our pid and
 * are removed by the teardowns and at exit. `wg show` (wireguard-tools, over
 * the same socket) is the independent reading of what we configured.
 * A fake UAPI server checks that the answers are parsed strictly.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../nl/rtnl.h"
#include "../../vpn/wg.h"
#include "../../vpn/wg_uapi.h"

#define TUN_PORT 7000
#define N_DEVS 3

struct test_dev {
	struct omt_wg_dev d;
	int ns;
};

static int ns_home = -1, ns_a = -1, ns_b = -1;
static unsigned int id;
static char veth_a[IFNAMSIZ], veth_b[IFNAMSIZ];
static char wg_a[IFNAMSIZ], wg_b[IFNAMSIZ], wg_c[IFNAMSIZ];
static char missing[IFNAMSIZ], fake[IFNAMSIZ], stale[IFNAMSIZ];
static struct test_dev devs[N_DEVS];	/* A, B, C */
static pid_t raw_pid = -1;		/* from omt_wg_go_start, named wg_c */
static int fake_listener = -1;
static pid_t fake_pid = -1;
static int udp_fds[4] = { -1, -1, -1, -1 };

static void enter(int ns)
{
	assert_int_equal(setns(ns, CLONE_NEWNET), 0);
}

static void sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

/* First line of a command's output. */
static const char *out(const char *fmt, ...)
{
	static char buf[512];
	char cmd[256];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (!fgets(buf, sizeof(buf), p))
		buf[0] = '\0';
	assert_int_equal(pclose(p), 0);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static const char *b64(const uint8_t key[OMT_WG_KEY_LEN])
{
	static char s[sodium_base64_ENCODED_LEN(OMT_WG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];

	return sodium_bin2base64(s, sizeof(s), key, OMT_WG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

static void ip4(const char *s, uint8_t out[4])
{
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static void sock_path(const char *name, char *path, size_t size)
{
	snprintf(path, size, OMT_WG_UAPI_DIR "/%s.sock", name);
}

static int sock_exists(const char *name)
{
	char path[108];

	sock_path(name, path, sizeof(path));
	return access(path, F_OK) == 0;
}

static void conf(struct omt_wgconf *c, const uint8_t priv[32], const uint8_t peer[32],
		 const uint8_t psk[32], const char *ep, uint16_t ep_port, uint16_t keepalive)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->private_key, priv, 32);
	memcpy(c->peer_public_key, peer, 32);
	if (psk) {
		memcpy(c->preshared_key, psk, 32);
		c->has_preshared_key = 1;
	}
	if (ep) {
		ip4(ep, c->endpoint_ip);
		c->endpoint_port = ep_port;
	}
	ip4("10.204.0.0", c->allowed_ips[0].ip);
	c->allowed_ips[0].prefix = 24;
	c->n_allowed_ips = 1;
	c->persistent_keepalive = keepalive;
}

/*
 * The omt_wg_* calls on dev i, from its namespace: the kernel backend, where
 * there is one, is namespaced; wireguard-go's socket is not.
 */
static int apply(int i, const struct omt_wgconf *c)
{
	int err;

	enter(devs[i].ns);
	err = omt_wg_apply(&devs[i].d, c);
	enter(ns_home);
	return err;
}

static struct omt_wg_peer_state state_of(int i)
{
	struct omt_wg_peer_state st;

	enter(devs[i].ns);
	assert_int_equal(omt_wg_peer_state(&devs[i].d, &st), 0);
	enter(ns_home);
	return st;
}

static uint16_t port_of(int i)
{
	uint16_t port;

	enter(devs[i].ns);
	assert_int_equal(omt_wg_listen_port(&devs[i].d, &port), 0);
	enter(ns_home);
	return port;
}

/* Brings up dev i in ns and applies c; leaves the link down. */
static void dev_up(int i, int ns, const char *name, const struct omt_wgconf *c)
{
	enter(ns);
	devs[i].ns = ns;
	assert_int_equal(omt_wg_up(name, &devs[i].d), 0);
	enter(ns_home);
	if (c)
		assert_int_equal(apply(i, c), 0);
}

static void link_addr_up(int ns, const char *name, const char *addr)
{
	uint8_t ip[4];
	unsigned int ifindex;

	enter(ns);
	ifindex = if_nametoindex(name);
	assert_true(ifindex > 0);
	ip4(addr, ip);
	assert_int_equal(omt_rtnl_addr_add4(ifindex, ip, 24), 0);
	assert_int_equal(omt_rtnl_link_up(ifindex), 0);
	enter(ns_home);
}

static int udp_open(int ns, const char *addr, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, i;

	enter(ns);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	enter(ns_home);
	assert_true(fd >= 0);
	for (i = 0; i < 4 && udp_fds[i] >= 0; i++)
		;
	assert_true(i < 4);
	udp_fds[i] = fd;
	if (addr) {
		ip4(addr, (uint8_t *)&sin.sin_addr);
		assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	}
	return fd;
}

static void udp_send(int fd, const char *addr, uint16_t port, size_t len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	char buf[1024] = "omerta";

	assert_true(len <= sizeof(buf));
	ip4(addr, (uint8_t *)&sin.sin_addr);
	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin)), (ssize_t)len);
}

/* Length of a datagram received within ms, or -1; from (if any) gets its source. */
static ssize_t udp_recv(int fd, int ms, struct sockaddr_in *from)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t fl = sizeof(*from);
	char buf[2048];

	if (poll(&p, 1, ms) != 1)
		return -1;
	return recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)from, from ? &fl : NULL);
}

/*
 * A to B through the tunnel, retried: the first datagrams wait for the
 * handshake. 1 if one arrived within ~tries * 200 ms.
 */
static int tunnel_send(int sa, int sb, int tries, struct sockaddr_in *from)
{
	int i;

	for (i = 0; i < tries; i++) {
		udp_send(sa, "10.204.0.2", TUN_PORT, 6);
		if (udp_recv(sb, 200, from) == 6)
			return 1;
	}
	return 0;
}

static void keypair(uint8_t priv[32], uint8_t pub[32])
{
	/* X25519, as WireGuard; the scalar is clamped by both. */
	assert_int_equal(crypto_box_keypair(pub, priv), 0);
}

static void stop_fake(void)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGKILL);
		waitpid(fake_pid, NULL, 0);
		fake_pid = -1;
	}
}

static void cleanup(void)
{
	char path[108];
	int i;

	if (ns_home >= 0 && setns(ns_home, CLONE_NEWNET))
		return;
	for (i = 0; i < N_DEVS; i++) {
		if (devs[i].d.ifname[0] && devs[i].ns >= 0 && setns(devs[i].ns, CLONE_NEWNET) == 0)
			omt_wg_down(&devs[i].d);
		setns(ns_home, CLONE_NEWNET);
	}
	if (raw_pid > 0) {
		omt_wg_go_stop(wg_c, raw_pid);
		raw_pid = -1;
	}
	for (i = 0; i < 4; i++) {
		if (udp_fds[i] >= 0)
			close(udp_fds[i]);
		udp_fds[i] = -1;
	}
	stop_fake();
	if (fake_listener >= 0)
		close(fake_listener);
	fake_listener = -1;
	sock_path(fake, path, sizeof(path));
	unlink(path);
	sock_path(stale, path, sizeof(path));
	unlink(path);
}

static int reset(void **state)
{
	(void)state;
	cleanup();
	return 0;
}

static int setup(void **state)
{
	char path[64];
	unsigned int ifindex;
	uint8_t ip[4];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	id = getpid() & 0xffff;
	snprintf(veth_a, sizeof(veth_a), "omtwva%04x", id);
	snprintf(veth_b, sizeof(veth_b), "omtwvb%04x", id);
	snprintf(wg_a, sizeof(wg_a), "omtwa%04x", id);
	snprintf(wg_b, sizeof(wg_b), "omtwb%04x", id);
	snprintf(wg_c, sizeof(wg_c), "omtwc%04x", id);
	snprintf(missing, sizeof(missing), "omtwm%04x", id);
	snprintf(fake, sizeof(fake), "omtwf%04x", id);
	snprintf(stale, sizeof(stale), "omtws%04x", id);
	atexit(cleanup);
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "wg_uapi_test: unshare(CLONE_NEWNET): %s (run as root)\n",
			strerror(errno));
		return -1;
	}
	ns_home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_home < 0 || unshare(CLONE_NEWNET))
		return -1;
	ns_a = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_a < 0 || unshare(CLONE_NEWNET))
		return -1;
	/* Not O_CLOEXEC: `ip` names it as /proc/PID/fd/N. */
	ns_b = open("/proc/self/ns/net", O_RDONLY);
	if (ns_b < 0 || setns(ns_a, CLONE_NEWNET))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", getpid(), ns_b);
	sh("ip link add %s type veth peer name %s netns %s", veth_a, veth_b, path);
	ifindex = if_nametoindex(veth_a);
	ip4("10.203.0.1", ip);
	assert_int_equal(omt_rtnl_addr_add4(ifindex, ip, 24), 0);
	assert_int_equal(omt_rtnl_link_up(ifindex), 0);
	enter(ns_b);
	ifindex = if_nametoindex(veth_b);
	ip4("10.203.0.2", ip);
	assert_int_equal(omt_rtnl_addr_add4(ifindex, ip, 24), 0);
	assert_int_equal(omt_rtnl_link_up(ifindex), 0);
	enter(ns_home);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cleanup();
	close(ns_a);
	close(ns_b);
	return 0;
}

static void test_bad_names(void **state)
{
	struct omt_wg_peer_state st;
	struct omt_wg_dev none = { 0 };
	struct omt_wgconf c;
	uint8_t k[32] = { 1 };
	uint16_t port = 1;
	pid_t pid;
	int fd;

	(void)state;
	conf(&c, k, k, NULL, NULL, 0, 0);
	assert_int_equal(omt_wg_uapi_apply("", &c), -EINVAL);
	assert_int_equal(omt_wg_uapi_apply("omtw-much-too-long", &c), -EINVAL);
	assert_int_equal(omt_wg_uapi_peer_state("omt/../x", &st), -EINVAL);
	assert_int_equal(omt_wg_go_start("", &pid), -EINVAL);
	assert_int_equal(omt_wg_up("omtw-much-too-long", &none), -EINVAL);
	assert_int_equal(omt_wg_apply(&none, &c), -ENODEV);

	{
		char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");

		assert_non_null(path);
		setenv("PATH", "/nonexistent", 1);
		enter(ns_a);
		assert_int_equal(omt_wg_go_start(missing, &pid), -ENOENT);
		assert_int_equal(pid, -1);
		enter(ns_home);
		setenv("PATH", path, 1);
		free(path);
	}
	assert_int_equal(omt_wg_uapi_apply(missing, &c), -ENOENT);
	assert_int_equal(omt_wg_uapi_peer_state(missing, &st), -ENOENT);
	assert_int_equal(omt_wg_uapi_listen_port(missing, &port), -ENOENT);
	assert_int_equal(port, 0);

	/* A socket file nobody listens on: left by a killed wireguard-go. */
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		mkdir(OMT_WG_UAPI_DIR, 0755);
		sock_path(stale, sun.sun_path, sizeof(sun.sun_path));
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(fd >= 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		close(fd);
		assert_true(sock_exists(stale));
		assert_int_equal(omt_wg_uapi_peer_state(stale, &st), -ENOENT);
		omt_wg_go_stop(stale, -1);
		assert_false(sock_exists(stale));
	}
}

static void test_start_stop(void **state)
{
	struct omt_wg_peer_state st;
	uint16_t port;
	pid_t pid = 0;
	int i;

	(void)state;
	enter(ns_a);
	assert_int_equal(omt_wg_go_start(wg_c, &raw_pid), 0);
	assert_true(raw_pid > 0);
	assert_true(if_nametoindex(wg_c) > 0);
	enter(ns_b);
	assert_int_equal(if_nametoindex(wg_c), 0);
	/* The socket is not namespaced: the name is taken everywhere. */
	assert_int_equal(omt_wg_go_start(wg_c, &pid), -EADDRINUSE);
	assert_int_equal(pid, -1);
	assert_int_equal(if_nametoindex(wg_c), 0);
	enter(ns_home);
	assert_true(sock_exists(wg_c));
	assert_int_equal(omt_wg_uapi_peer_state(wg_c, &st), -ENOENT);
	assert_int_equal(omt_wg_uapi_listen_port(wg_c, &port), 0);

	omt_wg_go_stop(wg_c, raw_pid);
	errno = 0;
	assert_int_equal(waitpid(raw_pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	raw_pid = -1;
	assert_false(sock_exists(wg_c));
	enter(ns_a);
	for (i = 0; i < 100 && if_nametoindex(wg_c); i++)
		usleep(20000);
	assert_int_equal(if_nametoindex(wg_c), 0);
	enter(ns_home);
	assert_int_equal(omt_wg_uapi_peer_state(wg_c, &st), -ENOENT);
}

static const char *port_str(uint16_t port)
{
	static char s[8];

	snprintf(s, sizeof(s), "%u", port);
	return s;
}

static void test_tunnel(void **state)
{
	uint8_t ka[32], pa[32], kb[32], pb[32], psk[32], other[32], junk[32];
	struct omt_wg_peer_state sa1, sb1, sa2, sb2;
	struct sockaddr_in from;
	struct omt_wgconf c;
	uint16_t port_a, port_b;
	char expect[128];
	int fa, fb, i;

	(void)state;
	keypair(ka, pa);
	keypair(kb, pb);
	randombytes_buf(psk, sizeof(psk));

	/* B listens on a port of its choice; A is told it. */
	conf(&c, kb, pa, psk, NULL, 0, 0);
	dev_up(1, ns_b, wg_b, &c);
	link_addr_up(ns_b, wg_b, "10.204.0.2");
	port_b = port_of(1);
	assert_int_not_equal(port_b, 0);
	assert_string_equal(out("wg show %s listen-port", wg_b), port_str(port_b));
	sb1 = state_of(1);
	assert_int_equal(sb1.last_handshake_sec, 0);
	assert_int_equal(sb1.rx_bytes, 0);
	assert_int_equal(sb1.tx_bytes, 0);
	snprintf(expect, sizeof(expect), "%s\t(none)", b64(pa));
	assert_string_equal(out("wg show %s endpoints", wg_b), expect);

	/* A's keepalive starts a handshake as soon as its link is up. */
	conf(&c, ka, pb, psk, "10.203.0.2", port_b, 25);
	dev_up(0, ns_a, wg_a, &c);
	link_addr_up(ns_a, wg_a, "10.204.0.1");
	print_message("backend: %s\n", devs[0].d.userspace ? "wireguard-go" : "kernel");

	/* What wg reads back. */
	assert_string_equal(out("wg show %s public-key", wg_a), b64(pa));
	assert_string_equal(out("wg show %s peers", wg_a), b64(pb));
	snprintf(expect, sizeof(expect), "%s\t10.203.0.2:%u", b64(pb), port_b);
	assert_string_equal(out("wg show %s endpoints", wg_a), expect);
	snprintf(expect, sizeof(expect), "%s\t10.204.0.0/24", b64(pb));
	assert_string_equal(out("wg show %s allowed-ips", wg_a), expect);
	snprintf(expect, sizeof(expect), "%s\t25", b64(pb));
	assert_string_equal(out("wg show %s persistent-keepalive", wg_a), expect);
	snprintf(expect, sizeof(expect), "%s\t", b64(pb));
	strcat(expect, b64(psk));
	assert_string_equal(out("wg show %s preshared-keys", wg_a), expect);

	fb = udp_open(ns_b, "10.204.0.2", TUN_PORT);
	fa = udp_open(ns_a, "10.204.0.1", 0);
	assert_true(tunnel_send(fa, fb, 50, &from));
	assert_int_equal(from.sin_addr.s_addr, inet_addr("10.204.0.1"));
	assert_int_equal(sendto(fb, "pong", 4, 0, (struct sockaddr *)&from, sizeof(from)), 4);
	assert_int_equal(udp_recv(fa, 5000, NULL), 4);

	sa1 = state_of(0);
	sb1 = state_of(1);
	assert_true(sa1.last_handshake_sec > 0);
	assert_true(sb1.last_handshake_sec > 0);
	assert_true(sa1.tx_bytes > 0 && sa1.rx_bytes > 0);
	assert_true(sb1.tx_bytes > 0 && sb1.rx_bytes > 0);
	assert_string_not_equal(out("wg show %s latest-handshakes", wg_a), "");
	/* A's listen_port was 0 too: B saw the port it picked. */
	port_a = port_of(0);
	assert_int_not_equal(port_a, 0);
	snprintf(expect, sizeof(expect), "%s\t10.203.0.1:%u", b64(pa), port_a);
	assert_string_equal(out("wg show %s endpoints", wg_b), expect);

	for (i = 0; i < 20; i++)
		udp_send(fa, "10.204.0.2", TUN_PORT, 1000);
	for (i = 0; i < 20; i++)
		assert_int_equal(udp_recv(fb, 5000, NULL), 1000);
	sa2 = state_of(0);
	sb2 = state_of(1);
	assert_true(sa2.tx_bytes >= sa1.tx_bytes + 20 * 1000);
	assert_true(sb2.rx_bytes >= sb1.rx_bytes + 20 * 1000);

	/* Applying again replaces the peer, and with it its state. */
	keypair(junk, other);
	conf(&c, ka, other, NULL, NULL, 0, 0);
	c.listen_port = port_a;
	assert_int_equal(apply(0, &c), 0);
	assert_string_equal(out("wg show %s peers", wg_a), b64(other));
	assert_string_equal(out("wg show %s listen-port", wg_a), port_str(port_a));
	snprintf(expect, sizeof(expect), "%s\t(none)", b64(other));
	assert_string_equal(out("wg show %s endpoints", wg_a), expect);
	assert_string_equal(out("wg show %s preshared-keys", wg_a),
			    (snprintf(expect, sizeof(expect), "%s\t(none)", b64(other)), expect));
	sa2 = state_of(0);
	assert_int_equal(sa2.last_handshake_sec, 0);
	assert_int_equal(sa2.rx_bytes, 0);

	enter(ns_a);
	omt_wg_down(&devs[0].d);
	enter(ns_home);
	assert_false(sock_exists(wg_a));
	assert_int_equal(omt_wg_uapi_peer_state(wg_a, &sa2), -ENOENT);
}

static void test_wrong_key(void **state)
{
	uint8_t ka[32], pa[32], kb[32], pb[32], kx[32], px[32];
	struct omt_wg_peer_state sa, sb;
	struct omt_wgconf c;
	int fa, fb;

	(void)state;
	keypair(ka, pa);
	keypair(kb, pb);
	keypair(kx, px);
	conf(&c, kb, pa, NULL, NULL, 0, 0);
	dev_up(1, ns_b, wg_b, &c);
	link_addr_up(ns_b, wg_b, "10.204.0.2");
	/* A takes px for B's key: B cannot read A's initiations. */
	conf(&c, ka, px, NULL, "10.203.0.2", port_of(1), 1);
	dev_up(0, ns_a, wg_a, &c);
	link_addr_up(ns_a, wg_a, "10.204.0.1");

	fb = udp_open(ns_b, "10.204.0.2", TUN_PORT);
	fa = udp_open(ns_a, "10.204.0.1", 0);
	assert_false(tunnel_send(fa, fb, 15, NULL));
	sa = state_of(0);
	sb = state_of(1);
	assert_int_equal(sa.last_handshake_sec, 0);
	assert_int_equal(sa.rx_bytes, 0);
	assert_int_equal(sb.last_handshake_sec, 0);
	assert_int_equal(sb.rx_bytes, 0);
	assert_int_equal(sb.tx_bytes, 0);
}

static void test_errors_from_wireguard_go(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct omt_wg_peer_state st;
	struct omt_wg_dev twin;
	uint8_t k[32], p[32];
	struct omt_wgconf c;
	int fd;

	(void)state;
	keypair(k, p);
	dev_up(2, ns_b, wg_c, NULL);
	enter(ns_b);
	assert_int_equal(omt_wg_peer_state(&devs[2].d, &st), -ENOENT);
	/* The name is taken: here by the link, elsewhere by wireguard-go's socket. */
	assert_int_equal(omt_wg_up(wg_c, &twin), -EEXIST);
	assert_int_equal(twin.ifname[0], '\0');
	omt_wg_down(&twin);
	enter(ns_a);
	if (devs[2].d.userspace) {
		assert_int_equal(omt_wg_up(wg_c, &twin), -EADDRINUSE);
		assert_int_equal(if_nametoindex(wg_c), 0);
	}
	enter(ns_home);
	/* A port taken in B's namespace. */
	fd = udp_open(ns_b, "0.0.0.0", 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	conf(&c, k, p, NULL, NULL, 0, 0);
	c.listen_port = ntohs(sin.sin_port);
	assert_int_equal(apply(2, &c), -EADDRINUSE);
	c.listen_port = 0;
	assert_int_equal(apply(2, &c), 0);
	assert_int_not_equal(port_of(2), 0);
	/* Refused before anything is sent. */
	c.allowed_ips[0].prefix = 33;
	assert_int_equal(apply(2, &c), -EINVAL);
	c.allowed_ips[0].prefix = 24;
	c.n_allowed_ips = OMT_WG_MAX_ALLOWED_IPS + 1;
	assert_int_equal(apply(2, &c), -EINVAL);
}

/* Serves one connection on the fake socket: reads a request, writes reply
 * (len bytes; key=value lines forever when reply is NULL), closes. */
static void fake_serve(const char *reply, size_t len)
{
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	int fd;

	stop_fake();
	fake_pid = fork();
	assert_true(fake_pid >= 0);
	if (fake_pid)
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = accept(fake_listener, NULL, NULL);
	if (fd < 0)
		_exit(1);
	while (n < 2 || memcmp(buf + n - 2, "\n\n", 2)) {
		r = read(fd, buf + n, sizeof(buf) - n);
		if (r <= 0 || (n += r) == sizeof(buf))
			_exit(1);
	}
	if (reply) {
		if (write(fd, reply, len) != (ssize_t)len)
			_exit(1);
	} else {
		while (write(fd, "x=y\n", 4) == 4)
			;
	}
	_exit(0);
}

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int fake_get(const char *reply, size_t len, struct omt_wg_peer_state *st)
{
	fake_serve(reply, len);
	return omt_wg_uapi_peer_state(fake, st);
}

/* A port of our choosing, set at once: never 0, whenever the device binds it. */
static void test_listen(void **state)
{
	uint8_t k[32], p[32];
	uint16_t port;

	(void)state;
	keypair(k, p);
	dev_up(2, ns_b, wg_c, NULL);
	enter(ns_b);
	assert_int_equal(omt_wg_listen(&devs[2].d, k, &port), 0);
	enter(ns_home);
	assert_int_not_equal(port, 0);
	assert_int_equal(port_of(2), port);
	link_addr_up(ns_b, wg_c, "10.204.0.1");
	assert_int_equal(port_of(2), port);
}

/* Peers added one by one beside each other, one replaced, one removed: `wg show` reads them. */
static void test_peers_add_remove(void **state)
{
	uint8_t k[32], p[32], pa[32], pb[32], x[32];
	uint16_t port;
	char want[200];

	(void)state;
	keypair(k, p);
	keypair(x, pa);
	keypair(x, pb);
	dev_up(2, ns_b, wg_c, NULL);
	enter(ns_b);
	assert_int_equal(omt_wg_listen(&devs[2].d, k, &port), 0);
	assert_int_equal(omt_wg_peer_add(&devs[2].d, pa, (uint8_t[4]){ 10, 204, 0, 2 }, 5), 0);
	assert_int_equal(omt_wg_peer_add(&devs[2].d, pb, (uint8_t[4]){ 10, 204, 0, 3 }, 5), 0);
	enter(ns_home);
	assert_string_equal(out("wg show %s peers | wc -l", wg_c), "2");
	snprintf(want, sizeof(want), "%s\t10.204.0.3/32", b64(pb));
	assert_string_equal(out("wg show %s allowed-ips | grep '^%s'", wg_c, b64(pb)), want);
	/* The same key again: its address replaced, not added to. */
	enter(ns_b);
	assert_int_equal(omt_wg_peer_add(&devs[2].d, pb, (uint8_t[4]){ 10, 204, 0, 9 }, 5), 0);
	assert_int_equal(omt_wg_peer_remove(&devs[2].d, pa), 0);
	enter(ns_home);
	snprintf(want, sizeof(want), "%s\t10.204.0.9/32", b64(pb));
	assert_string_equal(out("wg show %s allowed-ips", wg_c), want);
	assert_string_equal(out("wg show %s persistent-keepalive | cut -f2", wg_c), "5");
	/* The listener is untouched by peer changes. */
	assert_int_equal(port_of(2), port);
}

static void test_strict_answers(void **state)
{
	static const struct {
		const char *reply;
		int err;
	} bad[] = {
		{ "", -EPROTO },
		{ "errno=0\n", -EPROTO },
		{ "errno=0\nx\n", -EPROTO },
		{ "errno=0\n\n", -ENOENT },	/* no peer */
		{ "errno=-22\n\n", -EINVAL },
		{ "errno=98\n\n", -EADDRINUSE },
		{ "errno=99999\n\n", -EPROTO },
		{ "errno=\n\n", -EPROTO },
		{ "errno=0x1\n\n", -EPROTO },
		{ "\nerrno=0\n\n", -EPROTO },
		{ "garbage\nerrno=0\n\n", -EPROTO },
		{ "Listen_port=1\nerrno=0\n\n", -EPROTO },
		{ "listen_port=65536\nerrno=0\n\n", -EPROTO },
		{ "listen_port=-1\nerrno=0\n\n", -EPROTO },
		{ "listen_port= 1\nerrno=0\n\n", -EPROTO },
		{ "listen_port=\nerrno=0\n\n", -EPROTO },
		{ "private_key=abc\nerrno=0\n\n", -EPROTO },
		{ "private_key=" HEX_A "0\nerrno=0\n\n", -EPROTO },
		{ "rx_bytes=1\nerrno=0\n\n", -EPROTO },
		{ "public_key=" HEX_A "\nlisten_port=1\nerrno=0\n\n", -EPROTO },
		{ "public_key=" HEX_A "\nrx_bytes=18446744073709551616\nerrno=0\n\n", -EPROTO },
		{ "public_key=" HEX_A "\nlast_handshake_time_sec=9223372036854775808\nerrno=0\n\n",
		  -EPROTO },
		{ "public_key=" HEX_A "\ntx_bytes=1a\nerrno=0\n\n", -EPROTO },
		{ "public_key=" HEX_A "\nerrno=0\n\n", 0 },
	};
	static const char good[] =
		"private_key=" HEX_A "\nlisten_port=51820\nfwmark=7\nfuture_key=?\n"
		"public_key=" HEX_B "\npreshared_key=" HEX_A "\nprotocol_version=1\n"
		"endpoint=[fe80::1%eth0]:51820\nlast_handshake_time_sec=1700000000\n"
		"last_handshake_time_nsec=5\ntx_bytes=18446744073709551615\nrx_bytes=42\n"
		"persistent_keepalive_interval=25\nallowed_ip=10.0.0.0/8\nallowed_ip=::/0\n"
		"public_key=" HEX_A "\nlast_handshake_time_sec=1\nrx_bytes=1\ntx_bytes=1\n"
		"errno=0\n\n";
	struct omt_wg_peer_state st;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct omt_wgconf c;
	uint8_t k[32] = { 1 };
	char big[600];
	uint16_t port;
	size_t i;
	int err;

	(void)state;
	mkdir(OMT_WG_UAPI_DIR, 0755);
	sock_path(fake, sun.sun_path, sizeof(sun.sun_path));
	unlink(sun.sun_path);
	fake_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fake_listener >= 0);
	assert_int_equal(bind(fake_listener, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fake_listener, 4), 0);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = fake_get(bad[i].reply, strlen(bad[i].reply), &st);
		if (err != bad[i].err)
			fail_msg("answer %zu: %d, not %d", i, err, bad[i].err);
	}
	/* A NUL in a line. */
	assert_int_equal(fake_get("listen_port=1\0\nerrno=0\n\n", 24, &st), -EPROTO);
	/* A line longer than any wireguard-go writes. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "endpoint=", 9);
	memcpy(big + sizeof(big) - 9, "\nerrno=0\n", 9);
	assert_int_equal(fake_get(big, sizeof(big), &st), -EPROTO);
	/* An answer that never ends. */
	assert_int_equal(fake_get(NULL, 0, &st), -EMSGSIZE);

	/* The first peer's numbers; keys we do not know are skipped. */
	assert_int_equal(fake_get(good, sizeof(good) - 1, &st), 0);
	assert_int_equal(st.last_handshake_sec, 1700000000);
	assert_int_equal(st.rx_bytes, 42);
	assert_true(st.tx_bytes == UINT64_MAX);
	fake_serve(good, sizeof(good) - 1);
	assert_int_equal(omt_wg_uapi_listen_port(fake, &port), 0);
	assert_int_equal(port, 51820);

	/* A set is answered by errno alone. */
	conf(&c, k, k, NULL, NULL, 0, 0);
	fake_serve("errno=0\n\n", 9);
	assert_int_equal(omt_wg_uapi_apply(fake, &c), 0);
	fake_serve("errno=-98\n\n", 11);
	assert_int_equal(omt_wg_uapi_apply(fake, &c), -EADDRINUSE);
	fake_serve("listen_port=1\nerrno=0\n\n", 23);
	assert_int_equal(omt_wg_uapi_apply(fake, &c), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_bad_names, reset),
		cmocka_unit_test_teardown(test_start_stop, reset),
		cmocka_unit_test_teardown(test_tunnel, reset),
		cmocka_unit_test_teardown(test_wrong_key, reset),
		cmocka_unit_test_teardown(test_errors_from_wireguard_go, reset),
		cmocka_unit_test_teardown(test_listen, reset),
		cmocka_unit_test_teardown(test_peers_add_remove, reset),
		cmocka_unit_test_teardown(test_strict_answers, reset),
	};

	return cmocka_run_group_tests_name("wg_uapi", tests, setup, teardown);
}
