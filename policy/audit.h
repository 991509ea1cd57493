/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The audit log: what the provider admitted or refused, one JSON object per
 * line (JSON Lines), appended. Each line is written and fsync'ed before
 * omt_audit_write returns, so that a crash cannot lose a decision that was
 * acted on. Safe to call from several threads.
 */
#ifndef OMERTA_AUDIT_H
#define OMERTA_AUDIT_H

#include <stddef.h>

#include <json-c/json.h>

struct omt_audit;

/*
 * Opens path for appending (created mode 0640 less the umask; its
 * directory is not created). 0, or -errno with one line in err naming the
 * file, or the missing directory. err may be NULL.
 */
int omt_audit_open(const char *path, struct omt_audit **out, char *err, size_t errlen);
/*
 * Opens path afresh, as omt_audit_open does, and appends there from the
 * next line on: after the file was moved aside (logrotate). No line is
 * lost or written twice: each went whole to one file or the other. On
 * failure the file open until now stays in use, and err names path (and
 * the missing directory). 0 or -errno. Safe while other threads write.
 */
int omt_audit_reopen(struct omt_audit *a, const char *path, char *err, size_t errlen);
void omt_audit_close(struct omt_audit *a);
/*
 * Appends {"ts":"2024-05-01T12:00:00.123456Z", ...the members of obj...}
 * and a newline, then fsyncs. obj stays the caller's, unchanged; it must be
 * a JSON object without a "ts" member (-EINVAL). 0 or -errno.
 */
int omt_audit_write(struct omt_audit *a, json_object *obj);

#endif
