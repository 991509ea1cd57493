// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Who may ask (api/sign.h, omerta-v2): every request is signed over its
 * headers by a consumer key the policy lists and allows, within
 * AUTH_WINDOW_S of our clock, with a nonce never seen before; all of it
 * decided from the headers, before the body is read. A request refused
 * before it is verified gets an unsigned answer and is counted, not
 * audited on its own (audit_refusal): a flood of them costs no fsync each.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "../api/keys.h"
#include "../api/sign.h"
#include "internal.h"

/* Why the policy refuses key outright, in its own words; NULL: it doesn't. */
static const char *consumer_refusal(const uint8_t key[32], bool *listed)
{
	const char *why = "unknown consumer key";
	size_t i;

	*listed = false;
	pthread_mutex_lock(&d.lock);
	for (i = 0; i < d.policy.n_consumers; i++) {
		if (!memcmp(d.policy.consumers[i].key, key, 32)) {
			*listed = true;
			why = d.policy.consumers[i].allow ? NULL : "consumer denied by policy";
		}
	}
	pthread_mutex_unlock(&d.lock);
	return why;
}

/* The short name of a failure of omt_req_auth_from_headers or omt_verify_request. */
static const char *verify_reason(int e)
{
	switch (e) {
	case -ETIME:
		return "stale or future timestamp";
	case -EKEYREJECTED:
		return "bad signature";
	default:
		return "malformed headers";
	}
}

/* verified: its signature was good (a denied key). */
static int refuse(struct call *k, unsigned int status, const char *err, const char *reason,
		  bool verified, enum MHD_Result *ret)
{
	audit_refusal(http_header(k->c, OMT_HDR_KEY), verified, k->remote, reason);
	*ret = http_error(k->c, status, err, NULL);
	return -1;
}

int authenticate(struct call *k, const char *uri, enum MHD_Result *ret)
{
	struct MHD_Connection *c = k->c;
	const char *why;
	bool listed;
	char err[300];
	int e;

	/* No request is looked at before its signature is good and fresh. */
	e = omt_req_auth_from_headers(&k->auth, http_header(c, OMT_HDR_KEY),
				      http_header(c, OMT_HDR_TIMESTAMP),
				      http_header(c, OMT_HDR_NONCE),
				      http_header(c, OMT_HDR_CONTENT_SHA256),
				      http_header(c, OMT_HDR_SIGNATURE),
				      http_header(c, "Content-Length"), err, sizeof(err));
	if (!e)
		e = omt_verify_request(&k->auth, k->method, uri, time(NULL), AUTH_WINDOW_S, k->key,
				       err, sizeof(err));
	if (e)
		return refuse(k, MHD_HTTP_UNAUTHORIZED, err, verify_reason(e), false, ret);
	/*
	 * Only listed consumers get a place in the replay cache: strangers can't
	 * fill it. A denied one's signature is good, yet it may not ask.
	 */
	why = consumer_refusal(k->key, &listed);
	if (why)
		return refuse(k, MHD_HTTP_FORBIDDEN, why, why, listed, ret);
	e = omt_nonce_check(d.nonces, k->key, k->auth.nonce, time(NULL));
	if (e == -EBUSY)
		return refuse(k, MHD_HTTP_SERVICE_UNAVAILABLE, "too many requests: try again",
			      "too many requests", true, ret);
	if (e)
		return refuse(k, MHD_HTTP_UNAUTHORIZED, "replayed request (nonce seen before)",
			      "replayed nonce", false, ret);
	k->digest = k->auth.digest;
	return 0;
}
