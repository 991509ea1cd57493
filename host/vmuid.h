/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The uid a VM's QEMU runs as, one per live VM on the whole host: across
 * daemons and hand-run execs, whatever their mount namespaces. A uid is
 * taken by a write lock (open file description lock, F_OFD_SETLK) on the
 * byte at offset UID of OMT_VM_UID_LOCK: the kernel keeps it on the file's
 * inode, so everyone who reaches the file sees it, and it goes when the
 * taker's descriptor closes, also when the taker dies. A uid that some
 * process on the host still runs as (any of its real, effective, saved or
 * file system uids, read from /proc) is not handed out either. The calls
 * share a scratch table of those uids: not for two threads at once.
 */
#ifndef OMERTA_VMUID_H
#define OMERTA_VMUID_H

#include <stddef.h>
#include <sys/types.h>

#include "../proto/vm_uids.h"

#define OMT_VM_UID_DIR "/var/lib/omerta"
#define OMT_VM_UID_LOCK OMT_VM_UID_DIR "/vm-uids.lock"

/*
 * Takes a free uid of r: *uid, and the lock's fd (O_CLOEXEC; the uid is
 * the caller's until it closes it). -EAGAIN when every uid of r is taken
 * or in use, -errno (with err set) when the lock file can't be used.
 */
int omt_vm_uid_take(const struct omt_uid_range *r, uid_t *uid, char *err, size_t errlen);
/* Whether a uid of r is free now (1 or 0; a hint: another may take it first), or -errno. */
int omt_vm_uid_any_free(const struct omt_uid_range *r);
/*
 * How many uids of r are taken now (locked, or some process runs as
 * them), or -errno. A table of its own: safe beside the calls above.
 */
long long omt_vm_uid_count_taken(const struct omt_uid_range *r);
/*
 * The range owns nothing on the host: no user and no group has an id in it.
 * 0, or -EEXIST with err naming the first one ("uid 2000000005 is user 'x'").
 */
int omt_vm_uid_check_unowned(const struct omt_uid_range *r, char *err, size_t errlen);

#endif
