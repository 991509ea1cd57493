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

#include "../proto/job_id.h"

#define OMT_RUN_DIR "/run/omerta"
#define OMT_JOBS_DIR OMT_RUN_DIR "/jobs"
/* The daemon's: its lock (held while it runs), the state directory it uses. */
#define OMT_DAEMON_DIR OMT_RUN_DIR "/daemon"
#define OMT_DAEMON_LOCK OMT_DAEMON_DIR "/lock"
#define OMT_DAEMON_STATE_DIR_FILE OMT_DAEMON_DIR "/state_dir"

/*
 * The job's directory, mode 0700, for want (8 hex digits) or, when want is
 * NULL, a fresh random id. -EEXIST when want's directory exists already
 * (another job's); on any error dir is "", so that nothing is removed that
 * this call did not make.
 */
int omt_jobdir_create(const char *want, char id[OMT_JOB_ID_LEN + 1], char *dir, size_t size);
/* A fresh random job id. */
int omt_jobdir_new_id(char id[OMT_JOB_ID_LEN + 1]);
/*
 * Ownership: the job's loader holds an exclusive lock on DIR/owner for
 * as long as it lives (the returned fd, close-on-exec, so that QEMU does
 * not inherit it). 0 <= fd, or -errno.
 */
int omt_jobdir_hold(const char *dir);
/*
 * 1 if a live loader holds dir's lock, or the directory is so new that its
 * loader may not have taken it yet; 0 if nobody owns it.
 */
int omt_jobdir_owned(const char *dir);
/* 1 if a live job's tap (the "tap" record of an owned job directory) is named ifname. */
int omt_jobdir_live_tap(const char *ifname);
/* Records a pid under name ("loader.pid", "qemu.pid") in the job's directory. */
int omt_jobdir_write_pid(const char *dir, const char *name, pid_t pid);
/* Writes text as the file name in the job's directory (for status). */
int omt_jobdir_write_text(const char *dir, const char *name, const char *text);
/*
 * A warm VM's directory becomes its job's: dir (of old_id, in a buffer of
 * size) is renamed to new_id's, never over another, and records old_id in
 * "vm". 0 or -errno.
 */
int omt_jobdir_rename(char *dir, size_t size, const char *old_id, const char *new_id);
/* Removes the directory and everything in it (lib/tree.h). 0 also when it is gone already. */
int omt_jobdir_remove(const char *dir);
/*
 * Removes every job that no live loader owns (omt_jobdir_owned): its QEMU
 * (if somehow alive), NAT table and tap (in this network namespace: any
 * tun device named omtJOB whose job is not owned), cgroups and directory.
 * Returns how many jobs and taps were removed.
 */
int omt_jobdir_reap_stale(void);
/*
 * Removes what a dead daemon's jobs left in dir (a state directory's
 * jobs/): every entry named JOB.something whose job no live loader owns
 * (omt_jobdir_owned of OMT_JOBS_DIR/JOB). Other names stay, said in the
 * log. Only while no live daemon uses dir (the caller holds the daemon's
 * lock, or found it free): a queued job's files have no owner yet.
 * Returns how many entries were removed; dir missing: 0.
 */
int omt_jobdir_reap_files(const char *dir);
/* omt_jobdir_reap_files of the jobs/ of the state directory OMT_DAEMON_STATE_DIR_FILE names. */
int omt_jobdir_reap_recorded(void);

#endif
