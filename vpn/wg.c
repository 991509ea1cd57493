// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../nl/rtnl.h"
#include "wg.h"
#include "wg_uapi.h"

int omt_wg_up(const char *ifname, struct omt_wg_dev *d)
{
	int err;

	memset(d, 0, sizeof(*d));
	if (!*ifname || strlen(ifname) >= sizeof(d->ifname))
		return -EINVAL;
	err = omt_rtnl_link_add(ifname, "wireguard");
	if (err == -EOPNOTSUPP) {
		d->userspace = 1;
		err = omt_wg_go_start(ifname, &d->pid);
	}
	if (err) {
		memset(d, 0, sizeof(*d));
		return err;
	}
	strcpy(d->ifname, ifname);
	return 0;
}

int omt_wg_apply(const struct omt_wg_dev *d, const struct omt_wgconf *c)
{
	if (!d->ifname[0])
		return -ENODEV;
	return d->userspace ? omt_wg_uapi_apply(d->ifname, c) : omt_wg_kernel_apply(d->ifname, c);
}

int omt_wg_peer_add(const struct omt_wg_dev *d, const uint8_t key[32], const uint8_t ip[4],
		    uint16_t keepalive)
{
	if (!d->ifname[0])
		return -ENODEV;
	return d->userspace ? omt_wg_uapi_peer_add(d->ifname, key, ip, keepalive) :
			      omt_wg_kernel_peer_add(d->ifname, key, ip, keepalive);
}

int omt_wg_peer_remove(const struct omt_wg_dev *d, const uint8_t key[32])
{
	if (!d->ifname[0])
		return -ENODEV;
	return d->userspace ? omt_wg_uapi_peer_remove(d->ifname, key) :
			      omt_wg_kernel_peer_remove(d->ifname, key);
}

int omt_wg_peer_state(const struct omt_wg_dev *d, struct omt_wg_peer_state *st)
{
	if (!d->ifname[0])
		return -ENODEV;
	return d->userspace ? omt_wg_uapi_peer_state(d->ifname, st) :
			      omt_wg_kernel_peer_state(d->ifname, st);
}

/* A UDP port that nothing in this network namespace uses now, or -errno. */
static int free_udp_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), e = 0;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		e = -errno;
	close(fd);
	return e ? e : ntohs(a.sin_port);
}

int omt_wg_listen(const struct omt_wg_dev *d, const uint8_t key[32], uint16_t *port)
{
	int i, p, e = -EADDRINUSE;

	*port = 0;
	if (!d->ifname[0])
		return -ENODEV;
	/* Another program may take the port between our look and the bind. */
	for (i = 0; i < 8 && e == -EADDRINUSE; i++) {
		p = free_udp_port();
		if (p < 0)
			return p;
		e = d->userspace ? omt_wg_uapi_set_listener(d->ifname, key, p) :
				   omt_wg_kernel_set_listener(d->ifname, key, p);
	}
	if (!e)
		*port = p;
	return e;
}

int omt_wg_listen_port(const struct omt_wg_dev *d, uint16_t *port)
{
	*port = 0;
	if (!d->ifname[0])
		return -ENODEV;
	return d->userspace ? omt_wg_uapi_listen_port(d->ifname, port) :
			      omt_wg_kernel_listen_port(d->ifname, port);
}

void omt_wg_down(struct omt_wg_dev *d)
{
	unsigned int ifindex;

	if (!d->ifname[0])
		return;
	if (d->userspace)
		omt_wg_go_stop(d->ifname, d->pid);
	else if ((ifindex = if_nametoindex(d->ifname)))
		omt_rtnl_link_del(ifindex);
	memset(d, 0, sizeof(*d));
}
