// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A test client that can do what `omerta` never does: send a request whose
 * body was changed after signing, send the same signed request twice, or a
 * body of its own. For the daemon's refusal tests.
 *   apiclient IDENTITY HOST:PORT METHOD PATH BODY-FILE|- good|tampered|replay|stale
 * Prints "STATUS BODY" for each request sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "../../api/keys.h"
#include "../../api/sign.h"

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	fwrite(p, size, n, arg);
	return size * n;
}

static void send_one(const char *url, const char *method, const struct omt_req_auth *a,
		     const char *body)
{
	struct curl_slist *h = NULL;
	char line[256];
	long status = 0;
	CURL *c = curl_easy_init();

	snprintf(line, sizeof(line), "Omerta-Key: %s", a->key);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "Omerta-Timestamp: %s", a->timestamp);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "Omerta-Nonce: %s", a->nonce);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "Omerta-Signature: %s", a->signature);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, stdout);
	if (body && *body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (curl_easy_perform(c) != CURLE_OK)
		printf("curl failed");
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	printf(" %ld\n", status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

int main(int argc, char **argv)
{
	uint8_t sk[64], pk[32];
	struct omt_req_auth a;
	char url[512], err[300], *body = NULL;
	size_t len = 0;
	FILE *f;
	int64_t now = time(NULL);

	if (argc != 7 || sodium_init() < 0) {
		fprintf(stderr, "usage: apiclient IDENTITY HOST:PORT METHOD PATH BODY-FILE|- "
				"good|tampered|replay|stale\n");
		return 2;
	}
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
	if (!strcmp(argv[6], "stale"))
		now -= 3600;
	omt_sign_request(sk, pk, argv[3], argv[4], body ? body : "", body ? strlen(body) : 0, now,
			 &a);
	if (!strcmp(argv[6], "tampered") && body && *body)
		body[strlen(body) - 2] ^= 1;
	snprintf(url, sizeof(url), "http://%s%s", argv[2], argv[4]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	send_one(url, argv[3], &a, body);
	if (!strcmp(argv[6], "replay"))
		send_one(url, argv[3], &a, body);
	free(body);
	return 0;
}
