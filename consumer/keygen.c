// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "../api/keys.h"
#include "cli.h"

int keygen_main(int argc, char **argv)
{
	char path[600], b64[64];
	uint8_t pk[32];
	int e;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			printf("Usage: omerta keygen [FILE]\n\n"
			       "Creates an Ed25519 identity in FILE (default: the identity file in the\n"
			       "config directory), mode 0600, and prints its public key: the key a\n"
			       "provider's policy names in [consumer \"KEY\"]. A provider's own key is\n"
			       "made the same way. Never overwrites a file.\n");
			return OMT_EXIT_OK;
		}
		fprintf(stderr, "keygen: unexpected argument '%s'\n", argv[argc - 1]);
		return OMT_EXIT_USAGE;
	}
	if (sodium_init() < 0)
		return OMT_EXIT_FAIL;
	if (argc == 2)
		snprintf(path, sizeof(path), "%s", argv[1]);
	else if ((e = cli_config_path("identity", path, sizeof(path)))) {
		fprintf(stderr, "keygen: no config directory: %s\n", strerror(-e));
		return OMT_EXIT_FAIL;
	}
	e = omt_key_generate(path, pk);
	if (e) {
		fprintf(stderr, "keygen: '%s': %s\n", path,
			e == -EEXIST ? "exists already (not overwritten)" : strerror(-e));
		return OMT_EXIT_FAIL;
	}
	omt_key_b64(pk, b64);
	printf("%s\n", b64);
	fprintf(stderr, "identity written to %s\n", path);
	return OMT_EXIT_OK;
}
