// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The API's HTTP/1.1 side (libmicrohttpd, one thread of its own, over TLS
 * 1.3 unless the policy says tls = off): each connection's request is
 * authenticated from its headers alone (auth.c) before one byte of its
 * body is read; only then is its body taken, into a buffer of its signed
 * length, within the bounds below, and checked against its signed hash;
 * then it is routed (routes.c). Every answer to a verified request is
 * signed by the provider key over that request's digest.
 *
 * What clients can make the daemon hold, whatever they do:
 *   - connections: CONNECTIONS_MAX in all, CONNECTIONS_PER_ADDRESS from
 *     one address, each with CONNECTION_MEMORY of libmicrohttpd's for its
 *     headers (more: 431/413 from libmicrohttpd), closed after IDLE_S
 *     without a byte;
 *   - bodies: only verified requests' (signed length, at most MAX_BODY),
 *     UPLOADS_MAX in flight in all, UPLOADS_MAX_ONE per consumer key and
 *     per client address (beyond: 503, try again); an upload slower than
 *     UPLOAD_MIN_RATE after UPLOAD_GRACE_S is cut off.
 * So at most 48 MiB of bodies and 256 x 32 KiB of headers (and each TLS
 * session's few KiB) above what the daemon holds idle.
 *
 * Everything here runs on the API thread: the uploads list needs no lock.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../api/sign.h"
#include "../lib/log.h"
#include "internal.h"

#define MAX_BODY OMT_JOB_MAX_BODY	/* 12 MiB: the inputs */
#define CONNECTIONS_MAX 256u
#define CONNECTIONS_PER_ADDRESS 32u
#define CONNECTION_MEMORY (32u << 10)
#define IDLE_S 30u
#define UPLOADS_MAX (48u << 20)
#define UPLOADS_MAX_ONE (24u << 20)
#define UPLOAD_GRACE_S 10
#define UPLOAD_MIN_RATE (16u << 10)	/* bytes/s, on average after the grace */

struct request {
	char *uri;			/* with the query string, as the client signed it */
	struct call k;
	char remote[16];
	uint32_t addr;			/* the client's IPv4 address, network order */
	int started;			/* MHD calls once with the headers alone */
	char *body;			/* k.auth.length + 1 bytes, once verified */
	size_t len;			/* received so far */
	struct timespec start;
	struct request *prev, *next;	/* in uploads while it has a body coming */
};

static struct request *uploads;

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct request *r = calloc(1, sizeof(*r));

	(void)cls;
	(void)c;
	if (r)
		r->uri = strdup(uri);
	return r;
}

static void upload_end(struct request *r)
{
	if (!r->body)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		uploads = r->next;
	if (r->next)
		r->next->prev = r->prev;
	free(r->body);
	r->body = NULL;
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r) {
		upload_end(r);
		free(r->uri);
		free(r);
	}
	*con_cls = NULL;
}

/* Why r's body can't be taken now (NULL: it can), the bytes in flight counted. */
static const char *upload_refusal(const struct request *r, char *why, size_t size)
{
	uint64_t all = r->k.auth.length, key = all, addr = all;
	const struct request *u;

	for (u = uploads; u; u = u->next) {
		all += u->k.auth.length;
		if (!memcmp(u->k.key, r->k.key, 32))
			key += u->k.auth.length;
		if (u->addr == r->addr)
			addr += u->k.auth.length;
	}
	if (all > UPLOADS_MAX)
		snprintf(why, size, "too many uploads in flight (%u MiB in all): try again",
			 UPLOADS_MAX >> 20);
	else if (key > UPLOADS_MAX_ONE)
		snprintf(why, size, "too many uploads in flight from this consumer key (%u MiB): "
			 "try again", UPLOADS_MAX_ONE >> 20);
	else if (addr > UPLOADS_MAX_ONE)
		snprintf(why, size, "too many uploads in flight from %s (%u MiB): try again",
			 r->remote, UPLOADS_MAX_ONE >> 20);
	else
		return NULL;
	return why;
}

enum MHD_Result http_reply_then(struct MHD_Connection *c, unsigned int status, char *body,
				const uint8_t *digest, void (*done)(void *))
{
	char sig[OMT_SIG_B64_LEN + 1];
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;

	if (!body)
		return MHD_NO;
	len = strlen(body);
	resp = done ? MHD_create_response_from_buffer_with_free_callback(len, body, done) :
		      MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		done ? done(body) : free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Omerta-Provider-Key", d.pk_b64);
	/* Unsigned when the request was not verified: it answers nothing. */
	if (digest && omt_sign_response(d.sk, status, digest, body, len, sig) == 0)
		MHD_add_response_header(resp, OMT_HDR_SIGNATURE, sig);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result http_reply(struct MHD_Connection *c, unsigned int status, char *body,
			   const uint8_t *digest)
{
	return http_reply_then(c, status, body, digest, NULL);
}

enum MHD_Result http_error(struct MHD_Connection *c, unsigned int status, const char *msg,
			   const uint8_t *digest)
{
	json_object *o = json_object_new_object();
	char *body;

	json_object_object_add(o, "error", json_object_new_string(msg));
	body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return http_reply(c, status, body, digest);
}

const char *http_header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static void remote_of(struct MHD_Connection *c, struct request *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *sin = ci ? (const struct sockaddr_in *)ci->client_addr : NULL;
	const uint8_t *a = sin ? (const uint8_t *)&sin->sin_addr : NULL;

	if (sin && sin->sin_family == AF_INET) {
		snprintf(r->remote, sizeof(r->remote), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		memcpy(&r->addr, a, 4);
	} else {
		snprintf(r->remote, sizeof(r->remote), "unknown");
	}
}

static double seconds_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9;
}

/*
 * The headers have come, the body (if any) not yet: the request is
 * verified or refused now, and a verified body gets its room.
 */
static enum MHD_Result request_start(struct request *r, struct MHD_Connection *c,
				     const char *method)
{
	char why[160];
	enum MHD_Result ret;

	r->started = 1;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	remote_of(c, r);
	r->k.c = c;
	r->k.method = method;
	r->k.remote = r->remote;
	r->k.body = "";
	if (http_header(c, "Transfer-Encoding")) {
		audit_refusal(http_header(c, OMT_HDR_KEY), false, r->remote, "no Content-Length");
		return http_error(c, MHD_HTTP_LENGTH_REQUIRED,
				  "a request body needs a Content-Length (chunked bodies are "
				  "not taken)", NULL);
	}
	if (authenticate(&r->k, r->uri, &ret))
		return ret;
	if (r->k.auth.length > MAX_BODY) {
		snprintf(why, sizeof(why), "request body over %d MiB", MAX_BODY >> 20);
		return http_error(c, MHD_HTTP_CONTENT_TOO_LARGE, why, r->k.digest);
	}
	if (!r->k.auth.length)
		return MHD_YES;
	if (upload_refusal(r, why, sizeof(why)))
		return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, why, r->k.digest);
	r->body = malloc(r->k.auth.length + 1);
	if (!r->body)
		return http_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory: try again",
				  r->k.digest);
	r->next = uploads;
	if (uploads)
		uploads->prev = r;
	uploads = r;
	return MHD_YES;
}

/* A piece of a verified body; an upload too slow is cut off (MHD_NO closes it). */
static enum MHD_Result take_body(struct request *r, const char *upload, size_t *upload_len)
{
	double t;

	if (!r->body || *upload_len > r->k.auth.length - r->len)
		return MHD_NO;
	memcpy(r->body + r->len, upload, *upload_len);
	r->len += *upload_len;
	*upload_len = 0;
	t = seconds_since(&r->start) - UPLOAD_GRACE_S;
	if (t > 0 && r->len < r->k.auth.length && r->len < t * UPLOAD_MIN_RATE) {
		audit_refusal(r->k.auth.key, true, r->remote, "upload too slow");
		return MHD_NO;
	}
	return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **con_cls)
{
	struct request *r = *con_cls;
	enum MHD_Result ret;
	char err[200];

	(void)cls;
	(void)version;
	if (!r)
		return MHD_NO;
	if (!r->started)
		return request_start(r, c, method);
	if (*upload_len)
		return take_body(r, upload, upload_len);
	if (r->body) {
		r->body[r->len] = '\0';
		r->k.body = r->body;
		r->k.len = r->len;
	}
	if (omt_check_body(&r->k.auth, r->k.body, r->k.len, err, sizeof(err))) {
		audit_refusal(r->k.auth.key, false, r->remote, "body does not match its hash");
		return http_error(c, MHD_HTTP_BAD_REQUEST, err, NULL);
	}
	ret = route_call(&r->k, url);
	upload_end(r);			/* its room, for the next one */
	return ret;
}

struct MHD_Daemon *http_start(void)
{
	const uint8_t *ip = d.policy.listen_ip;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(d.policy.listen_port) };
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, d.tls.key },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, d.tls.cert },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3" },
		{ MHD_OPTION_END, 0, NULL },
	};
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *http;

	if (d.policy.tls)
		flags |= MHD_USE_TLS;
	else
		tls[0].option = MHD_OPTION_END;
	memcpy(&sa.sin_addr, ip, 4);
	http = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
				MHD_OPTION_CONNECTION_TIMEOUT, IDLE_S,
				MHD_OPTION_CONNECTION_LIMIT, CONNECTIONS_MAX,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, CONNECTIONS_PER_ADDRESS,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
				MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!http)
		pr_err("listen on %u.%u.%u.%u:%u: %s", ip[0], ip[1], ip[2], ip[3],
		       d.policy.listen_port, strerror(errno));
	return http;
}
