// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta-loader keygen FILE: the provider's own key, made without the
 * consumer's CLI (the omerta-loader package's postinst runs it for
 * /etc/omerta/provider.key). The same file format as `omerta keygen`.
 */
#include <stdio.h>
#include <string.h>

#include "../api/keys.h"
#include "../proto/exit.h"
#include "verbs.h"

int keygen_main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: omerta-loader keygen FILE\n\n"
		       "Creates the provider's Ed25519 key in FILE (mode 0600; the [provider]\n"
		       "key of the policy, e.g. /etc/omerta/provider.key) and prints its public\n"
		       "key: the key consumers pin for this provider. Never overwrites a file.\n"
		       "\nExit status: 0 written, 1 failure (FILE exists, or can't be written),\n"
		       "2 bad usage.\n");
		return OMT_EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, argc == 1 ? "keygen: FILE missing\n" : "keygen: unexpected argument '%s'\n",
			argv[argc - 1]);
		fprintf(stderr, "Usage: omerta-loader keygen FILE\n");
		return OMT_EXIT_USAGE;
	}
	return omt_keygen_verb("keygen", "provider key", argv[1]);
}
