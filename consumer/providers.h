/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A provider's address, "[https://|http://]IPv4:PORT": TLS (the default,
 * https://) or, written http://, plain HTTP, for tests and trusted
 * networks (its provider has tls = off).
 *
 * omerta swarm's providers file: one provider a line, "ADDRESS
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

/* s as a provider's address: 0, or -EINVAL. plain: written http://. */
int cli_provider_address(const char *s, uint8_t ip[4], uint16_t *port, int *plain);

struct cli_provider {
	char hostport[22];		/* "a.b.c.d:port", as written canonically */
	uint8_t ip[4];
	uint16_t port;
	int plain;			/* http:// */
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
