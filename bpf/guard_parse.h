/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Header-only frame checks shared by the XDP and tc guards. Works on a
 * [data, data_end) window plus the frame's real length, so the same code
 * serves XDP (always linear) and tc (linear part pulled in by the caller).
 */
#ifndef OMERTA_GUARD_PARSE_H
#define OMERTA_GUARD_PARSE_H

#include "omerta_abi.h"

#define OMT_ETH_P_IP 0x0800
#define OMT_ETH_P_ARP 0x0806
#define OMT_ETH_P_IPV6 0x86DD
#define OMT_ETH_P_8021Q 0x8100
#define OMT_ETH_P_8021AD 0x88A8
#define OMT_ETH_P_QINQ1 0x9100
#define OMT_ETH_HLEN 14
#define OMT_IP_HLEN 20
#define OMT_UDP_HLEN 8
#define OMT_ARPOP_REQUEST 1
#define OMT_ARPOP_REPLY 2
#define OMT_IP_MF_OFFSET 0x3fff

/* Bytes of a frame the checks read: Ethernet + IPv4 + UDP + WireGuard header. */
#define OMT_PARSE_LEN (OMT_ETH_HLEN + OMT_IP_HLEN + OMT_UDP_HLEN + 4)

struct omt_arp_eth {
	__be16 hrd;
	__be16 pro;
	__u8 hln;
	__u8 pln;
	__be16 op;
	__u8 sha[6];
	__u8 sip[4];
	__u8 tha[6];
	__u8 tip[4];
} __attribute__((packed));

static __always_inline __u32 omt_ip4(const __u8 *b)
{
	__u32 v;

	__builtin_memcpy(&v, b, 4);
	return v;
}

static __always_inline void omt_set_ip4(__u8 *dst, __u32 v)
{
	__builtin_memcpy(dst, &v, 4);
}

static __always_inline int omt_mac_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] &&
	       a[3] == b[3] && a[4] == b[4] && a[5] == b[5];
}

static __always_inline int omt_check_arp(void *l3, void *data_end,
					 const struct ethhdr *eth,
					 const struct omt_policy *pol,
					 struct omt_flow_key *k)
{
	struct omt_arp_eth *a = l3;
	__u32 sender, target, peer, gw;

	if ((void *)(a + 1) > data_end)
		return OMT_R_BAD_HEADER;
	__builtin_memcpy(k->src_ip, a->sip, 4);
	__builtin_memcpy(k->dst_ip, a->tip, 4);
	if (a->hrd != bpf_htons(1) || a->pro != bpf_htons(OMT_ETH_P_IP) ||
	    a->hln != 6 || a->pln != 4)
		return OMT_R_ARP_SPOOF;
	if (a->op != bpf_htons(OMT_ARPOP_REQUEST) &&
	    a->op != bpf_htons(OMT_ARPOP_REPLY))
		return OMT_R_ARP_SPOOF;
	if (!(pol->flags & OMT_POL_GATEWAY_IP))
		return OMT_R_ARP_SPOOF;

	sender = omt_ip4(a->sip);
	target = omt_ip4(a->tip);
	peer = omt_ip4(pol->peer_ip);
	gw = omt_ip4(pol->gateway_ip);
	if (k->direction == OMT_DIR_FROM_GUEST) {
		/* The guest may only talk ARP about itself to its gateway. */
		if (!omt_mac_eq(a->sha, eth->h_source) || target != gw)
			return OMT_R_ARP_SPOOF;
		if ((pol->flags & OMT_POL_PEER_IP) && sender != peer)
			return OMT_R_ARP_SPOOF;
	} else {
		if (sender != gw)
			return OMT_R_ARP_SPOOF;
		if ((pol->flags & OMT_POL_PEER_IP) && target != peer)
			return OMT_R_ARP_SPOOF;
	}
	return OMT_R_PASS;
}

static __always_inline int omt_check_wireguard(const __u8 *msg, void *data_end,
					       __u32 msg_len)
{
	__u32 type;

	if (msg_len < 4)
		return OMT_R_NOT_WIREGUARD;
	if ((void *)(msg + 4) > data_end)
		return OMT_R_BAD_HEADER;
	if (msg[1] | msg[2] | msg[3])
		return OMT_R_NOT_WIREGUARD;
	type = msg[0];
	switch (type) {
	case 1:
		return msg_len == OMT_WG_INITIATION_LEN ? OMT_R_PASS : OMT_R_BAD_WG_SIZE;
	case 2:
		return msg_len == OMT_WG_RESPONSE_LEN ? OMT_R_PASS : OMT_R_BAD_WG_SIZE;
	case 3:
		return msg_len == OMT_WG_COOKIE_LEN ? OMT_R_PASS : OMT_R_BAD_WG_SIZE;
	case 4:
		return msg_len >= OMT_WG_DATA_MIN_LEN ? OMT_R_PASS : OMT_R_BAD_WG_SIZE;
	}
	return OMT_R_NOT_WIREGUARD;
}

static __always_inline int omt_check_ipv4(void *l3, void *data_end, __u32 frame_len,
					  const struct omt_policy *pol,
					  struct omt_flow_key *k)
{
	struct iphdr *ip = l3;
	struct udphdr *udp;
	__u32 tot, ulen, ep, peer, saddr, daddr;
	int from_guest = k->direction == OMT_DIR_FROM_GUEST;

	if ((void *)(ip + 1) > data_end)
		return OMT_R_BAD_HEADER;
	saddr = ip->saddr;
	daddr = ip->daddr;
	omt_set_ip4(k->src_ip, saddr);
	omt_set_ip4(k->dst_ip, daddr);
	k->proto = ip->protocol;
	if (ip->version != 4 || ip->ihl < 5)
		return OMT_R_BAD_HEADER;
	if (ip->ihl > 5)
		return OMT_R_IP_OPTIONS;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < OMT_IP_HLEN || tot > frame_len - OMT_ETH_HLEN)
		return OMT_R_BAD_HEADER;
	if (ip->frag_off & bpf_htons(OMT_IP_MF_OFFSET))
		return OMT_R_FRAGMENT;

	/* Ports of TCP and UDP alike, so events show whole flows. */
	udp = (void *)(ip + 1);
	if ((ip->protocol == IPPROTO_UDP || ip->protocol == IPPROTO_TCP) &&
	    (void *)udp + 4 <= data_end) {
		k->src_port = bpf_ntohs(udp->source);
		k->dst_port = bpf_ntohs(udp->dest);
	}

	ep = omt_ip4(pol->endpoint_ip);
	peer = omt_ip4(pol->peer_ip);
	if (from_guest) {
		if ((pol->flags & OMT_POL_PEER_IP) && saddr != peer)
			return OMT_R_SPOOFED_SRC;
		if (daddr != ep)
			return OMT_R_WRONG_DST;
	} else {
		if (saddr != ep)
			return OMT_R_WRONG_SRC;
		if ((pol->flags & OMT_POL_PEER_IP) && daddr != peer)
			return OMT_R_WRONG_DST;
	}
	if (ip->protocol != IPPROTO_UDP)
		return OMT_R_NOT_UDP;
	if ((void *)(udp + 1) > data_end)
		return OMT_R_BAD_HEADER;
	if ((from_guest ? k->dst_port : k->src_port) != pol->endpoint_port)
		return OMT_R_WRONG_PORT;
	ulen = bpf_ntohs(udp->len);
	if (ulen < OMT_UDP_HLEN || ulen != tot - OMT_IP_HLEN)
		return OMT_R_BAD_HEADER;
	return omt_check_wireguard((const __u8 *)(udp + 1), data_end,
				   ulen - OMT_UDP_HLEN);
}

/*
 * Checks one frame against the interface's policy. Fills k (ethertype,
 * addresses, ports, protocol) as far as the frame could be parsed.
 */
static __always_inline int omt_check_frame(void *data, void *data_end, __u32 frame_len,
					   const struct omt_policy *pol,
					   struct omt_flow_key *k)
{
	struct ethhdr *eth = data;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return OMT_R_BAD_HEADER;
	proto = bpf_ntohs(eth->h_proto);
	k->ethertype = proto;
	switch (proto) {
	case OMT_ETH_P_IP:
		return omt_check_ipv4(eth + 1, data_end, frame_len, pol, k);
	case OMT_ETH_P_ARP:
		return omt_check_arp(eth + 1, data_end, eth, pol, k);
	case OMT_ETH_P_IPV6:
		return OMT_R_IPV6;
	case OMT_ETH_P_8021Q:
	case OMT_ETH_P_8021AD:
	case OMT_ETH_P_QINQ1:
		return OMT_R_VLAN;
	}
	return OMT_R_NON_IP;
}

#endif
