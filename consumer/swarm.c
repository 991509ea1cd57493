// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta swarm: Work Queue workers ("pilots") as ordinary Omerta jobs, on
 * the providers of a list, dialling back to the consumer's manager through
 * one WireGuard interface of ours (a peer and an address per pilot).
 *
 * This file is the main thread: the options, the interface, the nftables
 * table that leaves the pilots nothing of ours but the manager's port, the
 * password, the manager command, and at the end, the undoing of all of it.
 * The pilots themselves: consumer/pilots.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "../api/keys.h"
#include "../lib/clock.h"
#include "../lib/file.h"
#include "../lib/parse.h"
#include "../lib/text.h"
#include "../lib/utf8.h"
#include "../nl/nft.h"
#include "../nl/rtnl.h"
#include "../vpn/wg.h"
#include "cli.h"
#include "http.h"
#include "providers.h"
#include "swarm.h"

#define MAX_WORKERS 250			/* pilots' addresses: 10.77.X.2 .. .251 */
#define DEFAULT_PORT 9123
#define PASSWORD_MAX 4096
/* --description, after the pilots' own words (at most 96 bytes) */
#define DESCRIPTION_MAX (OMT_JOB_MAX_DESCRIPTION - 96)
#define MANAGER_GRACE_MS 2000		/* to end on the signal it got too */
#define MANAGER_TERM_MS 5000		/* to end on our SIGTERM, before SIGKILL */

atomic_int swarm_signal;

static void on_signal(int sig)
{
	atomic_store(&swarm_signal, sig);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: omerta swarm --providers FILE --workers N [--cpus N] [--memory MIB]\n"
		"                    [--timeout SEC] [--description TEXT] [--port PORT]\n"
		"                    [--password-file FILE] [--identity FILE] [--endpoint-ip IP]\n"
		"                    [-- MANAGER-COMMAND [ARG...]]\n\n"
		"Keeps N Work Queue workers (pilots) running as Omerta jobs on the providers\n"
		"of FILE, each dialling the manager on PORT at our end of one WireGuard\n"
		"interface made for the swarm; a pilot that ends is replaced (with back-off\n"
		"per provider). The manager's port is reachable through that interface only.\n"
		"With MANAGER-COMMAND (a Work Queue manager: a program on its API, or\n"
		"'makeflow -T wq'), runs it with OMERTA_SWARM_PORT, OMERTA_SWARM_PASSWORD_FILE\n"
		"and OMERTA_SWARM_ADDRESS (our tunnel address) in its environment and ends\n"
		"when it ends; without, runs until interrupted. Every pilot is cancelled and\n"
		"everything undone at the end.\n\n"
		"  --providers FILE      one provider a line: [https://|http://]IPv4:PORT\n"
		"                        [PROVIDER-KEY] (http://: plain HTTP, for tests)\n"
		"                        ('#' comments); a key given is required, else the\n"
		"                        one in known_providers, or trusted on first use\n"
		"  --workers N           pilots to keep running (1-%d)\n"
		"  --cpus N, --memory MIB, --timeout SEC   each pilot's, as for 'omerta\n"
		"                        submit' (1, 256, 600); the worker leaves before the\n"
		"                        timeout\n"
		"  --description TEXT    added to the pilots' description (the providers log it)\n"
		"  --port PORT           the manager's port (default %d)\n"
		"  --password-file FILE  the workers' password (Work Queue's); default: a new\n"
		"                        random one. It reaches the pilots as an input file\n"
		"  --identity FILE       our key (default: the config directory's identity)\n"
		"  --endpoint-ip IP      the address the pilots reach us at, on every provider\n"
		"                        (default: ours towards each provider)\n\n"
		"Lines on stderr: 'omerta: swarm: IP:PORT job ID STATE[: REASON]', STATE one\n"
		"of queued, running, ended, refused, unreachable, lost, cancelled.\n\n"
		"Exit status: the manager's (128+N when a signal ended it), 1 failed, 2 bad\n"
		"usage, 130/143 interrupted.\n",
		MAX_WORKERS, DEFAULT_PORT);
}

struct opts {
	const char *providers, *description, *password_file, *identity, *endpoint_ip;
	unsigned int workers, cpus, memory_mib, timeout_s, port;
};

/* The options into o: GO_ON, or the exit status (usage said why, or --help). */
static int parse_options(int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
		{ "providers", required_argument, NULL, 'P' },
		{ "workers", required_argument, NULL, 'w' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "description", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "password-file", required_argument, NULL, 'W' },
		{ "identity", required_argument, NULL, 'i' },
		{ "endpoint-ip", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c, e = 0;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1 && !e) {
		switch (c) {
		case 'P':
			o->providers = optarg;
			break;
		case 'd':
			o->description = optarg;
			break;
		case 'W':
			o->password_file = optarg;
			break;
		case 'i':
			o->identity = optarg;
			break;
		case 'e':
			o->endpoint_ip = optarg;
			break;
		case 'w':
			e = cli_parse_uint("swarm", "--workers", optarg, 1, MAX_WORKERS, &o->workers);
			break;
		case 'c':
			e = cli_parse_uint("swarm", "--cpus", optarg, 1, 64, &o->cpus);
			break;
		case 'm':
			e = cli_parse_uint("swarm", "--memory", optarg, 64, 65536, &o->memory_mib);
			break;
		case 't':
			e = cli_parse_uint("swarm", "--timeout", optarg, 1, 604800, &o->timeout_s);
			break;
		case 'p':
			e = cli_parse_uint("swarm", "--port", optarg, 1, 65535, &o->port);
			break;
		case 'h':
			usage(stdout);
			return OMT_EXIT_OK;
		default:
			usage(stderr);
			return OMT_EXIT_USAGE;
		}
	}
	return e ? OMT_EXIT_USAGE : GO_ON;
}

/* What the options say together: GO_ON, or OMT_EXIT_USAGE having said why. */
static int check_options(const struct opts *o)
{
	char q[OMT_QUOTE_SIZE(60)];
	uint8_t endpoint[4];
	const char *p;

	if (!o->providers || !o->workers) {
		fprintf(stderr, "swarm: %s is required\n", o->providers ? "--workers" : "--providers");
		return OMT_EXIT_USAGE;
	}
	if (o->endpoint_ip && omt_parse_ipv4(o->endpoint_ip, endpoint)) {
		fprintf(stderr, "swarm: --endpoint-ip is not an IPv4 address: %s\n",
			omt_quote(q, o->endpoint_ip, 60));
		return OMT_EXIT_USAGE;
	}
	/* What the providers would refuse, said once here rather than by each of them. */
	for (p = o->description; p && *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "swarm: --description contains a control character: %s\n",
				omt_quote(q, o->description, 60));
			return OMT_EXIT_USAGE;
		}
	}
	if (o->description && strlen(o->description) > DESCRIPTION_MAX) {
		fprintf(stderr, "swarm: --description is over %d bytes\n", DESCRIPTION_MAX);
		return OMT_EXIT_USAGE;
	}
	if (o->description && !omt_utf8_valid(o->description, strlen(o->description))) {
		fprintf(stderr, "swarm: --description is not UTF-8: %s\n",
			omt_quote(q, o->description, 60));
		return OMT_EXIT_USAGE;
	}
	return GO_ON;
}

/* The providers file into s, each with our identity. 0 or the exit status, having said why. */
static int load_providers(struct swarm *s, const struct opts *o)
{
	struct cli_provider list[CLI_PROVIDERS_MAX];
	struct cli_http me = {};
	char err[700], *buf;
	size_t len, i, n;
	int e;

	if ((e = omt_read_file(o->providers, CLI_PROVIDERS_MAX_FILE, &buf, &len, err, sizeof(err)))) {
		fprintf(stderr, "swarm: --providers %s\n", err);
		return e == -ENOENT || e == -EFBIG ? OMT_EXIT_USAGE : OMT_EXIT_FAIL;
	}
	e = cli_providers_parse(buf, len, list, &n, err, sizeof(err));
	free(buf);
	if (e || !n) {
		fprintf(stderr, "swarm: --providers %s: %s\n", o->providers, e ? err : "no provider in it");
		return OMT_EXIT_USAGE;
	}
	if ((e = cli_load_identity("swarm", o->identity, &me)))
		return e;
	s->providers = calloc(n, sizeof(*s->providers));
	if (!s->providers)
		return OMT_EXIT_FAIL;
	for (i = 0; i < n; i++) {
		struct provider *p = &s->providers[i];

		p->where = list[i];
		p->http = me;
		snprintf(p->http.hostport, sizeof(p->http.hostport), "%s", p->where.hostport);
		memcpy(p->http.provider, p->where.key, 32);
		p->http.have_provider = p->where.has_key;
		p->http.plain = p->where.plain;
		pthread_mutex_init(&p->http_lock, NULL);
	}
	s->n_providers = n;
	sodium_memzero(&me, sizeof(me));
	return 0;
}

/* Nothing listens on the manager's TCP port yet: 0, or -1 having said why. */
static int port_free(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, e = 0;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		e = errno;
	close(fd);
	if (e)
		fprintf(stderr, "swarm: --port %u: %s\n", port, strerror(e));
	return e ? -1 : 0;
}

/* Our end: the interface, its address .1, a fresh key, a port. 0, or -1 having said why. */
static int tunnel_up(struct swarm *s)
{
	uint8_t priv[32], me[4];
	unsigned int ifindex;
	int e;

	if (cli_pick_subnet(&s->subnet)) {
		fprintf(stderr, "swarm: no free 10.77.X.0/24 for the tunnel\n");
		return -1;
	}
	if (cli_tunnel_create("swarm", "omts", s->ifname, &s->wg))
		return -1;
	memcpy(me, (uint8_t[4]){ 10, 77, s->subnet, 1 }, 4);
	omt_wg_keypair(priv, s->wg_public);
	ifindex = if_nametoindex(s->ifname);
	e = omt_rtnl_addr_add4(ifindex, me, 24);
	if (!e)
		e = omt_rtnl_link_up(ifindex);
	if (!e)
		e = omt_wg_listen(&s->wg, priv, &s->wg_port);
	sodium_memzero(priv, sizeof(priv));
	if (e)
		fprintf(stderr, "swarm: set up %s: %s\n", s->ifname, strerror(-e));
	return e ? -1 : 0;
}

/* The nftables table that keeps the manager's port to our interface: its name. */
static void table_name(const struct swarm *s, char out[64])
{
	snprintf(out, 64, "omerta_swarm_%s", s->ifname + 4);
}

/*
 * The workers' password: the file given, or new random text in a private
 * directory (*tmpdir, removed at the end), whose path goes into path.
 * 0, or an exit status having said why.
 */
static int password_setup(struct swarm *s, const char *given, char *tmpdir, char path[PATH_MAX])
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	uint8_t r[32];
	char err[700];
	int e, fd;

	if (given) {
		e = omt_read_file(given, PASSWORD_MAX, &s->password, &s->password_len, err, sizeof(err));
		if (e || !s->password_len || !realpath(given, path)) {
			fprintf(stderr, "swarm: --password-file %s\n", e ? err : "is empty");
			return OMT_EXIT_USAGE;
		}
		return 0;
	}
	s->password = malloc(2 * sizeof(r) + 1);
	if (!s->password || getrandom(r, sizeof(r), 0) != sizeof(r))
		return OMT_EXIT_FAIL;
	sodium_bin2hex(s->password, 2 * sizeof(r) + 1, r, sizeof(r));
	s->password_len = 2 * sizeof(r);
	snprintf(tmpdir, PATH_MAX, "%s/omerta-swarm.XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "swarm: a directory in %s: %s\n", base, strerror(errno));
		tmpdir[0] = '\0';
		return OMT_EXIT_FAIL;
	}
	snprintf(path, PATH_MAX, "%s/password", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	e = fd < 0 ? -errno : omt_write_all(fd, s->password, s->password_len);
	if (fd >= 0 && close(fd) < 0 && !e)
		e = -errno;
	if (e) {
		fprintf(stderr, "swarm: %s: %s\n", path, strerror(-e));
		return OMT_EXIT_FAIL;
	}
	return 0;
}

/*
 * The manager: argv with the swarm's variables in its environment, our
 * signals back to their defaults. Its pid, or -1 having said why (exec's
 * error comes back through a close-on-exec pipe).
 */
static pid_t manager_start(const struct swarm *s, char **argv, const char *password_path)
{
	char port[8], addr[16];
	int pfd[2], e = 0;
	sigset_t none;
	pid_t pid;

	snprintf(port, sizeof(port), "%u", s->port);
	snprintf(addr, sizeof(addr), "10.77.%u.1", s->subnet);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setenv("OMERTA_SWARM_PORT", port, 1);
		setenv("OMERTA_SWARM_PASSWORD_FILE", password_path, 1);
		setenv("OMERTA_SWARM_ADDRESS", addr, 1);
		execvp(argv[0], argv);
		e = errno;
		if (write(pfd[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	if (pid > 0 && read(pfd[0], &e, sizeof(e)) == sizeof(e)) {
		fprintf(stderr, "swarm: cannot run '%s': %s\n", argv[0], strerror(e));
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(pfd[0]);
	return pid;
}

/* Waits for the manager (or, pid -1, a signal): the exit status to end with. */
static int manager_wait(pid_t pid)
{
	uint64_t since = 0;
	int st, sig;

	for (;;) {
		if (pid > 0 && waitpid(pid, &st, WNOHANG) == pid)
			break;
		sig = atomic_load(&swarm_signal);
		if (sig && pid < 0)
			return 128 + sig;
		if (sig && !since)
			since = omt_mono_ms();
		/* It got the terminal's Ctrl-C too, most likely; else it gets ours. */
		if (since && omt_mono_ms() - since > MANAGER_GRACE_MS)
			kill(pid, SIGTERM);
		if (since && omt_mono_ms() - since > MANAGER_GRACE_MS + MANAGER_TERM_MS)
			kill(pid, SIGKILL);
		usleep(100000);
	}
	if (atomic_load(&swarm_signal))
		return 128 + atomic_load(&swarm_signal);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* What was set up: each undo is safe when its step never ran. */
static void teardown(struct swarm *s, int table, const char *tmpdir, const char *password_path)
{
	char name[64];
	size_t i;

	if (table) {
		table_name(s, name);
		omt_nft_del_table(NFPROTO_INET, name);
	}
	omt_wg_down(&s->wg);
	if (tmpdir[0]) {
		unlink(password_path);
		rmdir(tmpdir);
	}
	if (s->password)
		sodium_memzero(s->password, s->password_len);
	free(s->password);
	free(s->description);
	for (i = 0; i < s->n_providers; i++)
		sodium_memzero(&s->providers[i].http, sizeof(s->providers[i].http));
	free(s->providers);
}

/* The interface, the table, the pilots' description. 0, or -1 having said why. */
static int setup(struct swarm *s, const struct opts *o, int *table)
{
	char name[64];
	int e;

	if (port_free(s->port) || tunnel_up(s))
		return -1;
	table_name(s, name);
	if ((e = omt_nft_add_tunnel_port_only(name, s->ifname, s->port))) {
		fprintf(stderr, "swarm: nftables table %s: %s\n", name, strerror(-e));
		return -1;
	}
	*table = 1;
	if (asprintf(&s->description, "omerta swarm pilot: a Work Queue worker for the manager "
		     "at 10.77.%u.1:%u%s%s", s->subnet, s->port, o->description ? ": " : "",
		     o->description ? o->description : "") < 0)
		s->description = NULL;
	if (!s->description) {
		fprintf(stderr, "swarm: out of memory\n");
		return -1;
	}
	return 0;
}

int swarm_main(int argc, char **argv)
{
	struct opts o = { .cpus = 1, .memory_mib = 256, .timeout_s = 600, .port = DEFAULT_PORT };
	struct swarm s = {};
	char tmpdir[PATH_MAX] = "", password_path[PATH_MAX] = "";
	struct pilot *pl;
	int ret, table = 0;
	pid_t manager = -1;

	ret = parse_options(argc, argv, &o);
	if (ret == GO_ON)
		ret = check_options(&o);
	if (ret != GO_ON)
		return ret;
	s.workers = o.workers;
	s.cpus = o.cpus;
	s.memory_mib = o.memory_mib;
	s.timeout_s = o.timeout_s;
	s.port = o.port;
	if (o.endpoint_ip) {
		omt_parse_ipv4(o.endpoint_ip, s.endpoint_ip);
		s.has_endpoint_ip = 1;
	}
	cli_catch_signals(on_signal);
	ret = load_providers(&s, &o);
	if (!ret)
		ret = password_setup(&s, o.password_file, tmpdir, password_path);
	if (ret)
		goto out;
	ret = OMT_EXIT_FAIL;
	if (setup(&s, &o, &table))
		goto out;
	fprintf(stderr, "omerta: swarm: tunnel %s, manager at 10.77.%u.1:%u, password file %s, "
			"%u pilots on %zu providers\n", s.ifname, s.subnet, s.port, password_path,
		s.workers, s.n_providers);
	if (optind < argc && (manager = manager_start(&s, argv + optind, password_path)) < 0)
		goto out;
	pl = pilots_start(&s);
	if (pl) {
		ret = manager_wait(manager);
		pilots_stop(&s, pl);
	} else if (manager > 0) {
		kill(manager, SIGTERM);
		manager_wait(manager);
	}
out:
	teardown(&s, table, tmpdir, password_path);
	return ret;
}
