// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../nl/conntrack.h"
#include "../nl/nft.h"
#include "../nl/rtnl.h"
#include "jobdir.h"
#include "vmnet.h"

int omt_vmnet_check(char *err, size_t errlen)
{
	char v = '0';
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &v, 1) != 1)
			v = '0';
		close(fd);
	}
	if (v != '1') {
		snprintf(err, errlen, "IPv4 forwarding is off; the VM's WireGuard UDP is "
				      "forwarded and NATed: sysctl -w net.ipv4.ip_forward=1");
		return -EPERM;
	}
	return 0;
}

static int add_addr(uint8_t (**list)[4], size_t *n, const uint8_t ip[4])
{
	uint8_t (*l)[4];

	/* 16 at a time: hosts have a few, a busy one a tap per VM. */
	if (*n % 16 == 0) {
		l = realloc(*list, (*n + 16) * sizeof(**list));
		if (!l)
			return -ENOMEM;
		*list = l;
	}
	memcpy((*list)[(*n)++], ip, 4);
	return 0;
}

/*
 * An address, and the broadcast addresses the kernel takes as the host's
 * for it: the one it was given, and its subnet's last address (a
 * broadcast route the kernel adds for any prefix under /31, given one or
 * not).
 */
static int host_addr(void *data, const uint8_t local[4], uint8_t prefix, const uint8_t *brd)
{
	struct omt_host_addrs *h = data;
	uint32_t last = omt_ipv4_u32(local) | ~omt_prefix_mask(prefix);
	int e = add_addr(&h->local, &h->n_local, local);

	if (!e && brd)
		e = add_addr(&h->brd, &h->n_brd, brd);
	if (!e && prefix < 31)
		e = add_addr(&h->brd, &h->n_brd, (uint8_t[4]){ last >> 24, last >> 16 & 255,
							       last >> 8 & 255, last & 255 });
	return e;
}

/*
 * rtnetlink (nl/rtnl.h) rather than getifaddrs(3): the same dump, IPv4
 * only (glibc's asks for every link and its statistics too), and each
 * address's IFA_LOCAL and IFA_BROADCAST apart, where getifaddrs folds the
 * broadcast address and a point-to-point peer into one field (ifa_ifu).
 */
int omt_vmnet_host_addrs(struct omt_host_addrs *out, char *err, size_t errlen)
{
	int e;

	memset(out, 0, sizeof(*out));
	e = omt_rtnl_addrs4(host_addr, out);
	if (e) {
		omt_host_addrs_free(out);
		snprintf(err, errlen, "this host's addresses (rtnetlink): %s", strerror(-e));
	}
	return e;
}

void omt_vmnet_table_name(const char *job, char *out, size_t size)
{
	snprintf(out, size, "omerta_%s", job);
}

/* The address a slot's host side takes, and whether an interface has it. */
struct slot_probe {
	uint8_t want[4];
	int taken;
};

static int slot_addr(void *data, const uint8_t local[4], uint8_t prefix, const uint8_t *brd)
{
	struct slot_probe *p = data;

	(void)prefix;
	(void)brd;
	p->taken |= !memcmp(local, p->want, 4);
	return 0;
}

/* Is 10.213.slot.1 on any interface of this namespace? (When it can't tell: yes.) */
static int slot_taken(unsigned int slot)
{
	struct slot_probe p = { .want = { OMT_VM_NET_A, OMT_VM_NET_B, slot, 1 } };

	return omt_rtnl_addrs4(slot_addr, &p) ? 1 : p.taken;
}

static int tap_open(const char *name, int *fd)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int f = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (f < 0)
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(f, TUNSETIFF, &ifr) < 0) {
		int e = -errno;

		close(f);
		return e;
	}
	*fd = f;
	return 0;
}

int omt_vmnet_tap_up(struct omt_vmnet *n, const char *job, char *err, size_t errlen)
{
	char lock_path[300];
	unsigned int slot;
	int e, lock;

	memset(n, 0, sizeof(*n));
	n->tap_fd = -1;
	snprintf(n->tap, sizeof(n->tap), "omt%s", job);
	e = tap_open(n->tap, &n->tap_fd);
	if (e) {
		snprintf(err, errlen, "create tap %s: %s", n->tap, strerror(-e));
		return e;
	}
	n->ifindex = if_nametoindex(n->tap);

	/* Slot choice and address assignment under one lock: concurrent jobs. */
	snprintf(lock_path, sizeof(lock_path), "%s/net.lock", OMT_RUN_DIR);
	lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		e = -errno;
		snprintf(err, errlen, "lock %s: %s", lock_path, strerror(errno));
		goto fail;
	}
	for (slot = 0; slot < 256 && slot_taken(slot); slot++)
		;
	if (slot == 256) {
		e = -EADDRINUSE;
		snprintf(err, errlen, "no free VM subnet left in %d.%d.0.0/%d", OMT_VM_NET_A,
			 OMT_VM_NET_B, OMT_VM_NET_PREFIX);
		goto fail;
	}
	memcpy(n->gateway, (uint8_t[4]){ OMT_VM_NET_A, OMT_VM_NET_B, slot, 1 }, 4);
	memcpy(n->vm, (uint8_t[4]){ OMT_VM_NET_A, OMT_VM_NET_B, slot, 2 }, 4);
	e = omt_rtnl_addr_add4(n->ifindex, n->gateway, OMT_VMNET_PREFIX);
	close(lock);
	lock = -1;
	if (!e)
		e = omt_rtnl_link_up(n->ifindex);
	if (e) {
		snprintf(err, errlen, "address %d.%d.%u.1/%d on %s: %s", OMT_VM_NET_A, OMT_VM_NET_B,
			 slot, OMT_VMNET_PREFIX, n->tap, strerror(-e));
		goto fail;
	}
	return 0;
fail:
	if (lock >= 0)
		close(lock);
	omt_vmnet_down(n);
	return e;
}

int omt_vmnet_nat_up(struct omt_vmnet *n, const char *job, const uint8_t ep[4], uint16_t port,
		     char *err, size_t errlen)
{
	int e;

	/* A crashed run's NAT state for this address would misdirect our flow. */
	omt_conntrack_flush_addr4(n->vm);
	omt_vmnet_table_name(job, n->nft_table, sizeof(n->nft_table));
	e = omt_nft_add_masquerade(n->nft_table, n->vm, ep, port);
	if (e) {
		snprintf(err, errlen, "nftables table ip %s (NAT for the VM): %s", n->nft_table,
			 strerror(-e));
		return e;
	}
	n->nat = 1;
	return 0;
}

void omt_vmnet_nat_down(struct omt_vmnet *n)
{
	if (n->nat) {
		omt_nft_del_table(NFPROTO_IPV4, n->nft_table);
		/* The next VM on this address must not inherit our NAT mappings. */
		omt_conntrack_flush_addr4(n->vm);
	}
	n->nat = 0;
}

void omt_vmnet_tap_remove(struct omt_vmnet *n)
{
	int e;

	if (n->tap_fd < 0)
		return;
	/* Our fd keeps the tap, so the ifindex is still its own. */
	if ((e = omt_rtnl_link_del(n->ifindex)) && e != -ENODEV)
		pr_warn("remove tap %s: %s", n->tap, strerror(-e));
	close(n->tap_fd);
	n->tap_fd = -1;
}

void omt_vmnet_down(struct omt_vmnet *n)
{
	omt_vmnet_nat_down(n);
	omt_vmnet_tap_remove(n);
}
