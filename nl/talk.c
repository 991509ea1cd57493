// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "talk.h"

/*
 * Large enough for a dump's batch of big messages (conntrack, WireGuard):
 * MNL_SOCKET_DUMP_SIZE of newer libmnl, as the kernel fills dump skbs up
 * to the reader's buffer size and a smaller buffer would truncate them.
 */
#define ANSWER_BUF 32768

struct mnl_socket *omt_nl_open(int bus)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	int e;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	return nl;
}

int omt_nl_talk(struct mnl_socket *nl, const struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[ANSWER_BUF];
	unsigned int portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, n, nlh->nlmsg_seq, portid, cb, data);
		ret = ret < 0 ? -errno : ret;
	} while (ret > MNL_CB_STOP);
	/* A WireGuard device's dump carries its private key. */
	explicit_bzero(buf, sizeof(buf));
	return ret < 0 ? ret : 0;
}
