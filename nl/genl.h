/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Generic netlink (libmnl): a request's headers, and a family's id looked
 * up by name from the controller (CTRL_CMD_GETFAMILY).
 */
#ifndef OMERTA_NL_GENL_H
#define OMERTA_NL_GENL_H

#include <stdint.h>

#include <libmnl/libmnl.h>

/*
 * Puts a request at buf: nlmsghdr (type family, NLM_F_REQUEST | flags, no
 * sequence number yet) and genlmsghdr (cmd, version). buf has
 * MNL_SOCKET_BUFFER_SIZE bytes.
 */
struct nlmsghdr *omt_genl_header(char *buf, uint16_t family, uint16_t flags, uint8_t cmd,
				 uint8_t version);
/*
 * The id of the generic-netlink family name, asked on nl (a
 * NETLINK_GENERIC socket, nl/talk.h) as request seq. 0; -EPROTONOSUPPORT
 * when the kernel has no such family (its module is not loaded); or
 * -errno.
 */
int omt_genl_family(struct mnl_socket *nl, const char *name, unsigned int seq, uint16_t *id);

#endif
