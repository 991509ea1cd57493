// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../api/keys.h"
#include "cli.h"

int keygen_main(int argc, char **argv)
{
	char path[600];
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
	if (argc == 2)
		snprintf(path, sizeof(path), "%s", argv[1]);
	else if ((e = cli_config_path("identity", path, sizeof(path)))) {
		fprintf(stderr, "keygen: no config directory: %s\n", strerror(-e));
		return OMT_EXIT_FAIL;
	}
	return omt_keygen_verb("keygen", "identity", path);
}
