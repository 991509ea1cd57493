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
 * An omt_nl_talk callback (data: struct omt_genl_u16) taking the u16
 * attribute of type attr at the top of each generic-netlink answer into
 * *value, which is left alone when no answer has one.
 */
struct omt_genl_u16 {
	uint16_t attr;
	uint16_t *value;
};
int omt_genl_u16_cb(const struct nlmsghdr *nlh, void *data);
/*
 * The id of the generic-netlink family name, asked on nl (a
 * NETLINK_GENERIC socket, nl/talk.h) as request seq. 0; -EPROTONOSUPPORT
 * when the kernel has no such family (its module is not loaded); or
 * -errno.
 */
int omt_genl_family(struct mnl_socket *nl, const char *name, unsigned int seq, uint16_t *id);

#endif
