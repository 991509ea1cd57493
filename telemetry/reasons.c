// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <linux/types.h>
#include <netinet/in.h>
#include <stddef.h>

#include "../bpf/omerta_abi.h"
#include "reasons.h"

/* Mirrors enum omt_reason; the names are part of the event and metric ABI. */
static const char *const reason_names[] = {
	[OMT_R_PASS] = "pass",
	[OMT_R_BAD_HEADER] = "bad_header",
	[OMT_R_VLAN] = "vlan",
	[OMT_R_NON_IP] = "non_ip",
	[OMT_R_IPV6] = "ipv6",
	[OMT_R_ARP_SPOOF] = "arp_spoof",
	[OMT_R_IP_OPTIONS] = "ip_options",
	[OMT_R_FRAGMENT] = "fragment",
	[OMT_R_SPOOFED_SRC] = "spoofed_src",
	[OMT_R_WRONG_SRC] = "wrong_src",
	[OMT_R_WRONG_DST] = "wrong_dst",
	[OMT_R_NOT_UDP] = "not_udp",
	[OMT_R_WRONG_PORT] = "wrong_port",
	[OMT_R_NOT_WIREGUARD] = "not_wireguard",
	[OMT_R_BAD_WG_SIZE] = "bad_wg_size",
	[OMT_R_NO_POLICY] = "no_policy",
	[OMT_R_QEMU_SOCKET] = "qemu_socket",
};
_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) == OMT_R__COUNT,
	       "every enum omt_reason needs a name");

const char *omt_reason_name(unsigned int reason)
{
	return reason < OMT_R__COUNT ? reason_names[reason] : "unknown";
}

const char *omt_direction_name(unsigned int direction)
{
	switch (direction) {
	case OMT_DIR_FROM_GUEST:
		return "from_guest";
	case OMT_DIR_TO_GUEST:
		return "to_guest";
	case OMT_DIR_CGROUP:
		return "cgroup";
	}
	return "unknown";
}

const char *omt_hook_name(unsigned int hook)
{
	switch (hook) {
	case OMT_HOOK_XDP:
		return "xdp";
	case OMT_HOOK_TC_INGRESS:
		return "tc_ingress";
	case OMT_HOOK_TC_EGRESS:
		return "tc_egress";
	case OMT_HOOK_CGROUP_SKB:
		return "cgroup_skb";
	case OMT_HOOK_CGROUP_CONNECT:
		return "cgroup_connect";
	case OMT_HOOK_CGROUP_SENDMSG:
		return "cgroup_sendmsg";
	case OMT_HOOK_CGROUP_SOCK_CREATE:
		return "cgroup_sock_create";
	}
	return "unknown";
}

const char *omt_l3_name(uint16_t ethertype)
{
	switch (ethertype) {
	case 0x0800:
		return "ipv4";
	case 0x0806:
		return "arp";
	case 0x86DD:
		return "ipv6";
	case 0x8100:
	case 0x88A8:
	case 0x9100:
		return "vlan";
	}
	return NULL;
}

const char *omt_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_GRE:
		return "gre";
	}
	return NULL;
}
