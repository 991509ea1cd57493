/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Exit codes every omerta-loader verb and the consumer share (docs/omerta-loader.md). */
#ifndef OMERTA_EXIT_H
#define OMERTA_EXIT_H

#define OMT_EXIT_OK 0
#define OMT_EXIT_FAIL 1
#define OMT_EXIT_USAGE 2

#endif
