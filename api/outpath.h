/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The host's rules for a guest's output files (proto/guest_msg.h): which
 * message may come when, every path valid, every file exactly its
 * announced size, all of it within the job's bytes and entries. No
 * filesystem here (exec/outfiles.c writes), so the fuzzer runs it whole.
 */
#ifndef OMERTA_OUTPATH_H
#define OMERTA_OUTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/guest_msg.h"

struct omt_outpath {
	uint64_t max_bytes, max_files;
	uint64_t files;			/* "dir" and "file" accepted */
	uint64_t bytes;			/* data accepted */
	uint64_t skipped;		/* "skip" accepted, at most max_files */
	uint64_t size, left;		/* the open file's announced size, what is to come */
	int in_file;			/* between "file" and "fend" */
	int done;			/* after "outdone" */
	int failed;			/* after an error: nothing more is accepted */
	char path[OMT_MSG_MAX_PATH + 1];	/* the open file's */
};

void omt_outpath_init(struct omt_outpath *s, uint64_t max_bytes, uint64_t max_files);

/*
 * Takes the next message of the stream: 0 if the host may act on it, 1 for
 * "outdone" (the output is complete), or -errno with err naming the path or
 * value at fault (printable): -EPROTO out of order or a size lie, -EFBIG /
 * -EDQUOT past the bytes / entries, -EINVAL a bad path or not an output
 * message, -EIO for "outerr". After an error every message is refused.
 */
int omt_outpath_step(struct omt_outpath *s, const struct omt_msg *m, char *err, size_t errlen);

/* The mode the host gives a file the guest says has mode: 0755 or 0644. */
unsigned int omt_outpath_mode(unsigned int mode);

#endif
