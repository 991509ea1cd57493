/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A running job's control socket, JOBDIR/control (root only, like the
 * directory): one command line in ("pause", "resume", "checkpoint",
 * "restore"), one reply line out ("ok TEXT" or "error TEXT"). exec serves
 * it; the verbs of the same names and the daemon's API are its clients.
 */
#ifndef OMERTA_CONTROL_H
#define OMERTA_CONTROL_H

#include <stddef.h>

#define OMT_CONTROL_SOCKET "control"
/* Longest command or reply line, newline included. */
#define OMT_CONTROL_MAX_LINE 512

/* The listening socket in dir (non-blocking, close-on-exec), or -errno. */
int omt_control_listen(const char *dir);
/*
 * Accepts one client on the listening fd and reads its command line (at
 * most 1 s) into cmd. Returns the connected fd to answer on, or -errno.
 */
int omt_control_accept(int lfd, char *cmd, size_t len);
/* Sends "ok TEXT" (ok) or "error TEXT" and closes fd. */
void omt_control_reply(int fd, int ok, const char *text);
/*
 * Client: sends cmd to job's exec and waits up to timeout_ms for the reply.
 * Returns 1 for "ok", 0 for "error" (reply holds the text either way), or
 * -errno when the job can't be reached (reply says why).
 */
int omt_control_request(const char *job, const char *cmd, int timeout_ms, char *reply,
			size_t len);

#endif
