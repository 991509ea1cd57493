/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A rogue event as one log line: plain text or one JSON object. */
#ifndef OMERTA_EVENT_FMT_H
#define OMERTA_EVENT_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "../bpf/omerta_abi.h"

/*
 * ts_realtime_ns is the event's time on CLOCK_REALTIME; vm names the guarded
 * subject (job id or interface). Returns the length written (truncated to
 * size like snprintf) or -errno.
 */
int omt_event_format(char *buf, size_t size, const struct omt_event *e,
		     uint64_t ts_realtime_ns, const char *vm, int json);

#endif
