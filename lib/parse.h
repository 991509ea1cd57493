/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Parsing of canonical decimals, IPv4 addresses and IPv4 "ip:port" endpoints. */
#ifndef OMERTA_ENDPOINT_H
#define OMERTA_ENDPOINT_H

#include <stdint.h>

/* Dotted-quad IPv4 only, into four octets. 0 or -EINVAL. */
int omt_parse_ipv4(const char *s, uint8_t out[4]);
/* "a.b.c.d:port", port 1..65535. 0 or -EINVAL. */
int omt_parse_endpoint(const char *s, uint8_t ip[4], uint16_t *port);

/*
 * Canonical decimal ("0", or digits without a leading zero; no sign, no
 * spaces), at most max. 0 or -EINVAL.
 */
int omt_parse_decimal(const char *s, uint64_t max, uint64_t *out);

#endif
