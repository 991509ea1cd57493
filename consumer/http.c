// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../api/keys.h"
#include "../api/sign.h"
#include "http.h"

#define MAX_RESPONSE (4 << 20)

struct capture {
	struct cli_resp *r;
	size_t max, cap;
	char sig[128];
	char provider_key[64];
	int too_big;
};

/* What the TLS channel showed, and whether it is the key pinned for h. */
struct tls_check {
	struct cli_http *h;
	uint8_t shown[32];
	int have_shown;
	int not_ed25519;
	int known_refused;		/* known_providers pins another key: why in err */
	char err[600];
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct capture *c = arg;
	size_t len = size * n;
	char *b;

	if (len > c->max - c->r->len) {
		c->too_big = 1;
		return 0;
	}
	if (c->r->len + len + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 16384;

		while (cap < c->r->len + len + 1)
			cap *= 2;
		b = realloc(c->r->body, cap);
		if (!b)
			return 0;
		c->r->body = b;
		c->cap = cap;
	}
	memcpy(c->r->body + c->r->len, p, len);
	c->r->len += len;
	c->r->body[c->r->len] = '\0';
	return len;
}

/* Keeps the value of header name (case-insensitive) in out. */
static void take(const char *line, size_t len, const char *name, char *out, size_t size)
{
	size_t n = strlen(name), v;

	if (len <= n + 1 || strncasecmp(line, name, n) || line[n] != ':')
		return;
	line += n + 1;
	len -= n + 1;
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	for (v = 0; v < len && line[v] != '\r' && line[v] != '\n'; v++)
		;
	if (v < size)
		snprintf(out, size, "%.*s", (int)v, line);
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct capture *c = arg;

	take(p, size * n, OMT_HDR_SIGNATURE, c->sig, sizeof(c->sig));
	take(p, size * n, "Omerta-Provider-Key", c->provider_key, sizeof(c->provider_key));
	return size * n;
}

/*
 * OpenSSL's word on the provider's certificate: whatever its names, dates
 * or issuer, the channel is good when the certificate's key is the
 * provider's Ed25519 key as given (--provider-key, the providers file) or
 * pinned in known_providers (or, on first use, any Ed25519 key: it is
 * pinned after the answer). Anything else stops the handshake before a
 * byte of the request is sent.
 */
static int on_certificate(int preverify_ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_check *t = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(x);
	EVP_PKEY *key = cert ? X509_get0_pubkey(cert) : NULL;
	size_t len = sizeof(t->shown);

	(void)preverify_ok;
	if (!t)
		return 0;
	if (X509_STORE_CTX_get_error_depth(x) > 0)
		return 1;		/* only the provider's own certificate counts */
	if (!key || EVP_PKEY_id(key) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(key, t->shown, &len) != 1 || len != 32) {
		t->not_ed25519 = 1;
		return 0;
	}
	t->have_shown = 1;
	if (t->h->have_provider)
		return !memcmp(t->shown, t->h->provider, 32);
	t->known_refused = omt_known_provider_check(t->h->known_file, t->h->hostport, t->shown, 0,
						    t->err, sizeof(t->err));
	if (t->known_refused == -ENOKEY)
		t->known_refused = 0;	/* first use */
	return !t->known_refused;
}

static CURLcode on_ssl_ctx(CURL *curl, void *ctx, void *arg)
{
	(void)curl;
	SSL_CTX_set_app_data(ctx, arg);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_certificate);
	return CURLE_OK;
}

int cli_http_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) ? -EIO : 0;
}

void cli_resp_free(struct cli_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

/* Why the TLS channel was refused, when on_certificate refused it: 0 when it didn't. */
static int tls_refusal(const struct cli_http *h, const struct tls_check *t, char *err,
		       size_t errlen)
{
	char shown[OMT_KEY_B64_LEN + 1], pinned[OMT_KEY_B64_LEN + 1];

	if (t->not_ed25519) {
		snprintf(err, errlen, "the provider at %s showed a TLS certificate without an "
			 "Ed25519 key: not an Omerta provider, or not the one pinned: refused",
			 h->hostport);
		return -EKEYREJECTED;
	}
	if (t->known_refused) {
		snprintf(err, errlen, "%s (refused on TLS, nothing sent)", t->err);
		return t->known_refused;
	}
	if (!t->have_shown || !h->have_provider || !memcmp(t->shown, h->provider, 32))
		return 0;
	omt_key_b64(t->shown, shown);
	omt_key_b64(h->provider, pinned);
	snprintf(err, errlen, "the provider at %s showed key %s on TLS, not its key %s: "
		 "refused, nothing sent", h->hostport, shown, pinned);
	return -EKEYREJECTED;
}

/* The provider's key pinned on first use: the one its TLS channel showed (plain: it says). */
static int pin_provider(struct cli_http *h, const struct capture *c, const struct tls_check *t,
			char *err, size_t errlen)
{
	char b64[OMT_KEY_B64_LEN + 1];
	uint8_t key[32];
	int e;

	if (h->have_provider)
		return 0;
	if (!h->plain) {
		memcpy(key, t->shown, 32);
	} else if (omt_key_from_b64(c->provider_key, key)) {
		snprintf(err, errlen, "the provider at %s sent no valid key: '%.60s'", h->hostport,
			 c->provider_key);
		return -EKEYREJECTED;
	}
	e = omt_known_provider_check(h->known_file, h->hostport, key, 1, err, errlen);
	if (e < 0)
		return e;
	omt_key_b64(key, b64);
	if (e == 1)
		fprintf(stderr, "omerta: trusting the provider key of %s on first use: %s (in %s)\n",
			h->hostport, b64, h->known_file);
	memcpy(h->provider, key, 32);
	h->have_provider = 1;
	return 0;
}


/* What a failed exchange may mean: TLS spoken to plain HTTP, or the other way. */
static const char *wrong_scheme_hint(const struct cli_http *h, CURLcode cc)
{
	if (!h->plain && cc == CURLE_SSL_CONNECT_ERROR)
		return " (if the provider has tls = off, write its address http://IPv4:PORT)";
	if (h->plain && (cc == CURLE_WEIRD_SERVER_REPLY || cc == CURLE_UNSUPPORTED_PROTOCOL ||
			 cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING))
		return " (a provider with tls = on, the default, takes IPv4:PORT, not http://)";
	return "";
}

int cli_request(struct cli_http *h, const char *method, const char *path, const char *body,
		struct cli_resp *r, char *err, size_t errlen)
{
	return cli_request_max(h, method, path, body, MAX_RESPONSE, r, err, errlen);
}

static struct curl_slist *auth_headers(const struct omt_req_auth *a)
{
	const struct { const char *name, *value; } h[] = {
		{ OMT_HDR_KEY, a->key },
		{ OMT_HDR_TIMESTAMP, a->timestamp },
		{ OMT_HDR_NONCE, a->nonce },
		{ OMT_HDR_CONTENT_SHA256, a->content_sha256 },
		{ OMT_HDR_SIGNATURE, a->signature },
	};
	struct curl_slist *l = NULL;
	char line[256];
	size_t i;

	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		snprintf(line, sizeof(line), "%s: %s", h[i].name, h[i].value);
		l = curl_slist_append(l, line);
	}
	l = curl_slist_append(l, "Content-Type: application/json");
	return curl_slist_append(l, "Expect:");
}

int cli_request_max(struct cli_http *h, const char *method, const char *path, const char *body,
		    size_t max, struct cli_resp *r, char *err, size_t errlen)
{
	struct omt_req_auth a;
	struct capture c = { .r = r, .max = max };
	struct tls_check t = { .h = h };
	struct curl_slist *hdrs;
	size_t blen = body ? strlen(body) : 0;
	char url[512];
	CURL *curl;
	CURLcode cc;
	int e;

	memset(r, 0, sizeof(*r));
	e = omt_sign_request(h->sk, h->pk, method, path, body ? body : "", blen, time(NULL), &a);
	if (e) {
		snprintf(err, errlen, "sign the request: %s", strerror(-e));
		return e;
	}
	curl = curl_easy_init();
	if (!curl) {
		snprintf(err, errlen, "libcurl: out of memory");
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "%s://%s%s", h->plain ? "http" : "https", h->hostport, path);
	hdrs = auth_headers(&a);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, h->plain ? "http" : "https");
	if (!h->plain) {
		/* No CA and no name: the certificate's key is checked in on_certificate. */
		curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
		curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, &t);
	}
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	if (max > MAX_RESPONSE || blen > MAX_RESPONSE) {
		/* Big, either way: as long as it moves. */
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
	} else {
		curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	}
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &c);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &c);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)blen);
	}
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	if (cc != CURLE_OK) {
		if ((e = tls_refusal(h, &t, err, errlen)))
			;
		else if (c.too_big)
			snprintf(err, errlen, "%s %s: answer over %zu MiB", method, url, max >> 20);
		else
			snprintf(err, errlen, "%s %s: %s%s", method, url, curl_easy_strerror(cc),
				 wrong_scheme_hint(h, cc));
		cli_resp_free(r);
		return e ? e : -EIO;
	}
	if (!h->plain && !t.have_shown) {
		snprintf(err, errlen, "%s %s: the TLS channel showed no key", method, url);
		e = -EKEYREJECTED;
		goto bad;
	}
	if ((e = pin_provider(h, &c, &t, err, errlen)))
		goto bad;
	/* Unsigned: a refusal of a request the provider did not verify, or nothing. */
	if (!*c.sig && r->status >= 400 && r->status <= 599) {
		r->unverified = 1;
		return 0;
	}
	/* Signed over what we sent: an answer to another request doesn't verify. */
	if (omt_verify_response(h->provider, r->status, a.digest, r->body ? r->body : "", r->len,
				c.sig)) {
		snprintf(err, errlen, "the answer of %s is not signed by its provider key for "
			 "this request: refused", h->hostport);
		e = -EKEYREJECTED;
		goto bad;
	}
	return 0;
bad:
	cli_resp_free(r);
	return e;
}
