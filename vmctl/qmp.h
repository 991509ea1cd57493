/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A small QMP client over a connected socket: greeting, commands, replies. */
#ifndef OMERTA_QMP_H
#define OMERTA_QMP_H

#include <stddef.h>

#include <json-c/json.h>

struct omt_qmp {
	int fd;
	char buf[16384];
	size_t len;
};

void omt_qmp_init(struct omt_qmp *q, int fd);
/* Reads the greeting and negotiates capabilities. 0, -ETIMEDOUT, -EPROTO. */
int omt_qmp_handshake(struct omt_qmp *q, int timeout_ms);
/*
 * Runs {"execute": cmd, "arguments": args_json (may be NULL)}; skips events;
 * 0 on "return", -EPROTO on "error" (its description into err), -ETIMEDOUT.
 */
int omt_qmp_execute(struct omt_qmp *q, const char *cmd, const char *args_json,
		    int timeout_ms, char *err, size_t errlen);
/* "getfd": passes fd (SCM_RIGHTS) to QEMU under name, for "fd:NAME" URIs. */
int omt_qmp_getfd(struct omt_qmp *q, const char *name, int fd, int timeout_ms, char *err,
		  size_t errlen);
/*
 * Polls query-migrate (every 10 ms) until the migration, either way, is
 * "completed": 0; "failed"/"cancelled": -EIO; -ETIMEDOUT; err says which.
 */
int omt_qmp_wait_migration(struct omt_qmp *q, int timeout_ms, char *err, size_t errlen);

#endif
