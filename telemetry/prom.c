// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

static void put(struct omt_prom *p, const char *s, size_t n)
{
	char *b;

	if (p->failed)
		return;
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4096;

		while (cap < p->len + n + 1)
			cap *= 2;
		b = realloc(p->buf, cap);
		if (!b) {
			p->failed = 1;
			return;
		}
		p->buf = b;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void puts_(struct omt_prom *p, const char *s)
{
	put(p, s, strlen(s));
}

static void putf(struct omt_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct omt_prom *p, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(p, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void omt_prom_free(struct omt_prom *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

void omt_prom_help(struct omt_prom *p, const char *name, const char *type, const char *help)
{
	putf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values: backslash, double quote and newline escaped. */
static void put_value(struct omt_prom *p, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			put(p, "\\", 1);
		if (*v == '\n')
			puts_(p, "\\n");
		else
			put(p, v, 1);
	}
}

static void put_number(struct omt_prom *p, double v)
{
	if (isinf(v))
		puts_(p, v > 0 ? "+Inf" : "-Inf");
	else if (v == (double)(int64_t)v && fabs(v) < 1e15)
		putf(p, "%lld", (long long)v);
	else
		putf(p, "%.9g", v);
}

void omt_prom_sample(struct omt_prom *p, const char *name, double value, ...)
{
	const char *k, *v;
	int first = 1;
	va_list ap;

	puts_(p, name);
	va_start(ap, value);
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		put(p, first ? "{" : ",", 1);
		first = 0;
		putf(p, "%s=\"", k);
		put_value(p, v);
		put(p, "\"", 1);
	}
	va_end(ap);
	if (!first)
		put(p, "}", 1);
	put(p, " ", 1);
	put_number(p, value);
	put(p, "\n", 1);
}

static void sample_plain(struct omt_prom *p, const char *name, const char *suffix, double value,
			 const char *le)
{
	puts_(p, name);
	puts_(p, suffix);
	if (le)
		putf(p, "{le=\"%s\"}", le);
	put(p, " ", 1);
	put_number(p, value);
	put(p, "\n", 1);
}

void omt_hist_observe(struct omt_histogram *h, double v)
{
	int i;

	for (i = 0; i < h->n && v > h->bounds[i]; i++)
		;
	if (i < h->n)
		h->counts[i]++;
	h->count++;
	h->sum += v;
}

void omt_prom_histogram(struct omt_prom *p, const char *name, const char *help,
			const struct omt_histogram *h)
{
	uint64_t cum = 0;
	char le[32];
	int i;

	omt_prom_help(p, name, "histogram", help);
	for (i = 0; i < h->n; i++) {
		cum += h->counts[i];
		snprintf(le, sizeof(le), "%g", h->bounds[i]);
		sample_plain(p, name, "_bucket", cum, le);
	}
	sample_plain(p, name, "_bucket", h->count, "+Inf");
	sample_plain(p, name, "_sum", h->sum, NULL);
	sample_plain(p, name, "_count", h->count, NULL);
}
