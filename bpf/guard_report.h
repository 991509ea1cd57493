/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Counting and reporting, shared by the frame guards and the cgroup guard.
 * Every frame is counted; rogue events are rate-limited per subject
 * (interface or cgroup) and reason, but the first one of each always goes
 * out, and the next delivered event says how many were suppressed.
 */
#ifndef OMERTA_GUARD_REPORT_H
#define OMERTA_GUARD_REPORT_H

#include "omerta_abi.h"

/* Set by the loader before load; tests shrink or stretch them. */
const volatile __u64 omt_rl_window_ns = 1000000000ULL;
const volatile __u32 omt_rl_burst = 8;

static __always_inline void omt_count(void *map, const void *key, __u64 len)
{
	struct omt_counter *c, init = { .packets = 1, .bytes = len };

	c = bpf_map_lookup_elem(map, key);
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, len);
		return;
	}
	if (bpf_map_update_elem(map, key, &init, BPF_NOEXIST) == 0)
		return;
	/* Lost the race to create it: add to the winner's entry. */
	c = bpf_map_lookup_elem(map, key);
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, len);
	}
}

/* Returns 1 and the suppressed count when an event may be sent now. */
static __always_inline int omt_rl_allow(void *rl_map, __u64 subject, __u32 reason,
					__u64 now, __u32 *suppressed)
{
	struct omt_rl_key key = { .subject = subject, .reason = reason };
	struct omt_rl_state *st, init = { .window_start_ns = now, .sent = 1 };

	st = bpf_map_lookup_elem(rl_map, &key);
	if (!st) {
		*suppressed = 0;
		bpf_map_update_elem(rl_map, &key, &init, BPF_ANY);
		return 1;
	}
	if (now - st->window_start_ns >= omt_rl_window_ns) {
		st->window_start_ns = now;
		st->sent = 0;
	}
	if (st->sent >= omt_rl_burst) {
		__sync_fetch_and_add(&st->suppressed, 1);
		return 0;
	}
	st->sent++;
	*suppressed = st->suppressed;
	st->suppressed = 0;
	return 1;
}

static __always_inline void omt_emit(void *ringbuf, void *rl_map, void *lost_map,
				     const struct omt_event *tmpl, __u64 subject)
{
	struct omt_event *e;
	__u64 now = bpf_ktime_get_ns();
	__u32 suppressed, zero = 0;
	__u64 *lost;

	if (!omt_rl_allow(rl_map, subject, tmpl->reason, now, &suppressed))
		return;
	e = bpf_ringbuf_reserve(ringbuf, sizeof(*e), 0);
	if (!e) {
		lost = bpf_map_lookup_elem(lost_map, &zero);
		if (lost)
			__sync_fetch_and_add(lost, 1);
		return;
	}
	__builtin_memcpy(e, tmpl, sizeof(*e));
	e->ts_ns = now;
	e->suppressed = suppressed;
	bpf_ringbuf_submit(e, 0);
}

#endif
