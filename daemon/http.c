// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The API's HTTP/1.1 side (libmicrohttpd, its own thread): each
 * connection's request, its body buffered once its key is known to be
 * listed, then authenticated (auth.c) and routed (routes.c); and the
 * replies, every one signed by the provider key.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../api/sign.h"
#include "../lib/log.h"
#include "internal.h"

/* 12 MiB: the inputs. Only listed consumers get that far (see handle()). */
#define MAX_BODY OMT_JOB_MAX_BODY

struct request {
	char *uri;			/* with the query string, as the client signed it */
	char *body;
	size_t len, cap;
	int too_big;
	int started;			/* MHD calls once with the headers alone */
	int stranger;			/* no listed key in the headers: don't buffer */
};

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct request *r = calloc(1, sizeof(*r));

	(void)cls;
	(void)c;
	if (r)
		r->uri = strdup(uri);
	return r;
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r) {
		free(r->uri);
		free(r->body);
		free(r);
	}
	*con_cls = NULL;
}

enum MHD_Result http_reply_then(struct MHD_Connection *c, unsigned int status, char *body,
				const char *nonce, void (*done)(void *))
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
	/* Unsigned only when the request had no usable nonce to sign over. */
	if (nonce && omt_sign_response(d.sk, status, nonce, body, len, sig) == 0)
		MHD_add_response_header(resp, "Omerta-Signature", sig);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result http_reply(struct MHD_Connection *c, unsigned int status, char *body,
			   const char *nonce)
{
	return http_reply_then(c, status, body, nonce, NULL);
}

enum MHD_Result http_error(struct MHD_Connection *c, unsigned int status, const char *msg,
			   const char *nonce)
{
	json_object *o = json_object_new_object();
	char *body;

	json_object_object_add(o, "error", json_object_new_string(msg));
	body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return http_reply(c, status, body, nonce);
}

const char *http_header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static void remote_of(struct MHD_Connection *c, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *sin = ci ? (const struct sockaddr_in *)ci->client_addr : NULL;
	const uint8_t *a = sin ? (const uint8_t *)&sin->sin_addr : NULL;

	if (sin && sin->sin_family == AF_INET)
		snprintf(out, size, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	else
		snprintf(out, size, "unknown");
}

/* A piece of the body, kept unless it is a stranger's or over MAX_BODY in all. */
static enum MHD_Result take_body(struct request *rq, const char *upload, size_t *upload_len)
{
	size_t cap;
	char *p;

	if (rq->stranger || rq->len + *upload_len > MAX_BODY) {
		rq->too_big = 1;
	} else {
		if (rq->len + *upload_len + 1 > rq->cap) {
			/* Doubling: a 12 MiB body comes in many small pieces. */
			cap = rq->cap ? rq->cap : 4096;
			while (cap < rq->len + *upload_len + 1)
				cap *= 2;
			p = realloc(rq->body, cap);
			if (!p)
				return MHD_NO;
			rq->body = p;
			rq->cap = cap;
		}
		memcpy(rq->body + rq->len, upload, *upload_len);
		rq->len += *upload_len;
		rq->body[rq->len] = '\0';
	}
	*upload_len = 0;
	return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **con_cls)
{
	struct request *rq = *con_cls;
	char err[300], remote[64];
	struct call k = { .c = c, .method = method, .remote = remote };
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (!rq)
		return MHD_NO;
	if (!rq->started) {
		rq->started = 1;
		/*
		 * Headers only, body not read yet: a request from a key the policy
		 * doesn't list is turned away before it can make us buffer a body.
		 * (Its refusal is audited after, with the rest of the checks.)
		 */
		rq->stranger = !auth_key_listed(http_header(c, "Omerta-Key"));
		return MHD_YES;
	}
	if (*upload_len)
		return take_body(rq, upload, upload_len);
	remote_of(c, remote, sizeof(remote));
	if (rq->stranger)
		return auth_refuse_stranger(c, remote);
	if (rq->too_big) {
		snprintf(err, sizeof(err), "request body over %d MiB", MAX_BODY >> 20);
		return http_error(c, MHD_HTTP_CONTENT_TOO_LARGE, err, NULL);
	}
	k.body = rq->body ? rq->body : "";
	k.len = rq->len;
	if (authenticate(&k, rq->uri, &ret))
		return ret;
	return route_call(&k, url);
}

struct MHD_Daemon *http_start(void)
{
	const uint8_t *ip = d.policy.listen_ip;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(d.policy.listen_port) };
	struct MHD_Daemon *http;

	memcpy(&sa.sin_addr, ip, 4);
	http = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				handle, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)32, MHD_OPTION_END);
	if (!http)
		pr_err("listen on %u.%u.%u.%u:%u: %s", ip[0], ip[1], ip[2], ip[3],
		       d.policy.listen_port, strerror(errno));
	return http;
}
