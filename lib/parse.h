/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Parsing of decimals, IPv4 addresses, "ip/prefix" and "ip:port" endpoints. */
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
