/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The request/answer loop every netlink user here shares (libmnl). */
#ifndef OMERTA_NL_TALK_H
#define OMERTA_NL_TALK_H

#include <libmnl/libmnl.h>

/* A socket of the netlink bus (NETLINK_ROUTE, ...), bound. NULL with errno. */
struct mnl_socket *omt_nl_open(int bus);
/*
 * Sends nlh (its nlmsg_seq set by the caller) and runs the answers through
 * cb (NULL: none expected) until the ack or the end of the dump. 0, or the
 * kernel's error as -errno.
 */
int omt_nl_talk(struct mnl_socket *nl, const struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

#endif
