/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Conntrack clean-up at job teardown. A VM address (10.213.S.2) is reused
 * by the next job; a conntrack entry left from the previous one would keep
 * translating the new job's flow to a port nobody listens on.
 */
#ifndef OMERTA_CONNTRACK_H
#define OMERTA_CONNTRACK_H

#include <stdint.h>

/* Deletes every IPv4 conntrack entry (this network namespace) whose original
 * tuple has ip as source or destination, in any zone. Returns how many were
 * deleted (>= 0) or -errno (-EPERM without CAP_NET_ADMIN). An entry that
 * expires between the dump and its deletion is not counted and no error. */
int omt_conntrack_flush_addr4(const uint8_t ip[4]);

#endif
