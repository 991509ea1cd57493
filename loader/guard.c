// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta-loader guard: the WireGuard-only guard on one interface, until
 * SIGINT/SIGTERM. Prints one line per rogue event on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../guard/guard_bpf.h"
#include "../host/jobdir.h"
#include "../lib/clock.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../lib/parse.h"
#include "../proto/exit.h"
#include "../telemetry/event_fmt.h"
#include "guard.skel.h"
#include "verbs.h"

struct guard_ctx {
	const char *dev;
	int json;
	pid_t kill_pid;		/* 0: log only */
	int killed;
	int64_t mono_to_real_ns;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: omerta-loader guard --dev IFACE --endpoint IP:PORT [--hook xdp|tc]\n"
		"                           [--peer-ip IP] [--on-rogue log|kill:PID] [--json]\n\n"
		"Lets only WireGuard to ENDPOINT (and ARP with IFACE's own address) through\n"
		"the frames received on IFACE, i.e. sent by what sits behind it (a VM's tap,\n"
		"a veth peer); towards it, only WireGuard from ENDPOINT and ARP. Everything\n"
		"else is dropped in the kernel and printed as a rogue event.\n\n"
		"  --dev IFACE          interface to guard\n"
		"  --endpoint IP:PORT   the consumer's WireGuard endpoint\n"
		"  --hook xdp|tc        hook for the frames IFACE receives (default: xdp on\n"
		"                       a tap, tc on anything else; see docs/benchmarks.md)\n"
		"  --peer-ip IP         the guarded peer's address; other sources are dropped\n"
		"  --on-rogue log|kill:PID\n"
		"                       kill:PID sends SIGKILL to PID on the first rogue event\n"
		"  --json               one JSON object per event\n\n"
		"Maps are pinned under %s while it runs. SIGINT/SIGTERM detach and\n"
		"unpin everything. Killed outright, it leaves IFACE guarded (fail closed)\n"
		"until 'omerta-loader cleanup'.\n",
		OMT_PIN_DIR);
}

static int on_event(void *arg, void *data, size_t size)
{
	struct guard_ctx *ctx = arg;
	const struct omt_event *e = data;
	char line[768];

	if (size < sizeof(*e))
		return 0;
	if (ctx->kill_pid && !ctx->killed && e->direction == OMT_DIR_FROM_GUEST) {
		ctx->killed = 1;
		if (kill(ctx->kill_pid, SIGKILL) < 0)
			pr_err("kill PID %d: %s", ctx->kill_pid, strerror(errno));
		else
			pr_info("rogue %s: sent SIGKILL to PID %d, %.3f ms after the frame",
				ctx->dev, ctx->kill_pid,
				(omt_clock_ns(CLOCK_MONOTONIC) - (int64_t)e->ts_ns) / 1e6);
	}
	omt_event_format(line, sizeof(line), e, e->ts_ns + ctx->mono_to_real_ns,
			 ctx->dev, ctx->json);
	printf("%s\n", line);
	fflush(stdout);
	return 0;
}

/* ethtool's driver name, to tell a tap ("tun") from the rest. */
static int is_tap(const char *dev)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	int fd, ok;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_data = (void *)&info;
	ok = ioctl(fd, SIOCETHTOOL, &ifr) == 0 && strcmp(info.driver, "tun") == 0;
	close(fd);
	return ok;
}

static int first_ipv4(const char *dev, uint8_t out[4])
{
	struct ifaddrs *ifa, *i;
	int found = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    strcmp(i->ifa_name, dev) != 0)
			continue;
		memcpy(out, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		found = 1;
	}
	freeifaddrs(ifa);
	return found;
}

static int parse_on_rogue(const char *s, pid_t *pid)
{
	char *end;
	long v;

	if (strcmp(s, "log") == 0) {
		*pid = 0;
		return 0;
	}
	if (strncmp(s, "kill:", 5) != 0 || !s[5])
		return -EINVAL;
	errno = 0;
	v = strtol(s + 5, &end, 10);
	if (errno || *end || v <= 1 || v > 0x3fffffff)
		return -EINVAL;
	*pid = v;
	return 0;
}

#define GO_ON -1

/*
 * The options into ctx and pol, *endpoint and *hook checked: GO_ON, or the
 * exit status (usage said why, or --help).
 */
static int parse_options(int argc, char **argv, struct guard_ctx *ctx, struct omt_policy *pol,
			 const char **endpoint, const char **hook)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "hook", required_argument, NULL, 'k' },
		{ "peer-ip", required_argument, NULL, 'p' },
		{ "on-rogue", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			ctx->dev = optarg;
			break;
		case 'e':
			*endpoint = optarg;
			break;
		case 'k':
			*hook = optarg;
			break;
		case 'p':
			if (omt_parse_ipv4(optarg, pol->peer_ip)) {
				fprintf(stderr, "guard: --peer-ip is not an IPv4 address: '%s'\n",
					optarg);
				return OMT_EXIT_USAGE;
			}
			pol->flags |= OMT_POL_PEER_IP;
			break;
		case 'r':
			if (parse_on_rogue(optarg, &ctx->kill_pid)) {
				fprintf(stderr, "guard: --on-rogue must be 'log' or 'kill:PID': '%s'\n",
					optarg);
				return OMT_EXIT_USAGE;
			}
			break;
		case 'j':
			ctx->json = 1;
			break;
		case 'h':
			usage(stdout);
			return OMT_EXIT_OK;
		default:
			usage(stderr);
			return OMT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "guard: unexpected argument '%s'\n", argv[optind]);
		return OMT_EXIT_USAGE;
	}
	if (!ctx->dev || !*endpoint) {
		fprintf(stderr, "guard: --dev and --endpoint are required\n");
		usage(stderr);
		return OMT_EXIT_USAGE;
	}
	if (omt_parse_endpoint(*endpoint, pol->endpoint_ip, &pol->endpoint_port)) {
		fprintf(stderr, "guard: --endpoint is not IPv4:PORT: '%s'\n", *endpoint);
		return OMT_EXIT_USAGE;
	}
	if (*hook && strcmp(*hook, "xdp") && strcmp(*hook, "tc")) {
		fprintf(stderr, "guard: --hook must be 'xdp' or 'tc': '%s'\n", *hook);
		return OMT_EXIT_USAGE;
	}
	return GO_ON;
}

#define GUARD_LOCK OMT_RUN_DIR "/guard.lock"

int guard_lock_hold(const char *dev)
{
	int fd, e = 0;

	if (mkdir(OMT_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open(GUARD_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || ftruncate(fd, 0) < 0)
		e = -errno;
	if (!e)
		e = omt_write_all(fd, dev, strlen(dev));
	if (e) {
		close(fd);
		return e;
	}
	return fd;
}

int guard_lock_live(char *dev, size_t size)
{
	ssize_t n;
	int fd, live;

	dev[0] = '\0';
	fd = open(GUARD_LOCK, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	live = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	n = live ? read(fd, dev, size - 1) : -1;
	dev[n > 0 ? n : 0] = '\0';
	/* A killed guard's: ours now, removed. */
	if (!live)
		unlink(GUARD_LOCK);
	close(fd);
	return live;
}

/*
 * Loads and attaches the guard, prints its events until SIGINT/SIGTERM,
 * then detaches and unloads it. The exit status.
 */
static int run_guard(struct guard_ctx *ctx, struct omt_policy *pol, __u32 ifindex,
		     int use_xdp, const char *endpoint)
{
	struct omt_guard_maps maps;
	struct guard_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	int err, lock, ret = OMT_EXIT_FAIL;

	if (omt_bpffs_ensure())
		return OMT_EXIT_FAIL;
	/* Held while we run: cleanup leaves a live guard alone. */
	lock = guard_lock_hold(ctx->dev);
	if (lock < 0) {
		pr_err("%s: %s", GUARD_LOCK, lock == -EWOULDBLOCK ? "another guard runs" :
			strerror(-lock));
		return OMT_EXIT_FAIL;
	}
	err = omt_guard_load(&skel, OMT_PIN_DIR);
	if (err) {
		if (err != -EEXIST)
			pr_err("load the guard: %s", strerror(-err));
		close(lock);
		return OMT_EXIT_FAIL;
	}
	omt_guard_maps_of(skel, &maps);
	err = omt_guard_attach(skel, ifindex, use_xdp, pol);
	if (err)
		goto out;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.omt_events), on_event, ctx, NULL);
	if (!rb) {
		pr_err("ring buffer: %s", strerror(errno));
		goto detach;
	}
	ctx->mono_to_real_ns = omt_clock_ns(CLOCK_REALTIME) - omt_clock_ns(CLOCK_MONOTONIC);
	pr_info("guarding %s (ifindex %u) with %s, endpoint %s", ctx->dev, ifindex,
		use_xdp ? "xdp" : "tc", endpoint);
	if (ctx->kill_pid)
		pr_info("on rogue: SIGKILL to PID %d", ctx->kill_pid);

	while (!stop) {
		err = ring_buffer__poll(rb, 500);
		if (err < 0 && err != -EINTR) {
			pr_err("ring buffer poll: %s", strerror(-err));
			goto detach;
		}
	}
	ret = OMT_EXIT_OK;
detach:
	ring_buffer__free(rb);
	if (omt_guard_detach(&maps, ifindex))
		ret = OMT_EXIT_FAIL;
	pr_info("detached from %s", ctx->dev);
out:
	omt_guard_unload(skel, OMT_PIN_DIR);
	unlink(GUARD_LOCK);
	close(lock);
	return ret;
}

int guard_main(int argc, char **argv)
{
	struct guard_ctx ctx = {};
	struct omt_policy pol = {};
	const char *endpoint = NULL, *hook = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	int ret, use_xdp;
	__u32 ifindex;

	ret = parse_options(argc, argv, &ctx, &pol, &endpoint, &hook);
	if (ret != GO_ON)
		return ret;
	ifindex = if_nametoindex(ctx.dev);
	if (!ifindex) {
		fprintf(stderr, "guard: no such interface: '%s'\n", ctx.dev);
		return OMT_EXIT_FAIL;
	}
	use_xdp = hook ? strcmp(hook, "xdp") == 0 : is_tap(ctx.dev);
	if (first_ipv4(ctx.dev, pol.gateway_ip))
		pol.flags |= OMT_POL_GATEWAY_IP;
	else
		pr_warn("%s has no IPv4 address: all ARP through it will be dropped",
			ctx.dev);

	/* Without SA_RESTART, so the ring-buffer poll returns -EINTR. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return run_guard(&ctx, &pol, ifindex, use_xdp, endpoint);
}
