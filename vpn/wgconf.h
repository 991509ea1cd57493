/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The VM's WireGuard config, in the wg-quick format that `wg-quick` and
 * `wg setconf` read. It comes from the consumer, so it is parsed as
 * untrusted input, and narrowed to what an Omerta guest can use:
 *
 * - exactly one [Interface] and one [Peer]: the VM talks to one endpoint;
 * - IPv4 only (guests have no IPv6), one interface Address;
 * - Endpoint is a literal IPv4:PORT: the guard allows one address, so a
 *   host name would have to be resolved by someone we would then trust;
 * - PreUp, PostUp, PreDown and PostDown are refused: they are shell
 *   commands, which we never run, and a config that relies on them would
 *   silently not work;
 * - DNS, Table, SaveConfig and FwMark are accepted and ignored, so that
 *   consumers can hand over the config they use elsewhere. They only shape
 *   the guest's own resolver, routing and socket marks, which the guest
 *   controls anyway; none of them can widen what the guard lets through;
 * - a key given twice is an error (wg takes the last one silently), except
 *   AllowedIPs, which adds up as in wg, and Address, which is one address
 *   however it is spread over lines;
 * - AllowedIPs have their host bits cleared, as wg does.
 *
 * Keys and section names are case-insensitive, '#' starts a comment, values
 * are trimmed, CRLF line ends and a UTF-8 BOM are accepted. Errors never
 * show PrivateKey or PresharedKey, nor any unrecognised text long enough
 * to hold a key.
 */
#ifndef OMERTA_WGCONF_H
#define OMERTA_WGCONF_H

#include <stddef.h>
#include <stdint.h>

#define OMT_WG_KEY_LEN 32
#define OMT_WG_MAX_ALLOWED_IPS 16
#define OMT_WGCONF_MAX_LINE 4096		/* bytes, before comments are cut */
#define OMT_WGCONF_MAX_FILE (64 * 1024)

struct omt_wg_cidr {
	uint8_t ip[4];
	uint8_t prefix;
};

struct omt_wgconf {
	uint8_t private_key[OMT_WG_KEY_LEN];
	struct omt_wg_cidr address;	/* the interface's address and prefix */
	uint16_t listen_port;		/* 0 = any */
	uint16_t mtu;			/* 0 = default */
	uint8_t peer_public_key[OMT_WG_KEY_LEN];
	uint8_t preshared_key[OMT_WG_KEY_LEN];
	int has_preshared_key;
	uint8_t endpoint_ip[4];
	uint16_t endpoint_port;
	struct omt_wg_cidr allowed_ips[OMT_WG_MAX_ALLOWED_IPS];
	int n_allowed_ips;		/* 1..OMT_WG_MAX_ALLOWED_IPS */
	uint16_t persistent_keepalive;	/* seconds, 0 = off */
};

/*
 * Parses len bytes of buf (no NUL needed). 0, or -EINVAL with one line in
 * err such as "line 7: Endpoint is not IPv4:PORT: '10.0.0.1'" (or -ENOMEM
 * if libsodium cannot initialise); out is then wiped. err may be NULL.
 */
int omt_wgconf_parse(const char *buf, size_t len, struct omt_wgconf *out,
		     char *err, size_t errlen);
/*
 * Reads the regular file path (at most OMT_WGCONF_MAX_FILE bytes) and
 * parses it; errors read "PATH:LINE: ..." or "PATH: ...". 0, -EINVAL,
 * -EFBIG or the -errno of open/read.
 */
int omt_wgconf_load(const char *path, struct omt_wgconf *out, char *err, size_t errlen);
/* Wipes the keys (and the rest) once the config has been applied. */
void omt_wgconf_clear(struct omt_wgconf *c);

#endif
