// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *description;
} verbs[] = {
	{ "keygen", keygen_main, "Create an identity (Ed25519 key) file" },
	{ "submit", submit_main, "Run a job on a provider, over a WireGuard tunnel of our own" },
	{ "swarm", swarm_main, "Keep Work Queue workers running as jobs on many providers" },
	{ "vpn", vpn_main, "Show this machine's job tunnels ('vpn status')" },
};

int cli_config_path(const char *name, char *out, size_t size)
{
	const char *home = getenv("OMERTA_HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	char dir[512];

	if (home)
		snprintf(dir, sizeof(dir), "%s", home);
	else if (xdg)
		snprintf(dir, sizeof(dir), "%s/omerta", xdg);
	else if (getenv("HOME"))
		snprintf(dir, sizeof(dir), "%s/.config/omerta", getenv("HOME"));
	else
		return -ENOENT;
	if (!home && !xdg) {
		char parent[520];

		snprintf(parent, sizeof(parent), "%s/.config", getenv("HOME"));
		mkdir(parent, 0700);
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(out, size, "%s/%s", dir, name);
	return 0;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: omerta VERB [OPTIONS]\n\nOmerta's consumer: send jobs to providers.\n\n"
		   "Verbs:\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-8s %s\n", verbs[i].name, verbs[i].description);
	fprintf(f, "\n'omerta VERB --help' for a verb. Files live in $OMERTA_HOME, else\n"
		   "$XDG_CONFIG_HOME/omerta, else ~/.config/omerta.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return OMT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return OMT_EXIT_OK;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "omerta: unknown verb '%s'\n\n", argv[1]);
	usage(stderr);
	return OMT_EXIT_USAGE;
}
