/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One function per verb, <verb>_main(argc, argv); main.c is the table. */
#ifndef OMERTA_VERBS_H
#define OMERTA_VERBS_H

int guard_main(int argc, char **argv);
int cleanup_main(int argc, char **argv);
int status_main(int argc, char **argv);
int keygen_main(int argc, char **argv);
/* checkpoint, restore, pause, resume: argv[0] is the verb. */
int control_main(int argc, char **argv);

/*
 * The standalone guard's ownership (loader/guard.c): it holds an exclusive
 * lock on OMT_RUN_DIR/guard.lock, which names its interface, while it
 * runs. guard_lock_hold: the fd, or -errno (-EWOULDBLOCK: another guard
 * runs). guard_lock_live: 1 with dev its interface if a guard holds it;
 * else 0, and a dead guard's lock file is removed.
 */
int guard_lock_hold(const char *dev);
int guard_lock_live(char *dev, size_t size);

#endif
