// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta-loader's verb table. Built twice: omerta-loader with every verb,
 * and, with OMT_EXEC_ONLY, omerta-loader-exec with the exec verb alone,
 * linked without the daemon's libraries (TLS, HTTP): `exec` runs once per
 * VM, so omerta-loader hands it to omerta-loader-exec when it is installed
 * beside it, and the process that lives as long as the VM maps and touches
 * only what a job needs (bench/loader_mem.sh).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef OMT_EXEC_ONLY
#include "../daemon/daemon.h"
#endif
#include "../exec/exec.h"
#include "../guard/guard_bpf.h"
#include "../lib/file.h"
#include "../lib/log.h"
#include "../proto/exit.h"
#include "journal.h"
#include "verbs.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *description;
} verbs[] = {
#ifdef OMT_EXEC_ONLY
	{ "exec", exec_main, "Run one job in a fresh microVM, WireGuard its only way out" },
#else
	{ "guard", guard_main, "Attach the WireGuard-only guard to an interface" },
	{ "exec", exec_main, "Run one job in a fresh microVM, WireGuard its only way out" },
	{ "run", run_main, "The provider daemon: signed job requests, policy, queue, audit log" },
	{ "status", status_main, "The jobs on this host and what their guards counted" },
	{ "checkpoint", control_main, "Save a running job's VM to a file and stop it" },
	{ "restore", control_main, "Start a checkpointed job's VM again from its file" },
	{ "pause", control_main, "Stop a running job's vCPUs (its memory stays)" },
	{ "resume", control_main, "Continue a paused job (or restore a checkpointed one)" },
	{ "cleanup", cleanup_main, "Remove guards, pins and crashed jobs left behind" },
	{ "keygen", keygen_main, "Create the provider's key (Ed25519) file" },
#endif
};

#ifndef OMT_EXEC_ONLY
/*
 * exec in omerta-loader-exec, beside this binary (the build tree, bin/) or
 * in ../lib/omerta/ (installed), with the same arguments. Returns only when
 * there is none (then exec runs here) or it can't be run.
 */
static void exec_lean(char **argv)
{
	static const char *const where[] = { "/omerta-loader-exec", "/../lib/omerta/omerta-loader-exec" };
	char self[PATH_MAX], path[PATH_MAX + 64];
	size_t i;

	if (omt_self_dir(self, sizeof(self)))
		return;
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", self, where[i]);
		if (access(path, X_OK) < 0)
			continue;
		pr_debug("exec runs as %s", path);
		execv(path, argv);
		pr_warn("%s: %s; exec runs in omerta-loader", path, strerror(errno));
		return;
	}
}
#endif

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
	journal_log_init();
	omt_bpf_log_init();
	if (optind >= argc) {
		usage(stderr);
		return OMT_EXIT_USAGE;
	}
#ifndef OMT_EXEC_ONLY
	if (strcmp(argv[optind], "exec") == 0)
		exec_lean(argv);
#endif
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
