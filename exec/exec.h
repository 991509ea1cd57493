/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The exec verb: one job in a fresh microVM (docs/omerta-loader.md). */
#ifndef OMERTA_EXEC_H
#define OMERTA_EXEC_H

int exec_main(int argc, char **argv);

#endif
