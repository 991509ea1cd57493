/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Under systemd, omerta-loader's log lines (every verb's, exec's too) go
 * to the journal through its native protocol, each with fields:
 * MESSAGE (the stderr line as it would be), PRIORITY (from the level),
 * SYSLOG_IDENTIFIER, and OMERTA_JOB, OMERTA_CONSUMER, OMERTA_OUTCOME,
 * OMERTA_REASON where the line says them (lib/log.h), so that
 * `journalctl OMERTA_JOB=ID` shows one job's lines.
 */
#ifndef OMERTA_LOADER_JOURNAL_H
#define OMERTA_LOADER_JOURNAL_H

/*
 * The journal as the log's sink when stderr is the journal's stream
 * ($JOURNAL_STREAM names stderr's device and inode, as sd_journal_stream_fd
 * and systemd.exec(5) say to check); else stderr stays. A line the journal
 * does not take goes to stderr all the same.
 */
void journal_log_init(void);

#endif
