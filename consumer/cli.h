/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* omerta, the consumer CLI: one function per verb; main.c is the table. */
#ifndef OMERTA_CLI_H
#define OMERTA_CLI_H

#include <stddef.h>

#include "../proto/exit.h"

struct omt_job_files;

int keygen_main(int argc, char **argv);
int submit_main(int argc, char **argv);
int vpn_main(int argc, char **argv);

/* ~/.config/omerta/NAME (or $OMERTA_HOME/NAME); the directory is created 0700. */
int cli_config_path(const char *name, char *out, size_t size);

/*
 * Writes a job's output files under dir (which must exist), never outside
 * it, never following a symlink or replacing anything (consumer/files.c).
 * 0, or -errno with err naming the path and why; what was written before
 * stays, a file half written does not.
 */
int cli_write_files(const char *dir, const struct omt_job_files *f, char *err, size_t errlen);

#endif
