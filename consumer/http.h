/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Signed requests to a provider (libcurl) and signed answers from it: the
 * provider's key is given (--provider-key) or pinned on first use in the
 * known_providers file, like SSH's known_hosts; an answer that is not
 * signed by that key is an error, never a result.
 */
#ifndef OMERTA_CLI_HTTP_H
#define OMERTA_CLI_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct cli_http {
	char hostport[64];		/* IPv4:PORT, as known_providers has it */
	int plain;			/* HTTP, not TLS (the provider's tls = off) */
	uint8_t sk[64], pk[32];		/* our identity */
	uint8_t provider[32];
	int have_provider;
	char known_file[600];
};

struct cli_resp {
	long status;
	char *body;
	size_t len;
	/*
	 * An unsigned refusal (status 400..599): the provider did not verify
	 * the request (api/sign.h). Over TLS it still comes from the pinned
	 * key's holder; it is only ever taken as a refusal.
	 */
	int unverified;
};

int cli_http_init(void);
/* 0 with r filled (any HTTP status), or -errno with err set. */
int cli_request(struct cli_http *h, const char *method, const char *path, const char *body,
		struct cli_resp *r, char *err, size_t errlen);
/* The same, for an answer of up to max bytes (the default is 4 MiB), as long as it moves. */
int cli_request_max(struct cli_http *h, const char *method, const char *path, const char *body,
		    size_t max, struct cli_resp *r, char *err, size_t errlen);
void cli_resp_free(struct cli_resp *r);

#endif
