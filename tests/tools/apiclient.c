// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A test client that can do what `omerta` never does: send a request whose
 * body was changed after signing, send the same signed request twice, a
 * body of its own, a request signed the omerta-v1 way (no
 * Omerta-Content-SHA256), or a body dripped one byte a second; or print
 * the signed headers of N such requests (fresh nonces), one block each,
 * blank-line separated, for tests/integration/apiflood.py to send.
 *   apiclient IDENTITY [http://]HOST:PORT METHOD PATH BODY-FILE|- \
 *             good|tampered|replay|stale|v1|drip|headers:N
 * Talks TLS unless the address says http://, without checking the
 * provider's certificate (the consumer's own client does that). Prints
 * "BODY STATUS" for each request sent ("curl failed 0" when it was cut).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "../../api/keys.h"
#include "../../api/sign.h"

struct drip {
	const char *body;
	size_t len, sent;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	fwrite(p, size, n, arg);
	return size * n;
}

/* One byte a second. */
static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct drip *d = arg;

	if (d->sent == d->len || !size || !n)
		return 0;
	if (d->sent)
		sleep(1);
	buf[0] = d->body[d->sent++];
	return 1;
}

static void send_one(const char *url, const char *method, const struct omt_req_auth *a,
		     const char *body, const char *mode)
{
	struct drip drip = { .body = body, .len = body ? strlen(body) : 0 };
	struct curl_slist *h = NULL;
	char line[256];
	long status = 0;
	CURL *c = curl_easy_init();

	snprintf(line, sizeof(line), "%s: %s", OMT_HDR_KEY, a->key);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "%s: %s", OMT_HDR_TIMESTAMP, a->timestamp);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "%s: %s", OMT_HDR_NONCE, a->nonce);
	h = curl_slist_append(h, line);
	if (strcmp(mode, "v1")) {
		snprintf(line, sizeof(line), "%s: %s", OMT_HDR_CONTENT_SHA256, a->content_sha256);
		h = curl_slist_append(h, line);
	}
	snprintf(line, sizeof(line), "%s: %s", OMT_HDR_SIGNATURE, a->signature);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, stdout);
	if (!strcmp(mode, "drip")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)drip.len);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &drip);
	} else if (body && *body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (curl_easy_perform(c) != CURLE_OK)
		printf("curl failed");
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	printf(" %ld\n", status);
	fflush(stdout);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

int main(int argc, char **argv)
{
	uint8_t sk[64], pk[32];
	struct omt_req_auth a;
	char url[512], err[300], *body = NULL;
	const char *where, *mode;
	size_t len = 0;
	FILE *f;
	int i;
	int64_t now = time(NULL);

	if (argc != 7 || sodium_init() < 0) {
		fprintf(stderr, "usage: apiclient IDENTITY [http://]HOST:PORT METHOD PATH "
				"BODY-FILE|- good|tampered|replay|stale|v1|drip|headers:N\n");
		return 2;
	}
	mode = argv[6];
	if (omt_key_load(argv[1], sk, pk, err, sizeof(err))) {
		fprintf(stderr, "apiclient: %s\n", err);
		return 1;
	}
	if (strcmp(argv[5], "-")) {
		f = fopen(argv[5], "r");
		if (!f || getdelim(&body, &len, '\0', f) < 0) {
			fprintf(stderr, "apiclient: %s: %s\n", argv[5], strerror(errno));
			return 1;
		}
		fclose(f);
	}
	if (!strncmp(mode, "headers:", 8)) {
		for (i = atoi(mode + 8); i > 0; i--) {
			omt_sign_request(sk, pk, argv[3], argv[4], body ? body : "",
					 body ? strlen(body) : 0, now, &a);
			printf("%s: %s\n%s: %s\n%s: %s\n%s: %s\n%s: %s\nContent-Length: %zu\n\n",
			       OMT_HDR_KEY, a.key, OMT_HDR_TIMESTAMP, a.timestamp, OMT_HDR_NONCE,
			       a.nonce, OMT_HDR_CONTENT_SHA256, a.content_sha256, OMT_HDR_SIGNATURE,
			       a.signature, body ? strlen(body) : 0);
		}
		free(body);
		return 0;
	}
	if (!strcmp(mode, "stale"))
		now -= 3600;
	omt_sign_request(sk, pk, argv[3], argv[4], body ? body : "", body ? strlen(body) : 0, now,
			 &a);
	if (!strcmp(mode, "tampered") && body && *body)
		body[strlen(body) - 2] ^= 1;
	where = argv[2];
	if (!strncmp(where, "http://", 7))
		snprintf(url, sizeof(url), "%s%s", where, argv[4]);
	else
		snprintf(url, sizeof(url), "https://%s%s", where, argv[4]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	send_one(url, argv[3], &a, body, mode);
	if (!strcmp(mode, "replay"))
		send_one(url, argv[3], &a, body, mode);
	free(body);
	return 0;
}
