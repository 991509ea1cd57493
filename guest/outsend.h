/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The agent's side of the output files (proto/guest_msg.h). */
#ifndef OMERTA_OUTSEND_H
#define OMERTA_OUTSEND_H

#include <stddef.h>
#include <stdint.h>

/*
 * Sends the regular files and directories under root (not root itself) on
 * port_fd as "dir", "file" + "fdata"... + "fend", "skip" for anything else
 * (symlinks are never followed), then "outdone": 0. Past max_bytes of data
 * or max_files files and directories (or max_files skipped), on a path
 * longer than OMT_MSG_MAX_PATH or a read error it sends "outerr" instead
 * and returns -EFBIG, -EDQUOT, -ENAMETOOLONG or -errno; err says why. A
 * failed write to the port is -errno too, with nothing more sent. No root
 * is an empty output.
 */
int omt_out_send(int port_fd, const char *root, uint64_t max_bytes, uint64_t max_files,
		 char *err, size_t errlen);

#endif
