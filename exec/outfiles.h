/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Writes the files a guest sends back (proto/guest_msg.h: "dir", "file",
 * "fdata", "fend", "skip", "outdone", "outerr") under a directory the
 * operator or consumer chose, never outside it: every name is created
 * relative to that directory's fd, one component at a time, without
 * following symlinks or replacing anything that is there.
 */
#ifndef OMERTA_OUTFILES_H
#define OMERTA_OUTFILES_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/guest_msg.h"

struct omt_outfiles;

/*
 * Receives into dir, which must exist, at most max_bytes of data in at most
 * max_files files and directories. NULL with err set when dir can't be
 * opened or on ENOMEM.
 */
struct omt_outfiles *omt_outfiles_new(const char *dir, uint64_t max_bytes, uint64_t max_files,
				      char *err, size_t errlen);
/*
 * Takes the guest's next output message: 0, 1 when it was "outdone" (all
 * is there), or -errno on a protocol, limit or path violation, on "outerr"
 * or a write error; then omt_outfiles_error() says which path or value,
 * the file being written is gone, and every later call fails the same way.
 * "skip" is logged.
 */
int omt_outfiles_feed(struct omt_outfiles *o, const struct omt_msg *m);
/* The error (printable), or NULL. */
const char *omt_outfiles_error(const struct omt_outfiles *o);
/* Files and directories written, and bytes of data. */
void omt_outfiles_stats(const struct omt_outfiles *o, uint64_t *files, uint64_t *bytes);
/* Closes it; a file still being written is removed. */
void omt_outfiles_free(struct omt_outfiles *o);

#endif
