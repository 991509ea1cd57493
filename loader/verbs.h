/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One function per verb, <verb>_main(argc, argv); main.c is the table. */
#ifndef OMERTA_VERBS_H
#define OMERTA_VERBS_H

int guard_main(int argc, char **argv);
int cleanup_main(int argc, char **argv);
int status_main(int argc, char **argv);
/* checkpoint, restore, pause, resume: argv[0] is the verb. */
int control_main(int argc, char **argv);

#endif
