// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The job's files: read before anything is set up (a job refused for one
 * leaves nothing behind), then handed to the guest in the initramfs
 * segment (proto/job_spec.h) and let go.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/file.h"
#include "../proto/job_spec.h"
#include "job.h"

int jobfiles_read_vpn_config(struct job *j, char *err, size_t errlen)
{
	int e;

	if ((e = omt_wgconf_load(j->args.job.vpn_config, &j->files.wg, err, errlen)))
		return e;
	return omt_read_file(j->args.job.vpn_config, OMT_WGCONF_MAX_FILE, &j->files.wg_text,
			     &j->files.wg_len, err, errlen);
}

static void free_wg_text(struct job_files *f)
{
	if (f->wg_text)
		explicit_bzero(f->wg_text, f->wg_len);
	free(f->wg_text);
	f->wg_text = NULL;
}

void jobfiles_forget_vpn_config(struct job *j)
{
	free_wg_text(&j->files);
	omt_wgconf_clear(&j->files.wg);
}

int jobfiles_read_script(struct job *j, char *err, size_t errlen)
{
	if (!j->args.job.script)
		return 0;
	return omt_read_file(j->args.job.script, OMT_JOB_MAX_SCRIPT, &j->files.script,
			     &j->files.script_len, err, errlen);
}

/*
 * The --input files, read whole, as initramfs entries under job/input/ (the
 * directory first). Names are the files' base names, each once.
 */
int jobfiles_read_inputs(struct job *j, char *err, size_t errlen)
{
	const struct omt_job_args *a = &j->args.job;
	struct job_files *f = &j->files;
	const size_t prefix = strlen(OMT_JOB_INPUT_DIR "/");
	uint64_t total = 0;
	unsigned int i, k;
	size_t len;
	int e;

	if (!a->n_inputs)
		return 0;
	f->inputs[f->n_inputs++] = (struct omt_initrd_file){ OMT_JOB_INPUT_DIR, S_IFDIR | 0555,
							     "", 0 };
	for (i = 0; i < a->n_inputs; i++) {
		const char *base = strrchr(a->inputs[i], '/');

		base = base ? base + 1 : a->inputs[i];
		if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
			snprintf(err, errlen, "--input '%s' names no file", a->inputs[i]);
			return -EINVAL;
		}
		for (k = 0; k < i; k++)
			if (strcmp(f->inputs[k + 1].name + prefix, base) == 0) {
				snprintf(err, errlen, "--input '%s' and '%s' would both be "
						      "/job/input/%s", a->inputs[k], a->inputs[i], base);
				return -EEXIST;
			}
		if ((e = omt_read_file(a->inputs[i], OMT_EXEC_MAX_INPUT_BYTES - total,
				       &f->input_data[i], &len, err, errlen))) {
			if (e == -EFBIG)
				snprintf(err, errlen, "--input '%s': the inputs come to more than "
						      "%llu MiB", a->inputs[i],
					 OMT_EXEC_MAX_INPUT_BYTES >> 20);
			return e;
		}
		total += len;
		if (asprintf(&f->input_names[i], OMT_JOB_INPUT_DIR "/%s", base) < 0) {
			f->input_names[i] = NULL;
			return -ENOMEM;
		}
		f->inputs[f->n_inputs++] = (struct omt_initrd_file){ f->input_names[i], 0444,
								     f->input_data[i], len };
	}
	return 0;
}

/* What the agent runs (proto/job_spec.h). */
static int spec_json(const struct job *j, char **json)
{
	const struct omt_exec_args *a = &j->args;
	char *script_argv[] = { (char *)omt_language_interpreter(a->job.language),
				(char *)"/" OMT_JOB_SCRIPT_FILE, NULL };
	char *env[OMT_EXEC_MAX_ENV + 1] = { 0 };
	struct omt_job_spec spec = {
		.eth_prefix = OMT_VMNET_PREFIX,
		.firewall = a->job.firewall,
		.handshake_timeout = a->job.handshake_timeout,
		.image = a->vm.image,
		.scratch_mib = a->vm.scratch_mib ? a->vm.scratch_mib : a->vm.memory_mib / 2,
		.output = a->job.output_dir != NULL,
		.argv = a->job.script ? script_argv : a->job.command,
		.env = env,
	};
	unsigned int i;

	memcpy(spec.eth_ip, j->host.net.vm, 4);
	memcpy(spec.gateway, j->host.net.gateway, 4);
	for (i = 0; i < a->job.n_env; i++)
		env[i] = (char *)a->job.env[i];
	return omt_job_spec_format(&spec, json);
}

/*
 * job.json, wg0.conf, the script and the inputs as a newc segment after
 * base (NULL: alone) into *fd; then all read but the parsed WireGuard
 * config is let go.
 */
static int build_segment(struct job *j, const char *base, int *fd, char *err, size_t errlen)
{
	struct omt_initrd_file files[3 + 1 + OMT_JOB_MAX_INPUTS];
	struct job_files *f = &j->files;
	char *json;
	int e, n = 0;

	if ((e = spec_json(j, &json))) {
		snprintf(err, errlen, "job spec: %s", strerror(-e));
		return e;
	}
	files[n++] = (struct omt_initrd_file){ OMT_JOB_SPEC_FILE, 0600, json, strlen(json) };
	files[n++] = (struct omt_initrd_file){ OMT_JOB_WG_FILE, 0600, f->wg_text, f->wg_len };
	if (f->script)
		files[n++] = (struct omt_initrd_file){ OMT_JOB_SCRIPT_FILE, 0755, f->script,
						       f->script_len };
	memcpy(files + n, f->inputs, f->n_inputs * sizeof(files[0]));
	n += f->n_inputs;
	e = omt_initrd_build(base, files, n, fd);
	free(json);
	if (e) {
		snprintf(err, errlen, "guest initramfs%s%s: %s", base ? " from " : "",
			 base ? base : "", strerror(-e));
		return e;
	}
	/* The segment has them now. */
	jobfiles_free_inputs(j);
	jobfiles_free_script(j);
	free_wg_text(&j->files);
	return 0;
}

/* The minimal image is the initramfs every VM boots from. */
static void base_image(const struct job *j, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", j->host.image_dir, omt_image_file(OMT_JOB_IMAGE_MINIMAL));
}

int jobfiles_build_initrd(struct job *j, char *err, size_t errlen)
{
	char path[512];

	base_image(j, path, sizeof(path));
	return build_segment(j, path, &j->vm.initrd_fd, err, errlen);
}

int jobfiles_base_initrd(struct job *j, char *err, size_t errlen)
{
	char path[512];
	int e;

	base_image(j, path, sizeof(path));
	if ((e = omt_memfd_from_file(path, "omerta-initrd", &j->vm.initrd_fd)))
		snprintf(err, errlen, "guest initramfs %s: %s", path, strerror(-e));
	return e;
}

int jobfiles_segment(struct job *j, int *fd, char *err, size_t errlen)
{
	return build_segment(j, NULL, fd, err, errlen);
}

void jobfiles_free_inputs(struct job *j)
{
	struct job_files *f = &j->files;
	int i;

	for (i = 0; i < OMT_JOB_MAX_INPUTS; i++) {
		free(f->input_data[i]);
		free(f->input_names[i]);
		f->input_data[i] = f->input_names[i] = NULL;
	}
	f->n_inputs = 0;
}

void jobfiles_free_script(struct job *j)
{
	free(j->files.script);
	j->files.script = NULL;
}
