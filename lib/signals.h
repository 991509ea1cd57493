/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Signals for loops that read them from a signalfd. */
#ifndef OMERTA_SIGNALS_H
#define OMERTA_SIGNALS_H

#include <signal.h>

/*
 * For a loop that reads its signals from a signalfd: SIGINT, SIGTERM, SIGHUP
 * and each signal of more (0-terminated; NULL: none) back to their default
 * action — an inherited SIG_IGN (nohup, a script's background job) would
 * discard them before the signalfd sees them — and blocked; SIGPIPE
 * ignored, so a reader that goes away can't kill us before our teardown.
 * mask gets the set.
 */
void omt_signals_for_signalfd(sigset_t *mask, const int *more);

#endif
