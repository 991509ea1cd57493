/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Signed requests and responses of the provider's HTTP API.
 *
 * A request carries four headers:
 *   Omerta-Key:       the consumer's Ed25519 public key, base64 (44 chars)
 *   Omerta-Timestamp: Unix seconds, decimal, no sign, no leading zero
 *   Omerta-Nonce:     16 random bytes as 32 lowercase hex digits
 *   Omerta-Signature: base64 (88 chars) of the detached Ed25519 signature of
 *     "omerta-v1 request\n" METHOD "\n" PATH "\n" TIMESTAMP "\n" NONCE "\n"
 *     hex(SHA-256(body))
 * where PATH is the request target as sent (with any query string) and the
 * hex is lowercase. The provider answers with one header,
 *   Omerta-Signature: base64 of the provider key's signature of
 *     "omerta-v1 response\n" STATUS "\n" REQUEST_NONCE "\n" hex(SHA-256(body))
 * which ties the answer to the request, so it can be neither forged nor
 * replayed to another request. The consumer pins the provider's key
 * (keys.h: omt_known_provider_check).
 *
 * Freshness and the signature are checked here; replays within the window
 * are the caller's to refuse, with a nonce cache.
 */
#ifndef OMERTA_SIGN_H
#define OMERTA_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"

#define OMT_HDR_KEY "Omerta-Key"
#define OMT_HDR_TIMESTAMP "Omerta-Timestamp"
#define OMT_HDR_NONCE "Omerta-Nonce"
#define OMT_HDR_SIGNATURE "Omerta-Signature"

#define OMT_NONCE_HEX_LEN 32
#define OMT_SIG_B64_LEN 88
#define OMT_SIGN_MAX_METHOD 16		/* "A".."Z" only */
#define OMT_SIGN_MAX_PATH 4096		/* starts with '/', printable, no spaces */

/* The four header values, NUL-terminated. */
struct omt_req_auth {
	char key[OMT_KEY_B64_LEN + 1];
	char timestamp[24];
	char nonce[OMT_NONCE_HEX_LEN + 1];
	char signature[OMT_SIG_B64_LEN + 1];
};

/* Signs a request at time now with a fresh nonce. 0, or -EINVAL for a bad method/path/now. */
int omt_sign_request(const uint8_t sk[64], const uint8_t pk[32], const char *method,
		     const char *path, const void *body, size_t len, int64_t now,
		     struct omt_req_auth *out);
/*
 * Fills a from the header values as received (NULL: header absent). 0, or
 * -EINVAL with err naming the header that is missing or too long.
 */
int omt_req_auth_from_headers(struct omt_req_auth *a, const char *key, const char *timestamp,
			      const char *nonce, const char *signature, char *err,
			      size_t errlen);
/*
 * Checks syntax, then freshness (|now - timestamp| <= window_s), then the
 * signature; on success gives the signer's key in pk. 0, or with one line
 * in err (which may be NULL):
 *   -EINVAL        a malformed header, method or path (named, in quotes);
 *   -ETIME         "stale timestamp: ..." or "timestamp in the future: ...";
 *   -EKEYREJECTED  the signature does not verify with Omerta-Key.
 */
int omt_verify_request(const struct omt_req_auth *a, const char *method, const char *path,
		       const void *body, size_t len, int64_t now, unsigned int window_s,
		       uint8_t pk[32], char *err, size_t errlen);

/* status 100..599, req_nonce the request's Omerta-Nonce. 0 or -EINVAL. */
int omt_sign_response(const uint8_t sk[64], int status, const char *req_nonce,
		      const void *body, size_t len, char sig_b64[OMT_SIG_B64_LEN + 1]);
/* 0, -EINVAL (malformed arguments or signature) or -EKEYREJECTED. */
int omt_verify_response(const uint8_t pk[32], int status, const char *req_nonce,
			const void *body, size_t len, const char *sig_b64);

/*
 * Replay protection: remembers each (key, nonce) it is shown. Give it the
 * window_s of omt_verify_request: a request first seen at now may carry a
 * timestamp up to now + window_s, which stays acceptable until now +
 * 2 * window_s, so that is how long an entry is kept. Each key has room
 * of its own, per_key nonces at most (a ring that grows as it needs to):
 * a key with per_key live nonces is refused new requests (-EBUSY) rather
 * than forget one that could still be replayed, and no other key notices.
 * At most max_keys keys at once (a key whose nonces all expired gives its
 * place up); a new key beyond them is refused (-EBUSY). Memory: at most
 * max_keys x per_key x 24 bytes. Thread-safe.
 */
struct omt_nonce_cache;

/* NULL with errno set (EINVAL: per_key or max_keys 0 or above 1 << 24, ENOMEM). */
struct omt_nonce_cache *omt_nonce_cache_new(unsigned int per_key, unsigned int max_keys,
					    unsigned int window_s);
/*
 * 0: fresh, now remembered; -EALREADY: seen within the last 2 * window_s;
 * -EBUSY: this key's room is full (or there is no room for a new key);
 * -EINVAL: nonce is not 32 lowercase hex digits.
 */
int omt_nonce_check(struct omt_nonce_cache *c, const uint8_t pk[32], const char *nonce,
		    int64_t now);
void omt_nonce_cache_free(struct omt_nonce_cache *c);

#endif
