// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

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

	take(p, size * n, "Omerta-Signature", c->sig, sizeof(c->sig));
	take(p, size * n, "Omerta-Provider-Key", c->provider_key, sizeof(c->provider_key));
	return size * n;
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

static int pin_provider(struct cli_http *h, const struct capture *c, char *err, size_t errlen)
{
	uint8_t key[32];
	int e;

	if (h->have_provider)
		return 0;
	if (omt_key_from_b64(c->provider_key, key)) {
		snprintf(err, errlen, "the provider at %s sent no valid key: '%.60s'", h->hostport,
			 c->provider_key);
		return -EKEYREJECTED;
	}
	e = omt_known_provider_check(h->known_file, h->hostport, key, 1, err, errlen);
	if (e < 0)
		return e;
	if (e == 1)
		fprintf(stderr, "omerta: trusting the provider key of %s on first use: %s (in %s)\n",
			h->hostport, c->provider_key, h->known_file);
	memcpy(h->provider, key, 32);
	h->have_provider = 1;
	return 0;
}

int cli_request(struct cli_http *h, const char *method, const char *path, const char *body,
		struct cli_resp *r, char *err, size_t errlen)
{
	return cli_request_max(h, method, path, body, MAX_RESPONSE, r, err, errlen);
}

int cli_request_max(struct cli_http *h, const char *method, const char *path, const char *body,
		    size_t max, struct cli_resp *r, char *err, size_t errlen)
{
	struct omt_req_auth a;
	struct capture c = { .r = r, .max = max };
	struct curl_slist *hdrs = NULL;
	char url[512], line[256];
	size_t blen = body ? strlen(body) : 0;
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
	snprintf(url, sizeof(url), "http://%s%s", h->hostport, path);
	snprintf(line, sizeof(line), "Omerta-Key: %s", a.key);
	hdrs = curl_slist_append(hdrs, line);
	snprintf(line, sizeof(line), "Omerta-Timestamp: %s", a.timestamp);
	hdrs = curl_slist_append(hdrs, line);
	snprintf(line, sizeof(line), "Omerta-Nonce: %s", a.nonce);
	hdrs = curl_slist_append(hdrs, line);
	snprintf(line, sizeof(line), "Omerta-Signature: %s", a.signature);
	hdrs = curl_slist_append(hdrs, line);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
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
		if (c.too_big)
			snprintf(err, errlen, "%s %s: answer over %zu MiB", method, url, max >> 20);
		else
			snprintf(err, errlen, "%s %s: %s", method, url, curl_easy_strerror(cc));
		cli_resp_free(r);
		return -EIO;
	}
	if ((e = pin_provider(h, &c, err, errlen)))
		goto bad;
	if (omt_verify_response(h->provider, r->status, a.nonce, r->body ? r->body : "", r->len,
				c.sig)) {
		snprintf(err, errlen, "the answer of %s is not signed by its provider key: refused",
			 h->hostport);
		e = -EKEYREJECTED;
		goto bad;
	}
	return 0;
bad:
	cli_resp_free(r);
	return e;
}
