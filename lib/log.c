// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static const char *log_prog = "omerta";
static enum omt_log_level log_level = OMT_LOG_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void omt_vlog(enum omt_log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if (level > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	fprintf(stderr, "%s: %s: %s\n", log_prog, level_names[level], line);
}

void omt_log(enum omt_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	omt_vlog(level, fmt, ap);
	va_end(ap);
}

void omt_log_init(const char *prog, enum omt_log_level level)
{
	log_prog = prog;
	log_level = level;
}
