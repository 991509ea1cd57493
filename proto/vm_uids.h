/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The range of uids VMs run as (each QEMU as one uid of it, with the gid of
 * the same number): `vm_uids` in the policy's [provider], exec's
 * --vm-uids. Its allocation is host/vmuid.h's.
 */
#ifndef OMERTA_VM_UIDS_H
#define OMERTA_VM_UIDS_H

#include <stdint.h>

/*
 * Outside what Debian and systemd give out (system and login users, the
 * 100000+ subordinate ranges, systemd's 524288-1879048191 for containers
 * and its 2147352576+ "foreign" range): see docs/operator-guide.md.
 */
#define OMT_VM_UIDS_DEFAULT_FIRST 2000000000U
#define OMT_VM_UIDS_DEFAULT_LAST 2000000999U
#define OMT_VM_UIDS_FIRST_MIN 1000	/* below: system users' */
#define OMT_VM_UIDS_LAST_MAX 4294967293U	/* (uid_t)-2: not -1, "no uid" */

struct omt_uid_range {
	uint32_t first, last;
};

/*
 * "FIRST-LAST" in canonical decimals, OMT_VM_UIDS_FIRST_MIN <= FIRST <=
 * LAST <= OMT_VM_UIDS_LAST_MAX, not holding 65534 (nobody). 0 or -EINVAL.
 */
int omt_uid_range_parse(const char *s, struct omt_uid_range *out);

static inline uint64_t omt_uid_range_size(const struct omt_uid_range *r)
{
	return (uint64_t)r->last - r->first + 1;
}

#endif
