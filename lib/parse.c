// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int omt_parse_ipv4(const char *s, uint8_t out[4])
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	memcpy(out, &a.s_addr, 4);
	return 0;
}

int omt_parse_endpoint(const char *s, uint8_t ip[4], uint16_t *port)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	unsigned long p;
	char *end;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	if (omt_parse_ipv4(host, ip))
		return -EINVAL;
	if (!colon[1] || colon[1] == '-' || colon[1] == '+')
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || p == 0 || p > 65535)
		return -EINVAL;
	*port = p;
	return 0;
}

int omt_parse_cidr4(const char *s, struct omt_cidr4 *out)
{
	const char *slash = strchr(s, '/');
	char ip[INET_ADDRSTRLEN];
	uint64_t prefix;

	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, slash - s);
	ip[slash - s] = '\0';
	if (omt_parse_ipv4(ip, out->ip) || omt_parse_decimal(slash + 1, 32, &prefix))
		return -EINVAL;
	out->prefix = prefix;
	return 0;
}

uint32_t omt_ipv4_u32(const uint8_t ip[4])
{
	return (uint32_t)ip[0] << 24 | ip[1] << 16 | ip[2] << 8 | ip[3];
}

uint32_t omt_prefix_mask(unsigned int prefix)
{
	return prefix ? ~(uint32_t)0 << (32 - prefix) : 0;
}

int omt_cidr4_has(const struct omt_cidr4 *c, const uint8_t ip[4])
{
	uint32_t mask = omt_prefix_mask(c->prefix);

	return (omt_ipv4_u32(ip) & mask) == (omt_ipv4_u32(c->ip) & mask);
}

int omt_parse_decimal(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!s[0] || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		/* 19 digits fit in 64 bits without overflow. */
		if (i == 19 || s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int omt_parse_digits(const char *s, size_t max_digits, uint64_t max, uint64_t *out)
{
	size_t n = strlen(s);

	if (n > max_digits)
		return -EINVAL;
	while (s[0] == '0' && s[1])
		s++;
	return omt_parse_decimal(s, max, out);
}
