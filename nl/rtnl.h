/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The few rtnetlink requests the loader (VM tap, the host's addresses) and
 * the guest agent (eth0, wg0) need, IPv4 only. Each call opens its own
 * NETLINK_ROUTE socket in the caller's current network namespace; a change
 * asks for an ack and returns 0 or the kernel's -errno from it.
 */
#ifndef OMERTA_RTNL_H
#define OMERTA_RTNL_H

#include <stdint.h>

int omt_rtnl_link_up(unsigned int ifindex);
int omt_rtnl_link_set_mtu(unsigned int ifindex, unsigned int mtu);
/* A link of a kind that needs no IFLA_INFO_DATA ("wireguard", "bridge").
 * -EEXIST if the name is taken, -EOPNOTSUPP if the kernel lacks the kind. */
int omt_rtnl_link_add(const char *name, const char *kind);
int omt_rtnl_link_del(unsigned int ifindex);
/* ip/prefix on ifindex; -EEXIST if already there, -ENODEV if no such link. */
int omt_rtnl_addr_add4(unsigned int ifindex, const uint8_t ip[4], uint8_t prefix);
/* dst/prefix in the main table, via gw or on-link when gw is NULL;
 * ifindex 0 lets the kernel pick the link that reaches gw. dst must have no
 * host bits set (-EINVAL). -EEXIST if the route is there. */
int omt_rtnl_route_add4(const uint8_t dst[4], uint8_t prefix, const uint8_t *gw,
			unsigned int ifindex);
/*
 * Every IPv4 address of this namespace (an RTM_GETADDR dump): fn(data,
 * local, prefix, brd) for each, local its own address (IFA_LOCAL, or
 * IFA_ADDRESS without one), prefix its prefix length and brd the broadcast
 * address it was given (IFA_BROADCAST), or NULL. fn returns 0 to go on,
 * or -errno to end the dump with it. 0, or -errno.
 */
int omt_rtnl_addrs4(int (*fn)(void *data, const uint8_t local[4], uint8_t prefix,
			      const uint8_t *brd), void *data);

#endif
