// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <linux/genetlink.h>
#include <string.h>

#include "genl.h"
#include "talk.h"

struct nlmsghdr *omt_genl_header(char *buf, uint16_t family, uint16_t flags, uint8_t cmd,
				 uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *gh;

	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	gh = mnl_nlmsg_put_extra_header(nlh, sizeof(*gh));
	gh->cmd = cmd;
	gh->version = version;
	return nlh;
}

static int u16_attr_cb(const struct nlattr *a, void *data)
{
	const struct omt_genl_u16 *want = data;

	if (mnl_attr_get_type(a) == want->attr && mnl_attr_validate(a, MNL_TYPE_U16) == 0)
		*want->value = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

int omt_genl_u16_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), u16_attr_cb, data);
}

int omt_genl_family(struct mnl_socket *nl, const char *name, unsigned int seq, uint16_t *id)
{
	struct omt_genl_u16 want = { CTRL_ATTR_FAMILY_ID, id };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int err;

	*id = 0;
	if (strlen(name) >= GENL_NAMSIZ)
		return -EINVAL;
	nlh = omt_genl_header(buf, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY, 1);
	nlh->nlmsg_seq = seq;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);
	err = omt_nl_talk(nl, nlh, omt_genl_u16_cb, &want);
	/* No such family: the controller answers ENOENT. */
	if (err == -ENOENT || (!err && !*id))
		return -EPROTONOSUPPORT;
	return err;
}
