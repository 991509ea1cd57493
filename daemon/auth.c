// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Who may ask (api/sign.h): every request is signed by a consumer key the
 * policy lists and allows, within AUTH_WINDOW_S of our clock, with a nonce
 * never seen before. Each refusal is audited; the audit log locks itself,
 * so a flood of bad requests never holds d.lock for long.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "../api/keys.h"
#include "../api/sign.h"
#include "internal.h"

bool auth_key_listed(const char *key_b64)
{
	bool listed = false;
	uint8_t k[32];
	size_t i;

	if (!key_b64 || omt_key_from_b64(key_b64, k))
		return false;
	pthread_mutex_lock(&d.lock);
	for (i = 0; i < d.policy.n_consumers; i++)
		listed |= !memcmp(d.policy.consumers[i].key, k, 32);
	pthread_mutex_unlock(&d.lock);
	return listed;
}

enum MHD_Result auth_refuse_stranger(struct MHD_Connection *c, const char *remote)
{
	/* Its body was never read, so its signature can't be checked. */
	audit_decision(NULL, NULL, NULL, 0, "unknown consumer key (signature not checked)", NULL,
		       remote);
	return http_error(c, MHD_HTTP_FORBIDDEN, "unknown consumer key",
			  http_header(c, "Omerta-Nonce"));
}

/* Why the policy refuses key outright, in its own words; NULL: it doesn't. */
static const char *consumer_refusal(const uint8_t key[32])
{
	const char *why = "unknown consumer key";
	size_t i;

	pthread_mutex_lock(&d.lock);
	for (i = 0; i < d.policy.n_consumers; i++)
		if (!memcmp(d.policy.consumers[i].key, key, 32))
			why = d.policy.consumers[i].allow ? NULL : "consumer denied by policy";
	pthread_mutex_unlock(&d.lock);
	return why;
}

int authenticate(struct call *k, const char *uri, enum MHD_Result *ret)
{
	struct MHD_Connection *c = k->c;
	struct omt_req_auth auth = {};
	const char *why;
	char err[300];
	int e;

	/* No request is looked at before its signature is good and fresh. */
	if (omt_req_auth_from_headers(&auth, http_header(c, "Omerta-Key"),
				      http_header(c, "Omerta-Timestamp"),
				      http_header(c, "Omerta-Nonce"),
				      http_header(c, "Omerta-Signature"), err, sizeof(err)) ||
	    omt_verify_request(&auth, k->method, uri, k->body, k->len, time(NULL), AUTH_WINDOW_S,
			       k->key, err, sizeof(err))) {
		audit_decision(NULL, NULL, NULL, 0, err, NULL, k->remote);
		*ret = http_error(c, MHD_HTTP_UNAUTHORIZED, err, auth.nonce);
		return -1;
	}
	memcpy(k->nonce, auth.nonce, sizeof(k->nonce));
	/*
	 * Only listed consumers get a place in the replay cache: strangers can't
	 * fill it and lock everyone out. (Their refusal is the policy's.)
	 */
	why = consumer_refusal(k->key);
	if (why) {
		audit_decision(k->key, NULL, NULL, 0, why, NULL, k->remote);
		*ret = http_error(c, MHD_HTTP_FORBIDDEN, why, k->nonce);
		return -1;
	}
	e = omt_nonce_check(d.nonces, k->key, k->nonce, time(NULL));
	if (e == -EBUSY) {
		*ret = http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "too many requests: try again",
				  k->nonce);
		return -1;
	}
	if (e) {
		audit_decision(k->key, NULL, NULL, 0, "replayed request (nonce seen before)", NULL,
			       k->remote);
		*ret = http_error(c, MHD_HTTP_UNAUTHORIZED, "replayed request (nonce seen before)",
				  k->nonce);
		return -1;
	}
	return 0;
}
