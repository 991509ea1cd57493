/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * omerta swarm's providers file: one provider a line, "IPv4:PORT
 * [PROVIDER-KEY]" (the key in base64, as known_providers has it), fields
 * separated by blanks; '#' starts a comment; blank lines are skipped. A
 * provider listed twice is an error (one pilot count per provider).
 */
#ifndef OMERTA_CLI_PROVIDERS_H
#define OMERTA_CLI_PROVIDERS_H

#include <stddef.h>
#include <stdint.h>

#define CLI_PROVIDERS_MAX 256
#define CLI_PROVIDERS_MAX_FILE (64 * 1024)

struct cli_provider {
	char hostport[22];		/* "a.b.c.d:port", as written canonically */
	uint8_t ip[4];
	uint16_t port;
	uint8_t key[32];
	int has_key;
	unsigned int line;
};

/*
 * Parses len bytes of buf (no NUL needed) into out[0..*n), at most
 * CLI_PROVIDERS_MAX. 0, or -EINVAL with one printable line in err naming
 * the line and the bad text ("line 3: not IPv4:PORT: 'x'"), *n then 0.
 */
int cli_providers_parse(const char *buf, size_t len, struct cli_provider *out, size_t *n,
			char *err, size_t errlen);

#endif
