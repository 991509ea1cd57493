// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <systemd/sd-journal.h>

#include "../lib/log.h"
#include "journal.h"

/* syslog(3)'s priorities, by our levels. */
static const int priorities[] = { [OMT_LOG_ERR] = 3, [OMT_LOG_WARN] = 4, [OMT_LOG_INFO] = 6,
				  [OMT_LOG_DEBUG] = 7 };

/* "$JOURNAL_STREAM" is "DEVICE:INODE" of the stream systemd gave us: is it our stderr? */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	uint64_t dev, ino;
	struct stat st;
	int end = 0;

	if (!env || sscanf(env, "%" SCNu64 ":%" SCNu64 "%n", &dev, &ino, &end) != 2 ||
	    env[end] || fstat(2, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

/* FIELD=value into fields[*n], value NULL: nothing. */
static void add(struct iovec *iov, char (*text)[1200], int *n, const char *field,
		const char *value)
{
	int len;

	if (!value)
		return;
	len = snprintf(text[*n], sizeof(text[*n]), "%s=%s", field, value);
	iov[*n] = (struct iovec){ text[*n], (size_t)len < sizeof(text[*n]) ? (size_t)len :
					    sizeof(text[*n]) - 1 };
	(*n)++;
}

static int journal_sink(enum omt_log_level level, const char *prog, const char *line,
			const struct omt_log_fields *f)
{
	char text[8][1200], prio[2] = { '0' + priorities[level], '\0' };
	struct iovec iov[8];
	int n = 0;

	add(iov, text, &n, "MESSAGE", line);
	add(iov, text, &n, "PRIORITY", prio);
	add(iov, text, &n, "SYSLOG_IDENTIFIER", prog);
	add(iov, text, &n, "OMERTA_JOB", f->job);
	add(iov, text, &n, "OMERTA_CONSUMER", f->consumer);
	add(iov, text, &n, "OMERTA_OUTCOME", f->outcome);
	add(iov, text, &n, "OMERTA_REASON", f->reason);
	return sd_journal_sendv(iov, n);
}

void journal_log_init(void)
{
	if (stderr_is_journal())
		omt_log_set_sink(journal_sink);
}
