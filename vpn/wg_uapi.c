// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "wg_uapi.h"

#define IO_TIMEOUT_S 5
#define START_TIMEOUT_MS 5000
#define STOP_TIMEOUT_MS 2000
#define POLL_MS 20
/* The longest line wireguard-go writes is an IPv6 endpoint with a zone. */
#define LINE_MAX_LEN 256
/* One device with one peer answers in under 2 KiB; this bounds a runaway. */
#define ANSWER_MAX (1024 * 1024)
#define REQUEST_MAX 4096

extern char **environ;

struct answer {
	int fd;
	size_t off, len, total;
	char buf[4096];
};

/* What a get answer tells us. */
struct uapi_dev {
	uint16_t listen_port;
	int n_peers;
	struct omt_wg_peer_state peer;	/* the first peer's */
};

static int sock_path(const char *ifname, struct sockaddr_un *sun)
{
	size_t n = strlen(ifname);

	if (!n || n >= IFNAMSIZ || strchr(ifname, '/'))
		return -EINVAL;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), OMT_WG_UAPI_DIR "/%s.sock", ifname);
	return 0;
}

/* A connected socket, or -errno; a stale socket file (nobody listening) is -ENOENT. */
static int uapi_connect(const char *ifname)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	struct sockaddr_un sun;
	int fd, err;

	err = sock_path(ifname, &sun);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = errno == ECONNREFUSED ? -ENOENT : -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		p += n;
		len -= n;
	}
	return 0;
}

/* The next line, without its '\n', NUL-terminated. 0 or -errno. */
static int next_line(struct answer *a, char *line, size_t size)
{
	size_t n = 0;
	ssize_t r;
	char ch;

	for (;;) {
		if (a->off == a->len) {
			if (a->total >= ANSWER_MAX)
				return -EMSGSIZE;
			r = recv(a->fd, a->buf, sizeof(a->buf), 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return errno == EAGAIN ? -ETIMEDOUT : -errno;
			if (r == 0)
				return -EPROTO;
			a->off = 0;
			a->len = r;
			a->total += r;
		}
		ch = a->buf[a->off++];
		if (ch == '\n') {
			line[n] = '\0';
			return 0;
		}
		if (ch == '\0' || n + 1 >= size)
			return -EPROTO;
		line[n++] = ch;
	}
}

/* Digits only, no sign, at most max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (!*s)
		return -EPROTO;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n > (max - (*s - '0')) / 10)
			return -EPROTO;
		n = n * 10 + (*s - '0');
	}
	*out = n;
	return 0;
}

/* "errno=N": wireguard-go writes -N, the C implementations N. */
static int parse_errno(const char *s, int *out)
{
	uint64_t n;
	int err = parse_u64(*s == '-' ? s + 1 : s, 4095, &n);

	if (!err)
		*out = -(int)n;
	return err;
}

static int is_hex_key(const char *s)
{
	size_t i;

	for (i = 0; i < 2 * OMT_WG_KEY_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

static int is_key_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
			return 0;
	return 1;
}

/*
 * One key=value line of a get answer. The keys we use are checked strictly;
 * unknown ones are skipped, so a newer wireguard-go may add keys.
 */
static int get_line(struct uapi_dev *d, const char *key, const char *v)
{
	static const char *const peer_keys[] = {
		"preshared_key", "protocol_version", "endpoint", "last_handshake_time_sec",
		"last_handshake_time_nsec", "rx_bytes", "tx_bytes",
		"persistent_keepalive_interval", "allowed_ip",
	};
	struct omt_wg_peer_state *st = &d->peer;
	int first = d->n_peers == 1;
	uint64_t n;
	size_t i;
	int err;

	if (!is_key_name(key))
		return -EPROTO;
	if (!strcmp(key, "private_key") || !strcmp(key, "listen_port") || !strcmp(key, "fwmark")) {
		if (d->n_peers)
			return -EPROTO;
		if (!strcmp(key, "private_key"))
			return is_hex_key(v) ? 0 : -EPROTO;
		if (!strcmp(key, "fwmark"))
			return parse_u64(v, UINT32_MAX, &n);
		err = parse_u64(v, UINT16_MAX, &n);
		if (!err)
			d->listen_port = n;
		return err;
	}
	if (!strcmp(key, "public_key")) {
		d->n_peers++;
		return is_hex_key(v) ? 0 : -EPROTO;
	}
	for (i = 0; i < sizeof(peer_keys) / sizeof(peer_keys[0]); i++)
		if (!strcmp(key, peer_keys[i]))
			break;
	if (i == sizeof(peer_keys) / sizeof(peer_keys[0]))
		return 0;
	if (!d->n_peers)
		return -EPROTO;	/* a peer's key before any public_key */
	if (!strcmp(key, "preshared_key"))
		return is_hex_key(v) ? 0 : -EPROTO;
	if (!strcmp(key, "last_handshake_time_sec")) {
		err = parse_u64(v, INT64_MAX, &n);
		if (!err && first)
			st->last_handshake_sec = n;
		return err;
	}
	if (!strcmp(key, "rx_bytes"))
		return parse_u64(v, UINT64_MAX, first ? &st->rx_bytes : &n);
	if (!strcmp(key, "tx_bytes"))
		return parse_u64(v, UINT64_MAX, first ? &st->tx_bytes : &n);
	return 0;
}

/*
 * Reads an answer up to its blank line: key=value lines (only for a get,
 * dev != NULL), then errno=N. 0, the -errno it gives, or -EPROTO.
 */
static int read_answer(struct answer *a, struct uapi_dev *dev)
{
	char line[LINE_MAX_LEN];
	int err, code;
	char *v;

	for (;;) {
		err = next_line(a, line, sizeof(line));
		if (err)
			goto cleanup;
		v = strchr(line, '=');
		if (!v) {
			err = -EPROTO;
			goto cleanup;
		}
		*v++ = '\0';
		if (!strcmp(line, "errno"))
			break;
		err = dev ? get_line(dev, line, v) : -EPROTO;
		if (err)
			goto cleanup;
	}
	err = parse_errno(v, &code);
	if (!err)
		err = next_line(a, line, sizeof(line));
	if (!err)
		err = line[0] ? -EPROTO : code;
cleanup:
	/* A get answer carries the private and preshared keys. */
	explicit_bzero(line, sizeof(line));
	return err;
}

static int uapi_talk(const char *ifname, const char *req, size_t len, struct uapi_dev *dev)
{
	struct answer a = { 0 };
	int err;

	if (dev)
		memset(dev, 0, sizeof(*dev));
	a.fd = uapi_connect(ifname);
	if (a.fd < 0)
		return a.fd;
	err = send_all(a.fd, req, len);
	if (!err)
		err = read_answer(&a, dev);
	close(a.fd);
	explicit_bzero(&a, sizeof(a));
	return err;
}

static int uapi_get(const char *ifname, struct uapi_dev *dev)
{
	static const char req[] = "get=1\n\n";

	return uapi_talk(ifname, req, sizeof(req) - 1, dev);
}

static int put(char *buf, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf + *n, REQUEST_MAX - *n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= REQUEST_MAX - *n)
		return -ENOBUFS;
	*n += r;
	return 0;
}

static int put_key(char *buf, size_t *n, const char *name, const uint8_t key[OMT_WG_KEY_LEN])
{
	char hex[2 * OMT_WG_KEY_LEN + 1];
	int err;

	sodium_bin2hex(hex, sizeof(hex), key, OMT_WG_KEY_LEN);
	err = put(buf, n, "%s=%s\n", name, hex);
	explicit_bzero(hex, sizeof(hex));
	return err;
}

/* A set request's start: our private key and listen port. */
static int put_listener(char *buf, size_t *n, const uint8_t key[OMT_WG_KEY_LEN], uint16_t port)
{
	int err = put(buf, n, "set=1\n");

	if (!err)
		err = put_key(buf, n, "private_key", key);
	if (!err)
		err = put(buf, n, "listen_port=%u\n", port);
	return err;
}

int omt_wg_uapi_apply(const char *ifname, const struct omt_wgconf *c)
{
	char req[REQUEST_MAX];
	size_t n = 0;
	int i, err;

	if (c->n_allowed_ips < 0 || c->n_allowed_ips > OMT_WG_MAX_ALLOWED_IPS)
		return -EINVAL;
	err = put_listener(req, &n, c->private_key, c->listen_port);
	if (!err)
		err = put(req, &n, "replace_peers=true\n");
	if (!err)
		err = put_key(req, &n, "public_key", c->peer_public_key);
	if (!err && c->has_preshared_key)
		err = put_key(req, &n, "preshared_key", c->preshared_key);
	if (!err && c->endpoint_port)
		err = put(req, &n, "endpoint=%u.%u.%u.%u:%u\n", c->endpoint_ip[0],
			  c->endpoint_ip[1], c->endpoint_ip[2], c->endpoint_ip[3],
			  c->endpoint_port);
	if (!err)
		err = put(req, &n, "persistent_keepalive_interval=%u\nreplace_allowed_ips=true\n",
			  c->persistent_keepalive);
	for (i = 0; !err && i < c->n_allowed_ips; i++) {
		const struct omt_wg_cidr *a = &c->allowed_ips[i];

		err = a->prefix > 32 ? -EINVAL :
			put(req, &n, "allowed_ip=%u.%u.%u.%u/%u\n", a->ip[0], a->ip[1],
			    a->ip[2], a->ip[3], a->prefix);
	}
	if (!err)
		err = put(req, &n, "\n");
	if (!err)
		err = uapi_talk(ifname, req, n, NULL);
	explicit_bzero(req, sizeof(req));
	return err;
}

int omt_wg_uapi_peer_state(const char *ifname, struct omt_wg_peer_state *st)
{
	struct uapi_dev d;
	int err;

	memset(st, 0, sizeof(*st));
	err = uapi_get(ifname, &d);
	if (err)
		return err;
	if (!d.n_peers)
		return -ENOENT;
	*st = d.peer;
	return 0;
}

int omt_wg_uapi_set_listener(const char *ifname, const uint8_t key[OMT_WG_KEY_LEN], uint16_t port)
{
	char req[256];
	size_t n = 0;
	int err;

	err = put_listener(req, &n, key, port);
	if (!err)
		err = put(req, &n, "\n");
	if (!err)
		err = uapi_talk(ifname, req, n, NULL);
	explicit_bzero(req, sizeof(req));
	return err;
}

/* A set request for one peer, leaving the others: added (ip) or removed (NULL). */
static int set_peer(const char *ifname, const uint8_t key[OMT_WG_KEY_LEN], const uint8_t ip[4],
		    uint16_t keepalive)
{
	char req[512];
	size_t n = 0;
	int err;

	err = put(req, &n, "set=1\n");
	if (!err)
		err = put_key(req, &n, "public_key", key);
	if (!err && !ip)
		err = put(req, &n, "remove=true\n");
	if (!err && ip)
		err = put(req, &n, "persistent_keepalive_interval=%u\nreplace_allowed_ips=true\n"
			  "allowed_ip=%u.%u.%u.%u/32\n", keepalive, ip[0], ip[1], ip[2], ip[3]);
	if (!err)
		err = put(req, &n, "\n");
	if (!err)
		err = uapi_talk(ifname, req, n, NULL);
	return err;
}

int omt_wg_uapi_peer_add(const char *ifname, const uint8_t key[OMT_WG_KEY_LEN], const uint8_t ip[4],
			 uint16_t keepalive)
{
	return set_peer(ifname, key, ip, keepalive);
}

int omt_wg_uapi_peer_remove(const char *ifname, const uint8_t key[OMT_WG_KEY_LEN])
{
	return set_peer(ifname, key, NULL, 0);
}

int omt_wg_uapi_listen_port(const char *ifname, uint16_t *port)
{
	struct uapi_dev d;
	int err;

	*port = 0;
	err = uapi_get(ifname, &d);
	if (!err)
		*port = d.listen_port;
	return err;
}

/*
 * environ with WG_PROCESS_FOREGROUND=1 and, unless the caller set one,
 * LOG_LEVEL=silent: a server waiting for its peer's first packet would
 * otherwise log an error per keepalive. Built before fork (no malloc after).
 */
static char **child_env(void)
{
	static const char fg[] = "WG_PROCESS_FOREGROUND=";
	size_t n = 0, i, j = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], fg, sizeof(fg) - 1))
			env[j++] = environ[i];
	env[j++] = "WG_PROCESS_FOREGROUND=1";
	if (!getenv("LOG_LEVEL"))
		env[j] = "LOG_LEVEL=silent";
	return env;
}

/* In the child: only async-signal-safe calls until exec. */
static void __attribute__((noreturn))
run_child(const char *ifname, char **env, int errfd, pid_t parent)
{
	char *argv[] = { "wireguard-go", "-f", (char *)ifname, NULL };
	sigset_t none;
	int fd, e;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	fd = open("/dev/null", O_RDONLY);
	if (fd > 0) {
		dup2(fd, 0);
		close(fd);
	}
	/* Its log goes to stdout: keep our stdout for our own output. */
	dup2(2, 1);
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	execvpe(argv[0], argv, env);
	e = errno;
	(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

/* Until the child answers on its socket. *child is -1 once it has been reaped. */
static int wait_socket(const char *ifname, pid_t *child)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int i, fd, ours;

	for (i = 0; i < START_TIMEOUT_MS / POLL_MS; i++) {
		fd = uapi_connect(ifname);
		if (fd >= 0) {
			/* The socket is not namespaced: it could be someone else's. */
			ours = !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) &&
			       cred.pid == *child;
			close(fd);
			return ours ? 0 : -EADDRINUSE;
		}
		if (fd != -ENOENT)
			return fd;
		if (waitpid(*child, NULL, WNOHANG) == *child) {
			*child = -1;
			return -EIO;
		}
		usleep(POLL_MS * 1000);
	}
	return -ETIMEDOUT;
}

int omt_wg_go_start(const char *ifname, pid_t *pid)
{
	struct sockaddr_un sun;
	int pfd[2] = { -1, -1 };
	pid_t parent = getpid(), child = -1;
	char **env = NULL;
	int err, fd, child_err;
	ssize_t n;

	*pid = -1;
	err = sock_path(ifname, &sun);
	if (err)
		return err;
	fd = uapi_connect(ifname);
	if (fd >= 0) {
		close(fd);
		return -EADDRINUSE;
	}
	env = child_env();
	if (!env)
		return -ENOMEM;
	if (pipe2(pfd, O_CLOEXEC)) {
		err = -errno;
		goto cleanup;
	}
	child = fork();
	if (child < 0) {
		err = -errno;
		goto cleanup;
	}
	if (child == 0)
		run_child(ifname, env, pfd[1], parent);
	close(pfd[1]);
	pfd[1] = -1;
	/* The pipe closes at exec; before that the child sends exec's errno. */
	do
		n = read(pfd[0], &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	if (n == sizeof(child_err)) {
		waitpid(child, NULL, 0);
		child = -1;
		err = -child_err;
		goto cleanup;
	}
	err = wait_socket(ifname, &child);
	if (err)
		goto cleanup;
	*pid = child;
	child = -1;
cleanup:
	if (child > 0)
		omt_wg_go_stop(ifname, child);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(env);
	return err;
}

void omt_wg_go_stop(const char *ifname, pid_t pid)
{
	struct sockaddr_un sun;
	int i, fd, reaped = 0;
	pid_t r;

	/* Only signal a child of ours that is still running. */
	if (pid > 0 && waitpid(pid, NULL, WNOHANG) == 0) {
		kill(pid, SIGTERM);
		for (i = 0; i < STOP_TIMEOUT_MS / POLL_MS && !reaped; i++) {
			r = waitpid(pid, NULL, WNOHANG);
			if (r == pid || (r < 0 && errno != EINTR))
				reaped = 1;
			else
				usleep(POLL_MS * 1000);
		}
		if (!reaped) {
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
	}
	if (sock_path(ifname, &sun))
		return;
	/* A socket someone still answers on is another namespace's device. */
	fd = uapi_connect(ifname);
	if (fd >= 0)
		close(fd);
	else
		unlink(sun.sun_path);
}
