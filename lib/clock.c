// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "clock.h"

int64_t omt_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t omt_mono_ns(void)
{
	return omt_clock_ns(CLOCK_MONOTONIC);
}

long long omt_mono_ms(void)
{
	return omt_mono_ns() / 1000000;
}
