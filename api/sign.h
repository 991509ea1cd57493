/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Signed requests and answers of the provider's HTTP API: omerta-v2.
 *
 * A request carries five headers, and Content-Length when it has a body:
 *   Omerta-Key:            the consumer's Ed25519 public key, base64 (44 chars)
 *   Omerta-Timestamp:      Unix seconds, decimal, no sign, no leading zero
 *   Omerta-Nonce:          16 random bytes as 32 lowercase hex digits
 *   Omerta-Content-SHA256: hex(SHA-256(body)), lowercase (of the empty
 *                          string when there is no body)
 *   Omerta-Signature:      base64 (88 chars) of the detached Ed25519
 *                          signature of
 *     "omerta-v2 request\n" METHOD "\n" PATH "\n" KEY "\n" TIMESTAMP "\n"
 *     NONCE "\n" LENGTH "\n" CONTENT_SHA256
 * where PATH is the request target as sent (with any query string), KEY
 * the Omerta-Key value and LENGTH the body's length in decimal (the
 * Content-Length; 0 without a body). All that the provider needs in order
 * to decide is in the headers: it checks the signature, the key, the
 * policy and the nonce before it reads one byte of the body, then the
 * body against Omerta-Content-SHA256.
 *
 * The request's digest is the SHA-256 of that signed text. The provider
 * answers a request it verified with one header,
 *   Omerta-Signature: base64 of the provider key's signature of
 *     "omerta-v2 response\n" STATUS "\n" hex(REQUEST_DIGEST) "\n"
 *     hex(SHA-256(answer body))
 * which binds the answer to the whole request, requester key included: it
 * can be neither forged nor moved to another request. An answer to a
 * request the provider could not verify (bad or missing headers, a bad
 * signature, an unknown key, a stale or replayed request, a body that
 * doesn't match its hash) carries no signature: it answers nothing, and a
 * consumer takes it only as a refusal. The consumer pins the provider's
 * key (keys.h: omt_known_provider_check).
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
#define OMT_HDR_CONTENT_SHA256 "Omerta-Content-SHA256"
#define OMT_HDR_SIGNATURE "Omerta-Signature"

#define OMT_NONCE_HEX_LEN 32
#define OMT_SHA256_HEX_LEN 64
#define OMT_SIG_B64_LEN 88
#define OMT_SIGN_MAX_METHOD 16		/* "A".."Z" only */
#define OMT_SIGN_MAX_PATH 4096		/* starts with '/', printable, no spaces */

/* The header values, NUL-terminated; the body's length; the request's digest. */
struct omt_req_auth {
	char key[OMT_KEY_B64_LEN + 1];
	char timestamp[24];
	char nonce[OMT_NONCE_HEX_LEN + 1];
	char content_sha256[OMT_SHA256_HEX_LEN + 1];
	char signature[OMT_SIG_B64_LEN + 1];
	uint64_t length;
	uint8_t digest[32];		/* set by omt_sign_request, omt_verify_request */
};

/* Signs a request at time now with a fresh nonce. 0, or -EINVAL for a bad method/path/now. */
int omt_sign_request(const uint8_t sk[64], const uint8_t pk[32], const char *method,
		     const char *path, const void *body, size_t len, int64_t now,
		     struct omt_req_auth *out);
/*
 * Fills a from the header values as received (NULL: header absent;
 * content_length NULL means 0). 0, or -EINVAL with err naming the header
 * that is missing, too long or (Content-Length) not decimal. A request
 * without Omerta-Content-SHA256 is called what it is: signed with
 * omerta-v1, which is not taken any more.
 */
int omt_req_auth_from_headers(struct omt_req_auth *a, const char *key, const char *timestamp,
			      const char *nonce, const char *content_sha256,
			      const char *signature, const char *content_length, char *err,
			      size_t errlen);
/*
 * Checks syntax, then freshness (|now - timestamp| <= window_s), then the
 * signature over the headers; on success gives the signer's key in pk and
 * the request's digest in a->digest. The body is checked apart
 * (omt_check_body), once it has come. 0, or with one line in err (which
 * may be NULL):
 *   -EINVAL        a malformed header, method or path (named, in quotes);
 *   -ETIME         "stale timestamp: ..." or "timestamp in the future: ...";
 *   -EKEYREJECTED  the signature does not verify with Omerta-Key.
 */
int omt_verify_request(struct omt_req_auth *a, const char *method, const char *path,
		       int64_t now, unsigned int window_s, uint8_t pk[32], char *err,
		       size_t errlen);
/* 0 when body is a->length bytes with the hash of a->content_sha256; else -EBADMSG, err set. */
int omt_check_body(const struct omt_req_auth *a, const void *body, size_t len, char *err,
		   size_t errlen);

/* status 100..599, req_digest the answered request's (struct omt_req_auth). 0 or -EINVAL. */
int omt_sign_response(const uint8_t sk[64], int status, const uint8_t req_digest[32],
		      const void *body, size_t len, char sig_b64[OMT_SIG_B64_LEN + 1]);
/* 0, -EINVAL (malformed arguments or signature) or -EKEYREJECTED. */
int omt_verify_response(const uint8_t pk[32], int status, const uint8_t req_digest[32],
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
