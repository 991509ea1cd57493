/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Prometheus text exposition (format 0.0.4): a growing buffer of lines. */
#ifndef OMERTA_PROM_H
#define OMERTA_PROM_H

#include <stddef.h>
#include <stdint.h>

struct omt_prom {
	char *buf;
	size_t len, cap;
	int failed;		/* out of memory: the buffer is incomplete */
};

#define OMT_HIST_MAX_BUCKETS 16

struct omt_histogram {
	const double *bounds;	/* upper bounds, ascending; +Inf is implied */
	int n;
	uint64_t counts[OMT_HIST_MAX_BUCKETS];	/* per bucket, not cumulative */
	uint64_t count;
	double sum;
};

void omt_prom_free(struct omt_prom *p);
void omt_prom_help(struct omt_prom *p, const char *name, const char *type, const char *help);
/*
 * One sample. labels: NULL, or "k1", "v1", "k2", "v2", ..., NULL (values are
 * escaped here).
 */
void omt_prom_sample(struct omt_prom *p, const char *name, double value, ...);
void omt_hist_observe(struct omt_histogram *h, double v);
void omt_prom_histogram(struct omt_prom *p, const char *name, const char *help,
			const struct omt_histogram *h);

#endif
