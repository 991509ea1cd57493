/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One line per message on stderr, with a level; journald keeps it as is.
 * A line may say what it is about (a job, a consumer, an outcome, a
 * reason): stderr shows the same line either way; a sink that keeps fields
 * (the journal's, loader/journal.c) keeps them too.
 */
#ifndef OMERTA_LOG_H
#define OMERTA_LOG_H

#include <stdarg.h>

enum omt_log_level { OMT_LOG_ERR, OMT_LOG_WARN, OMT_LOG_INFO, OMT_LOG_DEBUG };

/* What a line is about; NULL members say nothing. */
struct omt_log_fields {
	const char *job;
	const char *consumer;
	const char *outcome;
	const char *reason;
};

/*
 * Takes a line instead of stderr: line is the text stderr would get (no
 * newline), fields what it is about (job: the line's, else the process's).
 * 0 when it took the line; else the line goes to stderr.
 */
typedef int (*omt_log_sink)(enum omt_log_level level, const char *prog, const char *line,
			    const struct omt_log_fields *fields);

void omt_log_init(const char *prog, enum omt_log_level level);
/* Set before any thread logs; NULL: stderr again. */
void omt_log_set_sink(omt_log_sink sink);
/* The job every line of this process is about unless it says another (exec's); NULL: none. */
void omt_log_set_job(const char *job);
void omt_vlog(enum omt_log_level level, const char *fmt, va_list ap);
void omt_vlog_with(enum omt_log_level level, const struct omt_log_fields *fields,
		   const char *fmt, va_list ap);
void omt_log(enum omt_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void omt_log_with(enum omt_log_level level, const struct omt_log_fields *fields,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define pr_err(...) omt_log(OMT_LOG_ERR, __VA_ARGS__)
#define pr_warn(...) omt_log(OMT_LOG_WARN, __VA_ARGS__)
#define pr_info(...) omt_log(OMT_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) omt_log(OMT_LOG_DEBUG, __VA_ARGS__)

#endif
