/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The run verb: the provider daemon (docs/omerta-loader.md). */
#ifndef OMERTA_DAEMON_H
#define OMERTA_DAEMON_H

int run_main(int argc, char **argv);

#endif
