/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Parsing of decimals, IPv4 addresses, "ip/prefix" and "ip:port" endpoints;
 * what an "ip/prefix" holds.
 */
#ifndef OMERTA_PARSE_H
#define OMERTA_PARSE_H

#include <stddef.h>
#include <stdint.h>

struct omt_cidr4 {
	uint8_t ip[4];
	uint8_t prefix;
};

/* Dotted-quad IPv4 only, into four octets. 0 or -EINVAL. */
int omt_parse_ipv4(const char *s, uint8_t out[4]);
/* "a.b.c.d:port", port 1..65535. 0 or -EINVAL. */
int omt_parse_endpoint(const char *s, uint8_t ip[4], uint16_t *port);
/*
 * "a.b.c.d/N", N 0..32 a canonical decimal; the host bits are kept.
 * 0 or -EINVAL.
 */
int omt_parse_cidr4(const char *s, struct omt_cidr4 *out);

/* ip as a number, a.b.c.d -> a << 24 | ...: for masks and comparisons. */
uint32_t omt_ipv4_u32(const uint8_t ip[4]);
/* The netmask of prefix (0..32) as a number: 24 -> 0xffffff00. */
uint32_t omt_prefix_mask(unsigned int prefix);
/* 1 if c holds ip (c's host bits are ignored), else 0. */
int omt_cidr4_has(const struct omt_cidr4 *c, const uint8_t ip[4]);

/*
 * Canonical decimal ("0", or digits without a leading zero; no sign, no
 * spaces), at most max. 0 or -EINVAL.
 */
int omt_parse_decimal(const char *s, uint64_t max, uint64_t *out);
/*
 * Digits as people write them in a file: 1..max_digits (at most 19) of
 * them, leading zeros allowed ("0080"); no sign, no spaces. At most max.
 * 0 or -EINVAL.
 */
int omt_parse_digits(const char *s, size_t max_digits, uint64_t max, uint64_t *out);

#endif
