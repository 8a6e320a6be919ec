/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for lib/sio/http_req.c, the push daemon's HTTP request
 * parsing: the input is a connection's bytes, parsed into requests the way
 * lib/sio/http.c does (a new request after each complete one, up to an
 * error or an upgrade), once whole and once in chunks of sizes taken from
 * the input. Both readings must agree request by request; each complete
 * request also goes through the WebSocket handshake checks and the
 * Engine.IO query parsing, whose answers must be ones the daemon knows.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio/http_req.h"

#define FUZZ_PAYLOAD 256 /* small, to reach the body cap */
#define FUZZ_REQS    64  /* requests per input at most */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What was read from one connection, request by request. */
struct fuzz_trace {
	char *s;
	size_t len, cap;
};

static void
fuzz_trace_add(struct fuzz_trace *t, const void *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		if ((t->s = realloc(t->s, t->cap)) == NULL)
			abort();
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
}

/* Check a complete request "r" and add what it means to "t". */
static void
fuzz_request(struct fuzz_trace *t, const struct http_req *r)
{
	char accept[WS_ACCEPT_LEN + 1], num[64];
	struct form f = {NULL, 0};
	const char *q, *sid;
	int i, st, ws = -1, code = -1, n;

	if (strlen(r->url) != r->url_len || r->url_len > HTTP_REQ_URL_MAX ||
	    r->hdr_bytes > HTTP_REQ_HEADERS_MAX ||
	    (!r->too_large && r->body_len > FUZZ_PAYLOAD))
		abort();
	n = snprintf(num, sizeof(num), "[m%d u%d b%d ", r->parser.method,
	    r->parser.upgrade, r->too_large);
	fuzz_trace_add(t, num, (size_t)n);
	fuzz_trace_add(t, r->url, r->url_len + 1);
	for (i = 0; i < HTTP_REQ_HDR__MAX; i++)
		if (r->hdr[i] != NULL)
			fuzz_trace_add(t, r->hdr[i], strlen(r->hdr[i]) + 1);
		else
			fuzz_trace_add(t, "-", 1);
	if (!r->too_large && r->body_len > 0)
		fuzz_trace_add(t, r->body, r->body_len);

	st = http_req_ws_check(r, accept);
	if (st != 0 && st != 400 && st != 426)
		abort();
	if (st == 0 &&
	    (strlen(accept) != WS_ACCEPT_LEN || !r->parser.upgrade ||
	        r->parser.method != HTTP_GET))
		abort();
	q = strchr(r->url, '?');
	if (http_req_eio_params(
	        r, q != NULL ? q + 1 : "", &f, &sid, &ws, &code) == 0) {
		if (ws != (r->parser.upgrade != 0) ||
		    (sid == NULL && r->parser.method != HTTP_GET))
			abort();
	} else if (code != 0 && code != 2 && code != 3 && code != 5)
		abort();
	form_finish(&f);
	n = snprintf(num, sizeof(num), " ws%d eio%d]", st, code);
	fuzz_trace_add(t, num, (size_t)n);
}

/*
 * Parse "data" as one connection, in chunks of 1..64 bytes chosen by the
 * input when "chunked", else whole, into the trace "t".
 */
static void
fuzz_connection(
    struct fuzz_trace *t, const uint8_t *data, size_t size, int chunked)
{
	struct http_req *r = NULL;
	size_t off = 0, end, used;
	int nreq = 0, st;
	char num[16];

	while (off < size && nreq < FUZZ_REQS) {
		end = chunked ? off + 1 + (data[off] & 63) : size;
		if (end > size)
			end = size;
		while (off < end) {
			if (r == NULL)
				r = http_req_new(FUZZ_PAYLOAD);
			st = http_req_feed(r, data + off, end - off, &used);
			if (used > end - off)
				abort();
			if (st != 0) {
				if (st != 400 && st != 431)
					abort();
				snprintf(num, sizeof(num), "E%d", st);
				fuzz_trace_add(t, num, strlen(num));
				goto out;
			}
			off += used;
			if (!r->complete) {
				if (off != end)
					abort();
				break;
			}
			fuzz_request(t, r);
			nreq++;
			if (r->parser.upgrade)
				goto out; /* the rest is WebSocket frames */
			http_req_free(r);
			r = NULL;
			if (nreq == FUZZ_REQS)
				goto out;
		}
	}
out:
	http_req_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_trace whole = {NULL, 0, 0}, parts = {NULL, 0, 0};

	fuzz_connection(&whole, data, size, 0);
	fuzz_connection(&parts, data, size, 1);
	if (whole.len != parts.len ||
	    (whole.len > 0 && memcmp(whole.s, parts.s, whole.len) != 0))
		abort();
	free(whole.s);
	free(parts.s);
	return 0;
}
