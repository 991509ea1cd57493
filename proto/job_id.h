/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A job's id: OMT_JOB_ID_LEN lowercase hex digits. The daemon's API, exec's
 * --job-id, the job's directory under /run/omerta/jobs and the control
 * verbs all name a job by it.
 */
#ifndef OMERTA_JOB_ID_H
#define OMERTA_JOB_ID_H

#define OMT_JOB_ID_LEN 8

/* 0 if s is OMT_JOB_ID_LEN lowercase hex digits and nothing more, else -EINVAL. */
int omt_job_id_validate(const char *s);

#endif
