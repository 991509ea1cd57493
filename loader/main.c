// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../daemon/daemon.h"
#include "../exec/exec.h"
#include "../guard/guard_bpf.h"
#include "../lib/log.h"
#include "../proto/exit.h"
#include "verbs.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *description;
} verbs[] = {
	{ "guard", guard_main, "Attach the WireGuard-only guard to an interface" },
	{ "exec", exec_main, "Run one job in a fresh microVM, WireGuard its only way out" },
	{ "run", run_main, "The provider daemon: signed job requests, policy, queue, audit log" },
	{ "status", status_main, "The jobs on this host and what their guards counted" },
	{ "checkpoint", control_main, "Save a running job's VM to a file and stop it" },
	{ "restore", control_main, "Start a checkpointed job's VM again from its file" },
	{ "pause", control_main, "Stop a running job's vCPUs (its memory stays)" },
	{ "resume", control_main, "Continue a paused job (or restore a checkpointed one)" },
	{ "cleanup", cleanup_main, "Remove guards, pins and crashed jobs left behind" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: omerta-loader [-v] VERB [OPTIONS]\n\n"
		   "Omerta's provider: the in-kernel WireGuard-only guard, microVM jobs, the daemon.\n\n"
		   "Verbs:\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].description);
	fprintf(f, "\nGlobal options:\n"
		   "  -v, --verbose  debug messages (libbpf's too)\n"
		   "  -h, --help     this text; 'omerta-loader VERB --help' for a verb\n"
		   "\nExit status: 0 success, 1 failure, 2 bad usage.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum omt_log_level level = OMT_LOG_INFO;
	size_t i;
	int c;

	/* '+': stop at the verb, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			level = OMT_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return OMT_EXIT_OK;
		default:
			usage(stderr);
			return OMT_EXIT_USAGE;
		}
	}
	omt_log_init("omerta-loader", level);
	omt_bpf_log_init();
	if (optind >= argc) {
		usage(stderr);
		return OMT_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[optind], verbs[i].name) == 0) {
			argc -= optind;
			argv += optind;
			optind = 0;	/* the verb's getopt starts afresh */
			return verbs[i].fn(argc, argv);
		}
	}
	fprintf(stderr, "omerta-loader: unknown verb '%s'\n\n", argv[optind]);
	usage(stderr);
	return OMT_EXIT_USAGE;
}
