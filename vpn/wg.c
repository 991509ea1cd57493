// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <net/if.h>
#include <string.h>

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

int omt_wg_peer_state(const struct omt_wg_dev *d, struct omt_wg_peer_state *st)
{
	if (!d->ifname[0])
		return -ENODEV;
	return d->userspace ? omt_wg_uapi_peer_state(d->ifname, st) :
			      omt_wg_kernel_peer_state(d->ifname, st);
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
