// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * omerta-loader status: the jobs on this host — the daemon's (from its
 * state file: queued, running, recently ended) and any `exec` run by hand
 * (from /run/omerta/jobs) — with what their guards counted.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "../guard/totals.h"
#include "../host/jobdir.h"
#include "../lib/log.h"
#include "../proto/exit.h"
#include "verbs.h"

#define STATE_FILE OMT_RUN_DIR "/daemon/state.json"

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int64_t num(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* Adds the guard's counters of a running job to o. */
static void add_counters(json_object *o, const char *job)
{
	struct omt_vm_totals t;
	uint64_t rogue = 0;
	int r;

	if (omt_vm_totals_read(job, &t))
		return;
	for (r = 1; r < OMT_R__COUNT; r++)
		rogue += t.reason[r].packets;
	json_object_object_add(o, "tunnel_packets",
			       json_object_new_int64(t.dir_verdict[0][0].packets +
						     t.dir_verdict[1][0].packets));
	json_object_object_add(o, "tunnel_bytes",
			       json_object_new_int64(t.dir_verdict[0][0].bytes +
						     t.dir_verdict[1][0].bytes));
	json_object_object_add(o, "dropped_packets",
			       json_object_new_int64(t.dir_verdict[0][1].packets +
						     t.dir_verdict[1][1].packets));
	json_object_object_add(o, "rogue_frames", json_object_new_int64(rogue));
}

static int in_list(json_object *a, const char *job)
{
	size_t i;

	for (i = 0; i < json_object_array_length(a); i++)
		if (!strcmp(str(json_object_array_get_idx(a, i), "job"), job))
			return 1;
	return 0;
}

/* A hand-run job's description, as exec wrote it. */
static const char *read_text(const char *job)
{
	static char text[256];
	char path[300];
	ssize_t n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/description", OMT_JOBS_DIR, job);
	f = fopen(path, "re");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n > 0 ? n : 0] = '\0';
	return text;
}

/* Jobs run by `exec` directly: a directory under /run/omerta/jobs, no daemon entry. */
static void add_exec_jobs(json_object *a)
{
	char path[300];
	struct dirent *e;
	struct stat st;
	DIR *dir = opendir(OMT_JOBS_DIR);
	json_object *o;

	while (dir && (e = readdir(dir))) {
		if (omt_job_id_validate(e->d_name) || in_list(a, e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/loader.pid", OMT_JOBS_DIR, e->d_name);
		o = json_object_new_object();
		json_object_object_add(o, "job", json_object_new_string(e->d_name));
		json_object_object_add(o, "consumer", json_object_new_string("-"));
		json_object_object_add(o, "state", json_object_new_string("running"));
		json_object_object_add(o, "description", json_object_new_string(read_text(e->d_name)));
		if (stat(path, &st) == 0)
			json_object_object_add(o, "started", json_object_new_int64(st.st_mtime));
		json_object_array_add(a, o);
	}
	if (dir)
		closedir(dir);
}

static void fmt_age(char *out, size_t size, int64_t since)
{
	int64_t s = since ? time(NULL) - since : -1;

	if (s < 0)
		snprintf(out, size, "-");
	else if (s < 3600)
		snprintf(out, size, "%lldm%02llds", (long long)s / 60, (long long)s % 60);
	else
		snprintf(out, size, "%lldh%02lldm", (long long)s / 3600, (long long)s % 3600 / 60);
}

int status_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	json_object *a, *o;
	int c, json = 0, daemon;
	size_t i;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			printf("Usage: omerta-loader status [--json]\n\n"
			       "The jobs on this host: the daemon's (queued, running, and the last\n"
			       "ended ones) and any exec run by hand, with what their guards counted:\n"
			       "packets and bytes through the tunnel, frames dropped, rogue frames.\n");
			return OMT_EXIT_OK;
		default:
			return OMT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "status: unexpected argument '%s'\n", argv[optind]);
		return OMT_EXIT_USAGE;
	}
	a = json_object_from_file(STATE_FILE);
	daemon = a && json_object_is_type(a, json_type_array);
	if (!daemon) {
		json_object_put(a);
		a = json_object_new_array();
	}
	add_exec_jobs(a);
	for (i = 0; i < json_object_array_length(a); i++) {
		o = json_object_array_get_idx(a, i);
		if (!strcmp(str(o, "state"), "running"))
			add_counters(o, str(o, "job"));
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(a);
		return OMT_EXIT_OK;
	}
	printf("daemon: %s\n", daemon ? "running" : "not running");
	if (!json_object_array_length(a)) {
		printf("no jobs\n");
		json_object_put(a);
		return OMT_EXIT_OK;
	}
	printf("%-8s  %-12s  %-9s  %-9s  %9s  %11s  %7s  %5s  %s\n", "JOB", "CONSUMER", "STATE",
	       "UPTIME", "PACKETS", "BYTES", "DROPPED", "ROGUE", "DESCRIPTION");
	for (i = 0; i < json_object_array_length(a); i++) {
		char age[24], state[40];

		o = json_object_array_get_idx(a, i);
		fmt_age(age, sizeof(age), strcmp(str(o, "state"), "running") ? 0 : num(o, "started"));
		snprintf(state, sizeof(state), "%s", str(o, "state"));
		if (str(o, "outcome")[0])
			snprintf(state, sizeof(state), "%s", str(o, "outcome"));
		printf("%-8s  %-12.12s  %-9.9s  %-9s  %9lld  %11lld  %7lld  %5lld  %.40s\n",
		       str(o, "job"), str(o, "consumer"), state, age, (long long)num(o, "tunnel_packets"),
		       (long long)num(o, "tunnel_bytes"), (long long)num(o, "dropped_packets"),
		       (long long)num(o, "rogue_frames"), str(o, "description"));
	}
	json_object_put(a);
	return OMT_EXIT_OK;
}
