/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-job scratch directories under /run/omerta/jobs/JOB (tmpfs), which
 * also record who owns the job, so that a later start can tell a crashed
 * run's leftovers from a live one's and remove them.
 */
#ifndef OMERTA_JOBDIR_H
#define OMERTA_JOBDIR_H

#include <stddef.h>
#include <sys/types.h>

#define OMT_RUN_DIR "/run/omerta"
#define OMT_JOBS_DIR OMT_RUN_DIR "/jobs"
#define OMT_JOB_ID_LEN 8

/* A fresh random job id (8 hex digits) and its directory, mode 0700. */
int omt_jobdir_create(char id[OMT_JOB_ID_LEN + 1], char *dir, size_t size);
/* Records a pid under name ("loader.pid", "qemu.pid") in the job's directory. */
int omt_jobdir_write_pid(const char *dir, const char *name, pid_t pid);
/* Removes the directory and everything in it. */
int omt_jobdir_remove(const char *dir);
/*
 * Removes every job whose loader is gone: its QEMU (if somehow alive), NAT
 * table (in this network namespace), cgroups and directory. Returns how
 * many were removed.
 */
int omt_jobdir_reap_stale(void);

#endif
