/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Reading a clock, for deadlines, intervals and timestamps. */
#ifndef OMERTA_CLOCK_H
#define OMERTA_CLOCK_H

#include <stdint.h>
#include <time.h>

/* clk (CLOCK_MONOTONIC, CLOCK_REALTIME, ...) in nanoseconds. */
int64_t omt_clock_ns(clockid_t clk);
/* CLOCK_MONOTONIC in nanoseconds, and in milliseconds. */
int64_t omt_mono_ns(void);
long long omt_mono_ms(void);

#endif
