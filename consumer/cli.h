/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* omerta, the consumer CLI: one function per verb; main.c is the table. */
#ifndef OMERTA_CLI_H
#define OMERTA_CLI_H

#include <stddef.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

int keygen_main(int argc, char **argv);
int submit_main(int argc, char **argv);
int vpn_main(int argc, char **argv);

/* ~/.config/omerta/NAME (or $OMERTA_HOME/NAME); the directory is created 0700. */
int cli_config_path(const char *name, char *out, size_t size);

#endif
