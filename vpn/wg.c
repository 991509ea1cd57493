// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "../nl/rtnl.h"
#include "../nl/talk.h"
#include "wg.h"
#include "wg_uapi.h"

static int family_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(a, MNL_TYPE_U16) == 0)
		*(uint16_t *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int family_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_cb, data);
}

static int port_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == WGDEVICE_A_LISTEN_PORT &&
	    mnl_attr_validate(a, MNL_TYPE_U16) == 0)
		*(uint16_t *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int port_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), port_cb, data);
}

static struct nlmsghdr *genl_header(char *buf, uint16_t type, uint16_t flags, uint8_t cmd,
				    uint8_t version, unsigned int seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *gh;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	gh = mnl_nlmsg_put_extra_header(nlh, sizeof(*gh));
	gh->cmd = cmd;
	gh->version = version;
	return nlh;
}

/* wg_kernel.c has no GET of the device itself: the listen port, read here. */
static int kernel_listen_port(const char *ifname, uint16_t *port)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int seq = time(NULL);
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	uint16_t family = 0;
	int err;

	nl = omt_nl_open(NETLINK_GENERIC);
	if (!nl)
		return -errno;
	nlh = genl_header(buf, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY, 1, seq);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	err = omt_nl_talk(nl, nlh, family_msg_cb, &family);
	if (err == -ENOENT || (!err && !family))
		err = -EPROTONOSUPPORT;
	if (err)
		goto cleanup;
	nlh = genl_header(buf, family, NLM_F_DUMP | NLM_F_ACK, WG_CMD_GET_DEVICE,
			  WG_GENL_VERSION, seq + 1);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	err = omt_nl_talk(nl, nlh, port_msg_cb, port);
cleanup:
	/* The dump carries the private key. */
	explicit_bzero(buf, sizeof(buf));
	mnl_socket_close(nl);
	return err;
}

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
			      kernel_listen_port(d->ifname, port);
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
