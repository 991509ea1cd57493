// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "rtnl.h"
#include "talk.h"

/* Zeroed, so that attribute padding is not stack garbage. */
#define REQ_SIZE 1024

/* Sends one request that carries NLM_F_ACK and waits for its ack. */
static int rtnl_talk(struct nlmsghdr *nlh)
{
	struct mnl_socket *nl = omt_nl_open(NETLINK_ROUTE);
	int ret;

	if (!nl)
		return -errno;
	nlh->nlmsg_seq = time(NULL);
	ret = omt_nl_talk(nl, nlh, NULL, NULL);
	mnl_socket_close(nl);
	return ret;
}

static struct nlmsghdr *rtnl_msg(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	return nlh;
}

static struct ifinfomsg *link_msg(struct nlmsghdr *nlh, unsigned int ifindex)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return ifi;
}

int omt_rtnl_link_up(unsigned int ifindex)
{
	char buf[REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh = rtnl_msg(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = link_msg(nlh, ifindex);

	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return rtnl_talk(nlh);
}

int omt_rtnl_link_set_mtu(unsigned int ifindex, unsigned int mtu)
{
	char buf[REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh = rtnl_msg(buf, RTM_NEWLINK, 0);

	link_msg(nlh, ifindex);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return rtnl_talk(nlh);
}

int omt_rtnl_link_add(const char *name, const char *kind)
{
	char buf[REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh = rtnl_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info;

	if (!*name || strlen(name) >= IFNAMSIZ || !*kind)
		return -EINVAL;
	link_msg(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, info);
	return rtnl_talk(nlh);
}

int omt_rtnl_link_del(unsigned int ifindex)
{
	char buf[REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh = rtnl_msg(buf, RTM_DELLINK, 0);

	link_msg(nlh, ifindex);
	return rtnl_talk(nlh);
}

int omt_rtnl_addr_add4(unsigned int ifindex, const uint8_t ip[4], uint8_t prefix)
{
	char buf[REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh = rtnl_msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa;

	if (prefix > 32)
		return -EINVAL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, 4, ip);
	mnl_attr_put(nlh, IFA_ADDRESS, 4, ip);
	return rtnl_talk(nlh);
}

int omt_rtnl_route_add4(const uint8_t dst[4], uint8_t prefix, const uint8_t *gw,
			unsigned int ifindex)
{
	char buf[REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh = rtnl_msg(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm;

	if (prefix > 32 || (!gw && !ifindex))
		return -EINVAL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, 4, dst);
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, 4, gw);
	if (ifindex)
		mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return rtnl_talk(nlh);
}

struct addrs_walk {
	int (*fn)(void *data, const uint8_t local[4], uint8_t prefix, const uint8_t *brd);
	void *data;
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if ((type == IFA_LOCAL || type == IFA_ADDRESS || type == IFA_BROADCAST) &&
	    mnl_attr_get_payload_len(attr) == 4)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { 0 }, *local;
	struct addrs_walk *w = data;
	int e;

	if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb) < 0) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!local)
		return MNL_CB_OK;
	e = w->fn(w->data, mnl_attr_get_payload(local), ifa->ifa_prefixlen,
		  tb[IFA_BROADCAST] ? mnl_attr_get_payload(tb[IFA_BROADCAST]) : NULL);
	if (e) {
		errno = -e;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int omt_rtnl_addrs4(int (*fn)(void *data, const uint8_t local[4], uint8_t prefix,
			      const uint8_t *brd), void *data)
{
	char buf[REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct addrs_walk w = { fn, data };
	struct mnl_socket *nl;
	struct ifaddrmsg *ifa;
	int ret;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = time(NULL);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	nl = omt_nl_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	ret = omt_nl_talk(nl, nlh, addr_cb, &w);
	mnl_socket_close(nl);
	return ret;
}
