/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* omerta, the consumer CLI: one function per verb; main.c is the table. */
#ifndef OMERTA_CLI_H
#define OMERTA_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/exit.h"

/* What a verb's option parser returns to go on: not an exit status (those are 0..255). */
#define GO_ON -1

struct omt_job_files;
struct omt_wg_dev;
struct cli_http;
struct cli_resp;

int keygen_main(int argc, char **argv);
int submit_main(int argc, char **argv);
int swarm_main(int argc, char **argv);
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

/* consumer/common.c: what submit and swarm share. */

/* An option's number in lo..hi into *out; else says so ("VERB: OPT must be ...") and -EINVAL. */
int cli_parse_uint(const char *verb, const char *opt, const char *s, unsigned int lo,
		   unsigned int hi, unsigned int *out);
/* Our address on the way to ip:port: where a VM there should send its UDP. 0 or -errno. */
int cli_local_ip_towards(const uint8_t ip[4], uint16_t port, uint8_t out[4]);
/* A 10.77.X.0/24 that no interface here uses: X. 0 or -errno. */
int cli_pick_subnet(uint8_t *x);
/* "HTTP 403: the provider's reason" of a refusal, into buf. */
void cli_refusal_text(const struct cli_resp *r, char *buf, size_t size);
/*
 * libsodium and libcurl started, our identity (the file, or the config
 * directory's) into h, and unless h has the provider's key, the
 * known_providers file to pin it in. 0 or an exit status, having said why.
 */
int cli_load_identity(const char *verb, const char *identity, struct cli_http *h);
/* SIGINT, SIGTERM and SIGHUP to handler; SIGPIPE ignored. */
void cli_catch_signals(void (*handler)(int));
/* A WireGuard interface named PREFIX and 8 random hex digits. 0, or -1 having said why. */
int cli_tunnel_create(const char *verb, const char *prefix, char ifname[16], struct omt_wg_dev *d);

#endif
