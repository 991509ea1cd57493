// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/b64.h"
#include "../lib/parse.h"
#include "../lib/text.h"
#include "keys.h"
#include "sign.h"

#define REQ_PREFIX "omerta-v2 request\n"
#define RESP_PREFIX "omerta-v2 response\n"
#define HASH_HEX_LEN (2 * crypto_hash_sha256_BYTES)
#define REQ_MSG_MAX (sizeof(REQ_PREFIX) + OMT_SIGN_MAX_METHOD + OMT_SIGN_MAX_PATH + \
		     OMT_KEY_B64_LEN + sizeof(((struct omt_req_auth *)0)->timestamp) + \
		     OMT_NONCE_HEX_LEN + 20 + HASH_HEX_LEN + 8)
#define RESP_MSG_MAX (sizeof(RESP_PREFIX) + 3 + 2 * HASH_HEX_LEN + 8)
#define NONCE_BYTES (OMT_NONCE_HEX_LEN / 2)
#define SHOWN_MAX 64			/* of a header value quoted in an error */
#define NONCE_CACHE_MAX (1u << 24)

_Static_assert(crypto_sign_BYTES == 64, "Ed25519 signatures are 64 bytes");
_Static_assert(sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL) ==
	       OMT_SIG_B64_LEN + 1, "a signature is 88 base64 characters");
_Static_assert(HASH_HEX_LEN == OMT_SHA256_HEX_LEN, "a SHA-256 is 64 hex digits");

/* hex(SHA-256(data)), lowercase. data may be NULL if len is 0. */
static void sha256_hex(const void *data, size_t len, char hex[HASH_HEX_LEN + 1])
{
	static const uint8_t empty;
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data ? data : &empty, len);
	sodium_bin2hex(hex, HASH_HEX_LEN + 1, h, sizeof(h));
}

static int check_method(const char *m)
{
	size_t n = strnlen(m, OMT_SIGN_MAX_METHOD + 1), i;

	if (!n || n > OMT_SIGN_MAX_METHOD)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (m[i] < 'A' || m[i] > 'Z')
			return -EINVAL;
	return 0;
}

/* What an HTTP request line can carry: the fields are separated by '\n'. */
static int check_path(const char *p)
{
	size_t n = strnlen(p, OMT_SIGN_MAX_PATH + 1), i;

	if (!n || n > OMT_SIGN_MAX_PATH || p[0] != '/')
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return -EINVAL;
	return 0;
}

/* Exactly n lowercase hex digits. */
static int check_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -EINVAL;
	return s[i] ? -EINVAL : 0;
}

static int decode_sig(const char *s, uint8_t sig[64])
{
	if (strnlen(s, OMT_SIG_B64_LEN + 1) != OMT_SIG_B64_LEN ||
	    omt_b64_decode_exact(s, OMT_SIG_B64_LEN, sig, 64))
		return -EINVAL;
	return 0;
}

/* The signed text of a (its fields checked), and the request's digest from it. */
static int request_msg(char *buf, struct omt_req_auth *a, const char *method, const char *path)
{
	int n = snprintf(buf, REQ_MSG_MAX, REQ_PREFIX "%s\n%s\n%s\n%s\n%s\n%" PRIu64 "\n%s",
			 method, path, a->key, a->timestamp, a->nonce, a->length,
			 a->content_sha256);

	crypto_hash_sha256(a->digest, (const uint8_t *)buf, n);
	return n;
}

static int response_msg(char *buf, int status, const uint8_t req_digest[32], const void *body,
			size_t len)
{
	char req_hex[HASH_HEX_LEN + 1], body_hex[HASH_HEX_LEN + 1];

	sodium_bin2hex(req_hex, sizeof(req_hex), req_digest, crypto_hash_sha256_BYTES);
	sha256_hex(body, len, body_hex);
	return snprintf(buf, RESP_MSG_MAX, RESP_PREFIX "%d\n%s\n%s", status, req_hex, body_hex);
}

int omt_sign_request(const uint8_t sk[64], const uint8_t pk[32], const char *method,
		     const char *path, const void *body, size_t len, int64_t now,
		     struct omt_req_auth *out)
{
	uint8_t nonce[NONCE_BYTES], sig[64];
	char msg[REQ_MSG_MAX];
	int n;

	if (check_method(method) || check_path(path) || now < 0)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	randombytes_buf(nonce, sizeof(nonce));
	omt_key_b64(pk, out->key);
	snprintf(out->timestamp, sizeof(out->timestamp), "%" PRId64, now);
	sodium_bin2hex(out->nonce, sizeof(out->nonce), nonce, sizeof(nonce));
	sha256_hex(body, len, out->content_sha256);
	out->length = len;
	n = request_msg(msg, out, method, path);
	crypto_sign_detached(sig, NULL, (const uint8_t *)msg, n, sk);
	sodium_bin2base64(out->signature, sizeof(out->signature), sig, sizeof(sig),
			  sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

static int copy_header(char *dst, size_t size, const char *v, const char *name, char *err,
		       size_t errlen)
{
	size_t n;

	if (!v || !*v) {
		omt_errf(err, errlen, "%s is missing", name);
		return -EINVAL;
	}
	n = strnlen(v, size);
	if (n == size) {
		omt_errf(err, errlen, "%s is too long (more than %zu characters)", name, size - 1);
		return -EINVAL;
	}
	memcpy(dst, v, n + 1);
	return 0;
}

int omt_req_auth_from_headers(struct omt_req_auth *a, const char *key, const char *timestamp,
			      const char *nonce, const char *content_sha256,
			      const char *signature, const char *content_length, char *err,
			      size_t errlen)
{
	char shown[OMT_QUOTE_SIZE(SHOWN_MAX)];

	memset(a, 0, sizeof(*a));
	if (signature && !content_sha256) {
		omt_errf(err, errlen, "%s is missing: the request is signed with omerta-v1, and "
			 "this provider takes omerta-v2 only", OMT_HDR_CONTENT_SHA256);
		return -EINVAL;
	}
	if (copy_header(a->key, sizeof(a->key), key, OMT_HDR_KEY, err, errlen) ||
	    copy_header(a->timestamp, sizeof(a->timestamp), timestamp, OMT_HDR_TIMESTAMP,
			err, errlen) ||
	    copy_header(a->nonce, sizeof(a->nonce), nonce, OMT_HDR_NONCE, err, errlen) ||
	    copy_header(a->content_sha256, sizeof(a->content_sha256), content_sha256,
			OMT_HDR_CONTENT_SHA256, err, errlen) ||
	    copy_header(a->signature, sizeof(a->signature), signature, OMT_HDR_SIGNATURE,
			err, errlen))
		return -EINVAL;
	if (content_length && omt_parse_decimal(content_length, INT64_MAX, &a->length)) {
		omt_errf(err, errlen, "Content-Length is not decimal: %s",
			 omt_quote(shown, content_length, SHOWN_MAX));
		return -EINVAL;
	}
	return 0;
}

/* A field of the struct, which the caller may have filled without a NUL. */
static int check_field(const char *v, size_t size, const char *name, char *err, size_t errlen)
{
	if (!memchr(v, '\0', size)) {
		omt_errf(err, errlen, "%s is not NUL-terminated", name);
		return -EINVAL;
	}
	if (!*v) {
		omt_errf(err, errlen, "%s is missing", name);
		return -EINVAL;
	}
	return 0;
}

int omt_verify_request(struct omt_req_auth *a, const char *method, const char *path,
		       int64_t now, unsigned int window_s, uint8_t pk[32], char *err,
		       size_t errlen)
{
	char msg[REQ_MSG_MAX], shown[OMT_QUOTE_SIZE(SHOWN_MAX)];
	uint8_t key[32], sig[64];
	uint64_t ts_u;
	int64_t ts;
	int n;

	if (sodium_init() < 0) {
		omt_errf(err, errlen, "libsodium failed to initialise");
		return -ENOMEM;
	}
	if (check_field(a->key, sizeof(a->key), OMT_HDR_KEY, err, errlen) ||
	    check_field(a->timestamp, sizeof(a->timestamp), OMT_HDR_TIMESTAMP, err, errlen) ||
	    check_field(a->nonce, sizeof(a->nonce), OMT_HDR_NONCE, err, errlen) ||
	    check_field(a->content_sha256, sizeof(a->content_sha256), OMT_HDR_CONTENT_SHA256,
			err, errlen) ||
	    check_field(a->signature, sizeof(a->signature), OMT_HDR_SIGNATURE, err, errlen))
		return -EINVAL;
	if (omt_key_from_b64(a->key, key)) {
		omt_errf(err, errlen, "%s is not a base64 Ed25519 public key: %s", OMT_HDR_KEY,
			 omt_quote(shown, a->key, SHOWN_MAX));
		return -EINVAL;
	}
	if (omt_parse_decimal(a->timestamp, INT64_MAX, &ts_u)) {
		omt_errf(err, errlen, "%s is not decimal Unix seconds: %s", OMT_HDR_TIMESTAMP,
			 omt_quote(shown, a->timestamp, SHOWN_MAX));
		return -EINVAL;
	}
	ts = ts_u;
	if (check_hex(a->nonce, OMT_NONCE_HEX_LEN)) {
		omt_errf(err, errlen, "%s is not %d lowercase hex digits: %s", OMT_HDR_NONCE,
			 OMT_NONCE_HEX_LEN, omt_quote(shown, a->nonce, SHOWN_MAX));
		return -EINVAL;
	}
	if (check_hex(a->content_sha256, OMT_SHA256_HEX_LEN)) {
		omt_errf(err, errlen, "%s is not %d lowercase hex digits: %s",
			 OMT_HDR_CONTENT_SHA256, OMT_SHA256_HEX_LEN,
			 omt_quote(shown, a->content_sha256, SHOWN_MAX));
		return -EINVAL;
	}
	if (decode_sig(a->signature, sig)) {
		omt_errf(err, errlen, "%s is not a base64 64-byte signature: %s", OMT_HDR_SIGNATURE,
			 omt_quote(shown, a->signature, SHOWN_MAX));
		return -EINVAL;
	}
	if (check_method(method)) {
		omt_errf(err, errlen, "method is not an HTTP method: %s",
			 omt_quote(shown, method, SHOWN_MAX));
		return -EINVAL;
	}
	if (check_path(path)) {
		omt_errf(err, errlen, "path is not an absolute printable path: %s",
			 omt_quote(shown, path, SHOWN_MAX));
		return -EINVAL;
	}
	/* Unsigned differences: the two may be far apart. */
	if (ts < now && (uint64_t)now - (uint64_t)ts > window_s) {
		omt_errf(err, errlen, "stale timestamp: %s is %" PRIu64 " s behind the "
			 "provider's clock (window %u s)", a->timestamp,
			 (uint64_t)now - (uint64_t)ts, window_s);
		return -ETIME;
	}
	if (ts > now && (uint64_t)ts - (uint64_t)now > window_s) {
		omt_errf(err, errlen, "timestamp in the future: %s is %" PRIu64 " s ahead of "
			 "the provider's clock (window %u s)", a->timestamp,
			 (uint64_t)ts - (uint64_t)now, window_s);
		return -ETIME;
	}
	n = request_msg(msg, a, method, path);
	if (crypto_sign_verify_detached(sig, (const uint8_t *)msg, n, key)) {
		omt_errf(err, errlen, "%s does not verify: the request was altered, or not "
			 "signed by the key in %s", OMT_HDR_SIGNATURE, OMT_HDR_KEY);
		return -EKEYREJECTED;
	}
	memcpy(pk, key, sizeof(key));
	return 0;
}

int omt_check_body(const struct omt_req_auth *a, const void *body, size_t len, char *err,
		   size_t errlen)
{
	char hex[HASH_HEX_LEN + 1];

	if (len != a->length) {
		omt_errf(err, errlen, "the body is %zu bytes, the signed length %" PRIu64, len,
			 a->length);
		return -EBADMSG;
	}
	sha256_hex(body, len, hex);
	if (strcmp(hex, a->content_sha256)) {
		omt_errf(err, errlen, "the body does not match %s: altered on the way",
			 OMT_HDR_CONTENT_SHA256);
		return -EBADMSG;
	}
	return 0;
}

int omt_sign_response(const uint8_t sk[64], int status, const uint8_t req_digest[32],
		      const void *body, size_t len, char sig_b64[OMT_SIG_B64_LEN + 1])
{
	char msg[RESP_MSG_MAX];
	uint8_t sig[64];
	int n;

	if (status < 100 || status > 599)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	n = response_msg(msg, status, req_digest, body, len);
	crypto_sign_detached(sig, NULL, (const uint8_t *)msg, n, sk);
	sodium_bin2base64(sig_b64, OMT_SIG_B64_LEN + 1, sig, sizeof(sig),
			  sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int omt_verify_response(const uint8_t pk[32], int status, const uint8_t req_digest[32],
			const void *body, size_t len, const char *sig_b64)
{
	char msg[RESP_MSG_MAX];
	uint8_t sig[64];
	int n;

	if (status < 100 || status > 599 || !sig_b64 || decode_sig(sig_b64, sig))
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	n = response_msg(msg, status, req_digest, body, len);
	return crypto_sign_verify_detached(sig, (const uint8_t *)msg, n, pk) ? -EKEYREJECTED : 0;
}

/* One key's nonces in the order they came: the oldest expire from the head. */
struct key_nonces {
	uint8_t pk[32];
	unsigned int head, count, size;	/* size grows by doubling up to per_key */
	struct nonce_seen {
		uint8_t nonce[NONCE_BYTES];
		int64_t expires;
	} *e;
};

/*
 * A ring per key, so that no key can take another's room: a key that has
 * per_key nonces live is refused (-EBUSY) and only it. Keys get a ring when
 * they first come and give it up once all its nonces expired and its place
 * is wanted.
 */
struct omt_nonce_cache {
	pthread_mutex_t lock;
	unsigned int per_key, max_keys, window_s, n_keys;
	struct key_nonces *keys;
};

struct omt_nonce_cache *omt_nonce_cache_new(unsigned int per_key, unsigned int max_keys,
					    unsigned int window_s)
{
	struct omt_nonce_cache *c;

	if (!per_key || per_key > NONCE_CACHE_MAX || !max_keys || max_keys > NONCE_CACHE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->keys = calloc(max_keys, sizeof(*c->keys));
	if (!c->keys || pthread_mutex_init(&c->lock, NULL)) {
		free(c->keys);
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->per_key = per_key;
	c->max_keys = max_keys;
	c->window_s = window_s;
	return c;
}

static void expire(struct key_nonces *k, int64_t now)
{
	while (k->count && k->e[k->head].expires < now) {
		k->head = (k->head + 1) % k->size;
		k->count--;
	}
}

/* pk's ring: found, or a free place (never used, or all its nonces expired). NULL: none. */
static struct key_nonces *key_of(struct omt_nonce_cache *c, const uint8_t pk[32], int64_t now)
{
	struct key_nonces *free_one = NULL;
	unsigned int i;

	for (i = 0; i < c->n_keys; i++) {
		struct key_nonces *k = &c->keys[i];

		expire(k, now);
		if (!memcmp(k->pk, pk, 32))
			return k;
		if (!k->count && !free_one)
			free_one = k;
	}
	if (!free_one && c->n_keys < c->max_keys)
		free_one = &c->keys[c->n_keys++];
	if (free_one) {
		memcpy(free_one->pk, pk, 32);
		free_one->head = 0;
	}
	return free_one;
}

/* Room for one more nonce in k: its ring doubled (up to per_key) when full. */
static int make_room(struct omt_nonce_cache *c, struct key_nonces *k)
{
	struct nonce_seen *e;
	unsigned int size, i;

	if (k->count < k->size)
		return 0;
	if (k->size == c->per_key)
		return -EBUSY;
	size = k->size ? k->size * 2 : 16;
	if (size > c->per_key)
		size = c->per_key;
	e = malloc(size * sizeof(*e));
	if (!e)
		return -EBUSY;
	for (i = 0; i < k->count; i++)
		e[i] = k->e[(k->head + i) % k->size];
	free(k->e);
	k->e = e;
	k->size = size;
	k->head = 0;
	return 0;
}

int omt_nonce_check(struct omt_nonce_cache *c, const uint8_t pk[32], const char *nonce,
		    int64_t now)
{
	uint8_t bin[NONCE_BYTES];
	struct nonce_seen *e;
	struct key_nonces *k;
	unsigned int i;
	int ret = 0;

	if (check_hex(nonce, OMT_NONCE_HEX_LEN))
		return -EINVAL;
	sodium_hex2bin(bin, sizeof(bin), nonce, OMT_NONCE_HEX_LEN, NULL, NULL, NULL);
	pthread_mutex_lock(&c->lock);
	if (!(k = key_of(c, pk, now))) {
		ret = -EBUSY;
		goto unlock;
	}
	for (i = 0; i < k->count; i++)
		if (!memcmp(k->e[(k->head + i) % k->size].nonce, bin, sizeof(bin))) {
			ret = -EALREADY;
			goto unlock;
		}
	if ((ret = make_room(c, k)))
		goto unlock;
	e = &k->e[(k->head + k->count++) % k->size];
	memcpy(e->nonce, bin, sizeof(bin));
	e->expires = now > INT64_MAX - 2 * (int64_t)c->window_s ? INT64_MAX :
		     now + 2 * (int64_t)c->window_s;
unlock:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

void omt_nonce_cache_free(struct omt_nonce_cache *c)
{
	unsigned int i;

	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	for (i = 0; i < c->n_keys; i++)
		free(c->keys[i].e);
	free(c->keys);
	free(c);
}
