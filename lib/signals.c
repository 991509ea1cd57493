// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <signal.h>

#include "signals.h"

static void take(sigset_t *mask, int sig)
{
	signal(sig, SIG_DFL);
	sigaddset(mask, sig);
}

void omt_signals_for_signalfd(sigset_t *mask, const int *more)
{
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(mask);
	take(mask, SIGINT);
	take(mask, SIGTERM);
	take(mask, SIGHUP);
	for (; more && *more; more++)
		take(mask, *more);
	sigprocmask(SIG_BLOCK, mask, NULL);
}
