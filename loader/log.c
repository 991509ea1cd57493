// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "log.h"

static const char *log_prog = "omerta";
static enum omt_log_level log_level = OMT_LOG_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

static void vlog(enum omt_log_level level, const char *fmt, va_list ap)
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
	vlog(level, fmt, ap);
	va_end(ap);
}

/* libbpf's own messages, one level below their libbpf rank. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum omt_log_level l = level == LIBBPF_WARN ? OMT_LOG_WARN : OMT_LOG_DEBUG;

	/* Netlink's extended acks: the caller decides and reports what failed. */
	if (strstr(fmt, "Kernel error message"))
		l = OMT_LOG_DEBUG;

	vlog(l, fmt, ap);
	return 0;
}

void omt_log_init(const char *prog, enum omt_log_level level)
{
	log_prog = prog;
	log_level = level;
	libbpf_set_print(libbpf_print);
}

void omt_signals_for_signalfd(sigset_t *mask, int with_sigchld)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(mask);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGHUP);
	if (with_sigchld)
		sigaddset(mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, mask, NULL);
}
