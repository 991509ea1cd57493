/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One line per message on stderr, with a level; journald keeps it as is. */
#ifndef OMERTA_LOG_H
#define OMERTA_LOG_H

#include <stdarg.h>

enum omt_log_level { OMT_LOG_ERR, OMT_LOG_WARN, OMT_LOG_INFO, OMT_LOG_DEBUG };

void omt_log_init(const char *prog, enum omt_log_level level);
void omt_vlog(enum omt_log_level level, const char *fmt, va_list ap);
void omt_log(enum omt_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...) omt_log(OMT_LOG_ERR, __VA_ARGS__)
#define pr_warn(...) omt_log(OMT_LOG_WARN, __VA_ARGS__)
#define pr_info(...) omt_log(OMT_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) omt_log(OMT_LOG_DEBUG, __VA_ARGS__)

#endif
