/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The guest images and the languages of a job's script: their names (the
 * API's "image"/"language", exec's --image/--language, the job spec's
 * "image"), each image's root filesystem and which languages it has.
 *
 *   minimal  base.cpio.gz (the initramfs itself): busybox; sh
 *   debian   debian.sqfs, a read-only disk: Debian 12; sh, bash, python
 *
 * DEFAULT is "not asked for": the debian image, and sh.
 */
#ifndef OMERTA_WORKLOAD_H
#define OMERTA_WORKLOAD_H

#include <stdbool.h>

enum omt_job_image {
	OMT_JOB_IMAGE_DEFAULT,
	OMT_JOB_IMAGE_MINIMAL,
	OMT_JOB_IMAGE_DEBIAN,
	OMT_JOB__IMAGE_COUNT,
};

enum omt_job_language {
	OMT_JOB_LANGUAGE_DEFAULT,
	OMT_JOB_LANGUAGE_SH,
	OMT_JOB_LANGUAGE_BASH,
	OMT_JOB_LANGUAGE_PYTHON,
	OMT_JOB__LANGUAGE_COUNT,
};

/* DEFAULT as what it stands for; anything else as it is. */
enum omt_job_image omt_image_resolve(enum omt_job_image i);
enum omt_job_language omt_language_resolve(enum omt_job_language l);

/* "minimal", "debian"; NULL for DEFAULT and out of range. */
const char *omt_image_name(enum omt_job_image i);
/* 0 and *out if s names an image, else -EINVAL. */
int omt_image_parse(const char *s, enum omt_job_image *out);
/* The image's root filesystem: a file name under the image directory. */
const char *omt_image_file(enum omt_job_image i);
/* Whether the VM gets it as a read-only disk (else it is the initramfs). */
bool omt_image_is_disk(enum omt_job_image i);
/* Whether the image has the language's interpreter. */
bool omt_image_has_language(enum omt_job_image i, enum omt_job_language l);

/* "sh", "bash", "python"; NULL for DEFAULT and out of range. */
const char *omt_language_name(enum omt_job_language l);
int omt_language_parse(const char *s, enum omt_job_language *out);
/* Its interpreter in the guest: "/bin/sh", ... */
const char *omt_language_interpreter(enum omt_job_language l);

#endif
