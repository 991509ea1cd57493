// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static const char *log_prog = "omerta";
static enum omt_log_level log_level = OMT_LOG_INFO;
static omt_log_sink log_sink;
static char log_job[64];
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void omt_vlog_with(enum omt_log_level level, const struct omt_log_fields *fields,
		   const char *fmt, va_list ap)
{
	struct omt_log_fields about = fields ? *fields : (struct omt_log_fields){ 0 };
	char msg[1024], line[1100];
	size_t n;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	snprintf(line, sizeof(line), "%s: %s: %s", log_prog, level_names[level], msg);
	if (!about.job && log_job[0])
		about.job = log_job;
	if (log_sink && log_sink(level, log_prog, line, &about) == 0)
		return;
	fprintf(stderr, "%s\n", line);
}

void omt_vlog(enum omt_log_level level, const char *fmt, va_list ap)
{
	omt_vlog_with(level, NULL, fmt, ap);
}

void omt_log(enum omt_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	omt_vlog_with(level, NULL, fmt, ap);
	va_end(ap);
}

void omt_log_with(enum omt_log_level level, const struct omt_log_fields *fields,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	omt_vlog_with(level, fields, fmt, ap);
	va_end(ap);
}

void omt_log_init(const char *prog, enum omt_log_level level)
{
	log_prog = prog;
	log_level = level;
}

void omt_log_set_sink(omt_log_sink sink)
{
	log_sink = sink;
}

void omt_log_set_job(const char *job)
{
	snprintf(log_job, sizeof(log_job), "%s", job ? job : "");
}
