/* SPDX-License-Identifier: ISC */
/*
 * HTTP/1.1 request parsing for the push daemon over http-parser: the
 * callbacks collect the target and the few headers the daemon reads,
 * bounded in size, and refuse a repeated one; the body is kept up to the
 * payload limit. The handshake checks that follow a complete request live
 * here too, so that all of it is tested and fuzzed without a socket.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xmalloc.h"
#include "sio/http_req.h"

static const char *const http_req_hdr_names[HTTP_REQ_HDR__MAX] = {"host",
    "origin", "upgrade", "sec-websocket-key", "sec-websocket-version",
    "authorization", "x-forwarded-for"};

struct http_req *
http_req_new(uint64_t max_payload)
{
	struct http_req *r = xcalloc(1, sizeof(*r));

	http_parser_init(&r->parser, HTTP_REQUEST);
	r->parser.data = r;
	r->cur = -1;
	r->max_payload = max_payload;
	r->url = xstrdup("");
	return r;
}

void
http_req_free(struct http_req *r)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < HTTP_REQ_HDR__MAX; i++)
		free(r->hdr[i]);
	free(r->url);
	free(r->body);
	free(r);
}

/* Append "n" bytes to the NUL-terminated "*dst" of "*len" bytes. */
static void
http_req_append(char **dst, size_t *len, const char *s, size_t n)
{
	*dst = xrealloc(*dst, *len + n + 1);
	memcpy(*dst + *len, s, n);
	*len += n;
	(*dst)[*len] = '\0';
}

static int
http_req_on_url(http_parser *p, const char *at, size_t n)
{
	struct http_req *r = p->data;

	if (r->url_len + n > HTTP_REQ_URL_MAX || memchr(at, '\0', n) != NULL)
		return -1;
	http_req_append(&r->url, &r->url_len, at, n);
	return 0;
}

/* A piece of a header name; "cur" is -2 while a name is being read. */
static int
http_req_on_header_field(http_parser *p, const char *at, size_t n)
{
	struct http_req *r = p->data;

	if ((r->hdr_bytes += n) > HTTP_REQ_HEADERS_MAX ||
	    memchr(at, '\0', n) != NULL)
		return -1;
	if (r->cur != -2) { /* a value was being read: new field */
		r->field_len = 0;
		r->cur = -2;
	}
	if (r->field_len + n < sizeof(r->field))
		memcpy(r->field + r->field_len, at, n);
	r->field_len += n;
	return 0;
}

/*
 * A piece of a header value: the first piece names the field (a header
 * the daemon reads, or none), the following ones are appended. A NUL is
 * refused (RFC 9110 5.5 allows that): http-parser lets it through, and a
 * value kept as a C string would end there, or not, depending on how the
 * bytes were split into reads (fuzz-http found it).
 */
static int
http_req_on_header_value(http_parser *p, const char *at, size_t n)
{
	struct http_req *r = p->data;
	size_t len;
	int i;

	if ((r->hdr_bytes += n) > HTTP_REQ_HEADERS_MAX ||
	    memchr(at, '\0', n) != NULL)
		return -1;
	if (r->cur == -2) { /* first piece of this value: name the field */
		r->cur = -1;
		for (i = 0;
		     r->field_len < sizeof(r->field) && i < HTTP_REQ_HDR__MAX;
		     i++)
			if (r->field_len == strlen(http_req_hdr_names[i]) &&
			    strncasecmp(r->field, http_req_hdr_names[i],
			        r->field_len) == 0) {
				r->cur = i;
				if (r->hdr[i] == NULL)
					r->hdr[i] = xstrdup("");
				else if (i == HTTP_REQ_HDR_FORWARDED_FOR) {
					/* A list: lines join (RFC 9110 5.3). */
					len = strlen(r->hdr[i]);
					http_req_append(
					    &r->hdr[i], &len, ", ", 2);
				} else
					return -1; /* repeated header */
			}
	}
	if (r->cur >= 0) {
		len = strlen(r->hdr[r->cur]);
		http_req_append(&r->hdr[r->cur], &len, at, n);
	}
	return 0;
}

static int
http_req_on_body(http_parser *p, const char *at, size_t n)
{
	struct http_req *r = p->data;

	if (r->too_large || r->body_len + n > r->max_payload) {
		r->too_large = 1;
		return 0;
	}
	http_req_append((char **)&r->body, &r->body_len, at, n);
	return 0;
}

/* Stop at the end of the message: what follows is not this request's. */
static int
http_req_on_message_complete(http_parser *p)
{
	struct http_req *r = p->data;

	r->complete = 1;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings http_req_settings = {
    .on_url = http_req_on_url,
    .on_header_field = http_req_on_header_field,
    .on_header_value = http_req_on_header_value,
    .on_body = http_req_on_body,
    .on_message_complete = http_req_on_message_complete,
};

int
http_req_feed(struct http_req *r, const void *buf, size_t len, size_t *used)
{
	enum http_errno err;

	*used = http_parser_execute(
	    &r->parser, &http_req_settings, (const char *)buf, len);
	err = HTTP_PARSER_ERRNO(&r->parser);
	if (err != HPE_OK && err != HPE_PAUSED)
		return r->hdr_bytes > HTTP_REQ_HEADERS_MAX ? 431 : 400;
	if (r->complete && r->parser.http_major == 1 &&
	    r->parser.http_minor >= 1 && r->hdr[HTTP_REQ_HDR_HOST] == NULL)
		return 400;
	return 0;
}

/* 1 when the comma-separated header value "v" holds token "tok". */
static int
http_req_has_token(const char *v, const char *tok)
{
	size_t n = strlen(tok);

	while (v != NULL && *v != '\0') {
		v += strspn(v, " \t,");
		if (strncasecmp(v, tok, n) == 0 &&
		    (v[n] == '\0' || strchr(" \t,", v[n]) != NULL))
			return 1;
		v = strchr(v, ',');
	}
	return 0;
}

int
http_req_ws_check(const struct http_req *r, char accept[WS_ACCEPT_LEN + 1])
{
	const char *key = r->hdr[HTTP_REQ_HDR_WS_KEY];
	const char *ver = r->hdr[HTTP_REQ_HDR_WS_VERSION];
	const http_parser *p = &r->parser;

	if (ver == NULL || strcmp(ver, "13") != 0)
		return 426;
	if (p->method != HTTP_GET || !p->upgrade || p->http_major < 1 ||
	    (p->http_major == 1 && p->http_minor < 1) ||
	    !http_req_has_token(r->hdr[HTTP_REQ_HDR_UPGRADE], "websocket") ||
	    key == NULL || ws_accept_key(key, strlen(key), accept) != 0)
		return 400;
	return 0;
}

int
http_req_eio_params(const struct http_req *r, const char *q, struct form *f,
    const char **sid, int *websocket, int *code)
{
	const char *transport, *v;

	*sid = NULL;
	*websocket = 0;
	if (form_parse(f, q, strlen(q)) != FORM_OK) {
		*code = 3;
		return -1;
	}
	transport = form_get(f, "transport");
	if (transport == NULL ||
	    (strcmp(transport, "polling") != 0 &&
	        strcmp(transport, "websocket") != 0)) {
		*code = 0;
		return -1;
	}
	*websocket = strcmp(transport, "websocket") == 0;
	if (*websocket != (r->parser.upgrade != 0)) {
		*code = 3;
		return -1;
	}
	if ((*sid = form_get(f, "sid")) != NULL)
		return 0;
	if (r->parser.method != HTTP_GET) {
		*code = 2;
		return -1;
	}
	if ((v = form_get(f, "EIO")) == NULL || strcmp(v, "4") != 0) {
		*code = 5;
		return -1;
	}
	return 0;
}
