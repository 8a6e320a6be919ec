/* SPDX-License-Identifier: ISC */
/*
 * The per-request object of the worker and the response helpers every
 * route shares. Client input reaches the routes only through here: the
 * body is read with a hard cap, the token is checked before any route that
 * needs a caller runs, and errors leave in FastAPI's shapes. Client strings
 * are logged only through log_escape().
 */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat/reqval.h"
#include "common/http_status.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "req.h"

#define REQ_READ_CHUNK 65536

/* A FastCGI parameter of "r", or NULL. */
static const char *
req_param(const struct req *r, const char *name)
{
	return FCGX_GetParam(name, r->fr->envp);
}

/*
 * The path of the request as a new string: REQUEST_URI without its query
 * (and without scheme and authority when the client sent an absolute
 * URI), else DOCUMENT_URI, else SCRIPT_NAME + PATH_INFO. It is matched
 * as sent: no percent-decoding, no dot-segment removal.
 */
static char *
req_path_get(const struct req *r)
{
	const char *uri, *p;

	if ((uri = req_param(r, "REQUEST_URI")) != NULL && *uri != '\0') {
		if (*uri != '/' && (p = strstr(uri, "://")) != NULL)
			uri = (p = strchr(p + 3, '/')) != NULL ? p : "/";
		return xstrndup(uri, strcspn(uri, "?#"));
	}
	if ((uri = req_param(r, "DOCUMENT_URI")) != NULL && *uri != '\0')
		return xstrdup(uri);
	p = req_param(r, "PATH_INFO");
	uri = req_param(r, "SCRIPT_NAME");
	return xasprintf("%s%s", uri != NULL ? uri : "", p != NULL ? p : "");
}

struct req *
req_new(struct app *app, FCGX_Request *fr)
{
	struct req *r = xcalloc(1, sizeof(*r));
	const char *s;

	r->fr = fr;
	r->app = app;
	r->now_ms = chat_now_ms();
	s = req_param(r, "REQUEST_METHOD");
	r->method = s != NULL ? s : "";
	r->path = req_path_get(r);
	s = req_param(r, "QUERY_STRING");
	r->query = s != NULL ? s : "";
	s = req_param(r, "CONTENT_TYPE");
	r->ctype = s != NULL && *s != '\0' ? s : NULL;
	s = req_param(r, "REMOTE_ADDR");
	r->remote = s != NULL ? s : "";
	return r;
}

void
req_free(struct req *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->path);
	/* The body may hold a password. */
	if (r->body != NULL)
		explicit_bzero(r->body, r->bodylen);
	free(r->body);
	if (r->authed)
		db_user_finish(&r->user);
	json_decref(r->out);
	free(r->text);
	for (i = 0; i < r->nheaders; i++)
		free(r->headers[i]);
	free(r);
}

/*
 * Parse the decimal digits "s" into "*v" (no sign, no spaces, no
 * overflow). Returns 0, or -1 with "*v" untouched.
 */
static int
req_digits_parse(const char *s, int64_t *v)
{
	int64_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || n > (INT64_MAX - (*s - '0')) / 10)
			return -1;
		n = n * 10 + (*s - '0');
	}
	*v = n;
	return 0;
}

int
req_content_length(struct req *r, int64_t *len)
{
	const char *cl = req_param(r, "CONTENT_LENGTH");

	*len = -1;
	if (cl != NULL && *cl != '\0' && req_digits_parse(cl, len) == -1) {
		req_error(r, 400, "Invalid Content-Length");
		return -1;
	}
	return 0;
}

int
req_body_read(struct req *r)
{
	int64_t max = r->app->conf.body_max, len = -1;
	size_t cap, got = 0;
	char *buf = NULL;
	int n, rc = -1;

	if (req_content_length(r, &len) == -1)
		goto out;
	if (len > max) {
		req_error(r, 413, "Request body too large");
		goto out;
	}
	/* Room for body_max + 1 bytes, to notice a longer body. */
	cap = len >= 0 ? (size_t)len + 2 : 4096;
	buf = xmalloc(cap);
	for (;;) {
		if (cap - got < 2)
			buf = xrealloc(buf, cap *= 2);
		n = cap - got - 1 > REQ_READ_CHUNK ? REQ_READ_CHUNK
		                                   : (int)(cap - got - 1);
		if ((n = FCGX_GetStr(buf + got, n, r->fr->in)) <= 0)
			break;
		got += (size_t)n;
		if (got > (size_t)max) {
			req_error(r, 413, "Request body too large");
			goto out;
		}
	}
	buf[got] = '\0';
	r->body = buf;
	r->bodylen = got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

int
req_json_object(struct req *r, json_t **obj)
{
	json_t *errs = json_array();

	*obj = reqval_body_object(errs, r->ctype, r->body, r->bodylen);
	if (*obj == NULL) {
		req_invalid(r, errs);
		return -1;
	}
	json_decref(errs);
	return 0;
}

/*
 * The "Authorization" value "h" split into its Bearer token: "Bearer"
 * (any case), one or more spaces or tabs, the token, optional trailing
 * blanks. Returns the token as a new string ("" for a bare "Bearer"), or
 * NULL for another scheme.
 */
static char *
req_bearer_token(const char *h)
{
	size_t n;

	h += strspn(h, " \t");
	if (strncasecmp(h, "Bearer", 6) != 0 ||
	    (h[6] != ' ' && h[6] != '\t' && h[6] != '\0'))
		return NULL;
	h += 6;
	h += strspn(h, " \t");
	n = strlen(h);
	while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	return xstrndup(h, n);
}

int
req_auth(struct req *r)
{
	static const char bad[] = "Could not validate credentials";
	const char *h = req_param(r, "HTTP_AUTHORIZATION");
	struct app *a = r->app;
	int64_t uid, iat;
	enum chat_err e;
	char *tok = NULL;
	int rc = -1;

	if (h == NULL || (tok = req_bearer_token(h)) == NULL) {
		req_unauthorized(r, "Not authenticated");
		goto out;
	}
	if (token_check(&a->key, tok, r->now_ms / 1000, a->conf.token_leeway,
	        &uid, &iat) != CHAT_OK) {
		req_unauthorized(r, bad);
		goto out;
	}
	if ((e = db_user_by_id(a->db, uid, &r->user)) != CHAT_OK) {
		if (e == CHAT_ERR_NOTFOUND)
			req_unauthorized(r, bad);
		else
			req_fail(r, e);
		goto out;
	}
	r->authed = 1;
	if (iat < r->user.tokens_valid_after) {
		req_unauthorized(r, bad);
		goto out;
	}
	rc = 0;
out:
	free(tok);
	return rc;
}

void
req_reply(struct req *r, int status, json_t *body)
{
	json_decref(r->out);
	free(r->text);
	r->text = NULL;
	r->status = status;
	r->out = body;
}

void
req_reply_text(struct req *r, int status, char *text, size_t len)
{
	req_reply(r, status, NULL);
	r->text = text;
	r->textlen = len;
}

int
req_is_preflight(const struct req *r)
{
	return strcmp(r->method, "OPTIONS") == 0 &&
	    req_param(r, "HTTP_ACCESS_CONTROL_REQUEST_METHOD") != NULL;
}

void
req_error(struct req *r, int status, const char *detail)
{
	req_reply(r, status, json_pack("{s:s}", "detail", detail));
}

void
req_unauthorized(struct req *r, const char *detail)
{
	req_header(r, "WWW-Authenticate: Bearer");
	req_error(r, 401, detail);
}

void
req_rate_limited(struct req *r, double retry_after)
{
	double s = ceil(retry_after);

	if (!(s >= 1))
		s = 1;
	if (s > 86400)
		s = 86400;
	req_header(r, "Retry-After: %d", (int)s);
	req_error(r, 429, "Too many requests");
}

enum chat_err
req_rate_take(
    struct req *r, const char *key, double burst, double rate, double cost)
{
	double retry = 0;
	enum chat_err e;

	e = db_rate_take(r->app->db, key, burst, rate, cost, r->now_ms, &retry);
	if (e == CHAT_ERR_RATE)
		req_rate_limited(r, retry);
	return e;
}

void
req_fail(struct req *r, enum chat_err e)
{
	switch (e) {
	case CHAT_ERR_NOTFOUND:
		req_error(r, 404, "Not Found");
		break;
	case CHAT_ERR_AUTH:
		req_unauthorized(r, "Could not validate credentials");
		break;
	case CHAT_ERR_RATE:
		req_rate_limited(r, 1);
		break;
	case CHAT_ERR_BUSY:
		req_header(r, "Retry-After: 1");
		req_error(r, 503, "Service temporarily unavailable");
		break;
	case CHAT_ERR_FULL:
		req_error(r, 507, "Insufficient storage");
		break;
	default:
		req_error(r, 500, "Internal Server Error");
		break;
	}
}

void
req_invalid(struct req *r, json_t *errs)
{
	if (errs == NULL)
		errs = json_array();
	req_reply(r, 422, json_pack("{s:o}", "detail", errs));
}

void
req_header(struct req *r, const char *fmt, ...)
{
	va_list ap;
	char *s;

	assert(r->nheaders < REQ_HEADERS_MAX);
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("%s: vasprintf", __func__);
	va_end(ap);
	r->headers[r->nheaders++] = s;
}

void
req_send(struct req *r)
{
	FCGX_Stream *o = r->fr->out;
	char head[256], *body;
	size_t i, len;
	int n;

	if (r->status == 0 || (r->out == NULL && r->text == NULL)) {
		log_warnx("%s: no response set", __func__);
		req_error(r, 500, "Internal Server Error");
	}
	if (r->text != NULL) {
		body = r->text;
		len = r->textlen;
		r->text = NULL;
	} else if ((body = json_dumps(r->out, JSON_COMPACT)) == NULL)
		fatalx("%s: json_dumps", __func__);
	else
		len = strlen(body);
	/* libfcgi's own printf lacks %zu: format here. */
	n = snprintf(head, sizeof(head),
	    "Status: %d %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n",
	    r->status, http_status_text(r->status), len);
	FCGX_PutStr(head, n, o);
	for (i = 0; i < r->nheaders; i++) {
		FCGX_PutS(r->headers[i], o);
		FCGX_PutStr("\r\n", 2, o);
	}
	FCGX_PutStr("\r\n", 2, o);
	FCGX_PutStr(body, (int)len, o);
	free(body);
}

void
req_verr_add(
    json_t *errs, json_t *loc, const char *msg, const char *type, json_t *ctx)
{
	reqval_verr_add(errs, loc, msg, type, ctx);
}

json_t *
req_loc(const char *loc0, const char *field)
{
	return reqval_loc(loc0, field);
}
