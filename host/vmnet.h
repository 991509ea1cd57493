/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A job VM's host networking: its tap (ioctl on /dev/net/tun; deleted by
 * rtnetlink at the end, not left to the last fd's close), the gateway address on it
 * (rtnetlink), and source NAT for the VM's WireGuard UDP towards the
 * endpoint in an nftables table of the job's own; the host's addresses,
 * which no endpoint may be. Natively, no `ip`, no `nft`.
 */
#ifndef OMERTA_VMNET_H
#define OMERTA_VMNET_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/endpoint.h"	/* OMT_VM_NET_*, struct omt_host_addrs */

/* Each VM gets 10.213.SLOT.0/24 of OMT_VM_NET_*: the tap is .1, the VM .2. */
#define OMT_VMNET_PREFIX 24

struct omt_vmnet {
	char tap[IFNAMSIZ];
	int tap_fd;
	unsigned int ifindex;
	uint8_t gateway[4], vm[4];
	char nft_table[32];
	int nat;
};

/* Host-wide prerequisite: IPv4 forwarding on. 0, or -EPERM with err set. */
int omt_vmnet_check(char *err, size_t errlen);
/*
 * The VM's side of the host, which its boot needs: the tap job's (omtJOB)
 * with the gateway address of a free 10.213.SLOT.0/24 on it, up. 0, or
 * -errno with err set and nothing left.
 */
int omt_vmnet_tap_up(struct omt_vmnet *n, const char *job, char *err, size_t errlen);
/*
 * The job's way out, once its endpoint is known: source NAT for the VM's
 * UDP to ep:port only, in an nftables table of the job's own. 0, or -errno
 * with err set.
 */
int omt_vmnet_nat_up(struct omt_vmnet *n, const char *job, const uint8_t ep[4], uint16_t port,
		     char *err, size_t errlen);
/* Removes the NAT table and the VM address's conntrack entries. */
void omt_vmnet_nat_down(struct omt_vmnet *n);
/*
 * Deletes the tap (rtnetlink) and closes our fd: gone even if it was made
 * persistent (TUNSETPERSIST) through QEMU's fd. n->ifindex stays, for the
 * guard's counters. Once QEMU is dead.
 */
void omt_vmnet_tap_remove(struct omt_vmnet *n);
/* omt_vmnet_nat_down and omt_vmnet_tap_remove. */
void omt_vmnet_down(struct omt_vmnet *n);
/*
 * This network namespace's IPv4 addresses and broadcast addresses, now,
 * for the endpoint rules (proto/endpoint.h). 0, or -errno with err set;
 * free with omt_host_addrs_free.
 */
int omt_vmnet_host_addrs(struct omt_host_addrs *out, char *err, size_t errlen);
/* The NAT table name of job. */
void omt_vmnet_table_name(const char *job, char *out, size_t size);

#endif
