// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <signal.h>

#include "signals.h"

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
