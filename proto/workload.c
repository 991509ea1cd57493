// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>

#include "workload.h"

#define LANG(l) (1u << (l))

static const struct {
	const char *name, *file;
	bool disk;
	unsigned int languages;		/* LANG() of each it has */
} images[] = {
	[OMT_JOB_IMAGE_DEFAULT] = { NULL },
	[OMT_JOB_IMAGE_MINIMAL] = { "minimal", "base.cpio.gz", false, LANG(OMT_JOB_LANGUAGE_SH) },
	[OMT_JOB_IMAGE_DEBIAN] = { "debian", "debian.sqfs", true,
				   LANG(OMT_JOB_LANGUAGE_SH) | LANG(OMT_JOB_LANGUAGE_BASH) |
					   LANG(OMT_JOB_LANGUAGE_PYTHON) },
};
_Static_assert(sizeof(images) / sizeof(images[0]) == OMT_JOB__IMAGE_COUNT,
	       "every image needs a row");

static const struct {
	const char *name, *interpreter;
} languages[] = {
	[OMT_JOB_LANGUAGE_DEFAULT] = { NULL },
	[OMT_JOB_LANGUAGE_SH] = { "sh", "/bin/sh" },
	[OMT_JOB_LANGUAGE_BASH] = { "bash", "/bin/bash" },
	[OMT_JOB_LANGUAGE_PYTHON] = { "python", "/usr/bin/python3" },
};
_Static_assert(sizeof(languages) / sizeof(languages[0]) == OMT_JOB__LANGUAGE_COUNT,
	       "every language needs a row");

enum omt_job_image omt_image_resolve(enum omt_job_image i)
{
	return i == OMT_JOB_IMAGE_DEFAULT ? OMT_JOB_IMAGE_DEBIAN : i;
}

enum omt_job_language omt_language_resolve(enum omt_job_language l)
{
	return l == OMT_JOB_LANGUAGE_DEFAULT ? OMT_JOB_LANGUAGE_SH : l;
}

const char *omt_image_name(enum omt_job_image i)
{
	return (unsigned int)i < OMT_JOB__IMAGE_COUNT ? images[i].name : NULL;
}

int omt_image_parse(const char *s, enum omt_job_image *out)
{
	unsigned int i;

	for (i = OMT_JOB_IMAGE_DEFAULT + 1; i < OMT_JOB__IMAGE_COUNT; i++)
		if (strcmp(s, images[i].name) == 0) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

const char *omt_image_file(enum omt_job_image i)
{
	i = omt_image_resolve(i);
	return (unsigned int)i < OMT_JOB__IMAGE_COUNT ? images[i].file : NULL;
}

bool omt_image_is_disk(enum omt_job_image i)
{
	i = omt_image_resolve(i);
	return (unsigned int)i < OMT_JOB__IMAGE_COUNT && images[i].disk;
}

bool omt_image_has_language(enum omt_job_image i, enum omt_job_language l)
{
	i = omt_image_resolve(i);
	l = omt_language_resolve(l);
	return (unsigned int)i < OMT_JOB__IMAGE_COUNT && (unsigned int)l < OMT_JOB__LANGUAGE_COUNT &&
	       (images[i].languages & LANG(l));
}

const char *omt_language_name(enum omt_job_language l)
{
	return (unsigned int)l < OMT_JOB__LANGUAGE_COUNT ? languages[l].name : NULL;
}

int omt_language_parse(const char *s, enum omt_job_language *out)
{
	unsigned int i;

	for (i = OMT_JOB_LANGUAGE_DEFAULT + 1; i < OMT_JOB__LANGUAGE_COUNT; i++)
		if (strcmp(s, languages[i].name) == 0) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

const char *omt_language_interpreter(enum omt_job_language l)
{
	l = omt_language_resolve(l);
	return (unsigned int)l < OMT_JOB__LANGUAGE_COUNT ? languages[l].interpreter : NULL;
}
