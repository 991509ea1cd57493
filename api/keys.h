/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Keys: the Ed25519 identities that sign API requests (consumers) and
 * responses (providers), the Curve25519 keys of WireGuard, and the
 * consumer's list of known providers.
 *
 * An identity file holds one line, "omerta-ed25519 <base64 of libsodium's
 * 64-byte secret key>\n", and must be accessible by its owner only.
 *
 * The known-providers file pins each provider's key on first use, as ssh's
 * known_hosts does: one "HOST:PORT <base64 public key>" per line; blank
 * lines and lines starting with '#' are skipped. Any other line is an error
 * rather than skipped: a pin we cannot read must not become a first use.
 */
#ifndef OMERTA_KEYS_H
#define OMERTA_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define OMT_KEY_B64_LEN 44		/* a 32-byte key in base64, without NUL */
#define OMT_KEY_FILE_TAG "omerta-ed25519"
#define OMT_HOSTPORT_MAX 255

/*
 * Makes a new identity at path (mode 0600; never over an existing file:
 * -EEXIST) and gives its public key. 0 or -errno.
 */
int omt_key_generate(const char *path, uint8_t pk[32]);
/*
 * The keygen verbs (omerta keygen, omerta-loader keygen): a new identity
 * at path, its public key on stdout, "WHAT written to PATH" or the error
 * ("VERB: 'PATH': ...") on stderr. An exit code of proto/exit.h.
 */
int omt_keygen_verb(const char *verb, const char *what, const char *path);
/*
 * Reads an identity. 0; -EACCES if group or others have any access to the
 * file ("PATH: permissions 0644 are too open..."); -EINVAL if it is not an
 * identity file (or its two halves do not match); or the -errno of
 * open/read, with one line in err (which may be NULL).
 */
int omt_key_load(const char *path, uint8_t sk[64], uint8_t pk[32], char *err, size_t errlen);

/* Standard base64 with padding: 44 characters and a NUL. */
void omt_key_b64(const uint8_t pk[32], char out[OMT_KEY_B64_LEN + 1]);
/* The exact inverse of omt_key_b64 (no spaces, canonical). 0 or -EINVAL. */
int omt_key_from_b64(const char *s, uint8_t pk[32]);

/* A new WireGuard keypair, the private key clamped as `wg genkey` does. */
void omt_wg_keypair(uint8_t priv[32], uint8_t pub[32]);
/* What `wg pubkey` prints for priv. 0, or -EINVAL for a degenerate key. */
int omt_wg_pubkey(const uint8_t priv[32], uint8_t pub[32]);

/*
 * Checks the key a provider presents against the known-providers file:
 *   0             hostport is recorded with this key;
 *   1             it was not recorded, tofu was set: the line was added
 *                 (the file is created, mode 0600, if need be);
 *   -ENOKEY       it was not recorded and tofu was not set;
 *   -EKEYREJECTED hostport is recorded with another key: impersonation, or
 *                 a provider whose key changed; err names the file and line;
 *   -EINVAL       hostport is not a printable HOST:PORT, or a line of the
 *                 file is malformed;
 *   or the -errno of open/read/write/flock.
 * The file is locked (flock) for the whole check. err may be NULL.
 */
int omt_known_provider_check(const char *file, const char *hostport, const uint8_t pk[32],
			     int tofu, char *err, size_t errlen);

#endif
