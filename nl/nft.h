/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The nftables tables Omerta installs, one netlink batch each, in the
 * caller's current network namespace. Each adder creates its whole table
 * atomically: if a table of that name already exists nothing changes and
 * the call returns -EEXIST. Remove a table with omt_nft_del_table().
 */
#ifndef OMERTA_NFT_H
#define OMERTA_NFT_H

#include <stdint.h>
#include <linux/netfilter.h>	/* NFPROTO_* */

/* Host side. table ip <table> { chain postrouting { type nat hook postrouting
 * priority srcnat; ip saddr SRC ip daddr DST udp dport PORT masquerade } } */
int omt_nft_add_masquerade(const char *table, const uint8_t src[4], const uint8_t dst[4],
			   uint16_t dport);
/* Guest side. table inet <table> { chain output { type filter hook output
 * priority filter; policy accept;
 *   oifname IFNAME ip daddr DST udp dport PORT accept
 *   oifname IFNAME drop } }
 * -EINVAL if ifname does not fit IFNAMSIZ. */
int omt_nft_add_egress_only(const char *table, const char *ifname, const uint8_t dst[4],
			    uint16_t dport);
/* Consumer side (omerta swarm): through IFNAME only the TCP port, and the
 * port only through IFNAME.
 * table inet <table> {
 *   chain input { type filter hook input priority filter; policy accept;
 *     iifname IFNAME tcp dport PORT accept
 *     iifname IFNAME drop
 *     tcp dport PORT drop }
 *   chain forward { type filter hook forward priority filter; policy accept;
 *     iifname IFNAME drop } }
 * -EINVAL if ifname does not fit IFNAMSIZ. */
int omt_nft_add_tunnel_port_only(const char *table, const char *ifname, uint16_t dport);
/* family NFPROTO_IPV4 or NFPROTO_INET. -ENOENT if there is no such table. */
int omt_nft_del_table(int family, const char *table);
/* Calls cb for each table of family whose name starts with prefix. The
 * names are collected first, so cb may delete the table it is given. */
int omt_nft_list_tables(int family, const char *prefix,
			void (*cb)(const char *name, void *arg), void *arg);

#endif
