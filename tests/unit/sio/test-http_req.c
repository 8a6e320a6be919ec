/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/sio/http_req.c without a socket: complete requests whole
 * and one byte at a time, the limits (431 for header lines over the cap,
 * 400 for a long target, a bad method, a repeated header, a missing Host),
 * the body cap, pipelined bytes left over, the WebSocket handshake checks
 * (HTTP/1.0, POST, a bad key, version != 13) and the Engine.IO parameters.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "sio/http_req.h"
#include "unit.h"

#define WS_HDRS                                                                \
	"Host: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"             \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

/*
 * Feed the C string "s" to a new request "*rp" (payload cap 64) in pieces
 * of "step" bytes (0: whole) until it completes or fails. Returns what
 * http_req_feed() returned last; "*left" is the bytes not taken.
 */
static int
feed(struct http_req **rp, const char *s, size_t step, size_t *left)
{
	struct http_req *r = http_req_new(64);
	size_t len = strlen(s), off = 0, n, used;
	int st = 0;

	while (off < len) {
		n = step == 0 || step > len - off ? len - off : step;
		if ((st = http_req_feed(r, s + off, n, &used)) != 0)
			break;
		off += used;
		if (r->complete)
			break;
		ck_assert_uint_eq(used, n);
	}
	*left = len - off;
	*rp = r;
	return st;
}

/* The status of the C string "s" fed whole, the request freed. */
static int
status_of(const char *s)
{
	struct http_req *r;
	size_t left;
	int st = feed(&r, s, 0, &left);

	http_req_free(r);
	return st;
}

START_TEST(test_http_req_whole_and_bytewise)
{
	static const char req[] =
	    "POST /socket.io/?EIO=4&transport=polling "
	    "HTTP/1.1\r\nHOST: a:1\r\nOrigin: http://a:1\r\n"
	    "X-Other: y\r\nContent-Length: 5\r\n\r\n"
	    "4helloGET / HTTP/1.1\r\n";
	struct http_req *r;
	size_t step, left;

	for (step = 0; step <= 3; step++) {
		ck_assert_int_eq(feed(&r, req, step, &left), 0);
		ck_assert(r->complete);
		ck_assert_int_eq(r->parser.method, HTTP_POST);
		ck_assert_str_eq(r->url, "/socket.io/?EIO=4&transport=polling");
		ck_assert_str_eq(r->hdr[HTTP_REQ_HDR_HOST], "a:1");
		ck_assert_str_eq(r->hdr[HTTP_REQ_HDR_ORIGIN], "http://a:1");
		ck_assert_ptr_null(r->hdr[HTTP_REQ_HDR_UPGRADE]);
		ck_assert_uint_eq(r->body_len, 5);
		ck_assert_str_eq((char *)r->body, "4hell");
		ck_assert_int_eq(r->too_large, 0);
		/* The pipelined request is left for the next one. */
		ck_assert_uint_eq(left, strlen("oGET / HTTP/1.1\r\n"));
		http_req_free(r);
	}
}
END_TEST

/* X-Forwarded-For lines join into one list; Host may not repeat. */
START_TEST(test_http_req_forwarded_for)
{
	struct http_req *r;
	size_t step, left;

	for (step = 0; step <= 2; step++) {
		ck_assert_int_eq(feed(&r,
		                     "GET / HTTP/1.1\r\nHost: x\r\n"
		                     "X-Forwarded-For: 1.1.1.1\r\n"
		                     "x-forwarded-for: 2.2.2.2\r\n\r\n",
		                     step, &left),
		    0);
		ck_assert(r->complete);
		ck_assert_str_eq(
		    r->hdr[HTTP_REQ_HDR_FORWARDED_FOR], "1.1.1.1, 2.2.2.2");
		http_req_free(r);
	}
	ck_assert_int_eq(
	    status_of("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"), 400);
}
END_TEST

START_TEST(test_http_req_limits)
{
	char *big, *s;
	struct http_req *r;
	size_t left;

	/* Header lines over HTTP_REQ_HEADERS_MAX: 431, whole or bytewise. */
	big = xmalloc(HTTP_REQ_HEADERS_MAX + 1);
	memset(big, 'a', HTTP_REQ_HEADERS_MAX);
	big[HTTP_REQ_HEADERS_MAX] = '\0';
	s = xasprintf("GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", big);
	ck_assert_int_eq(status_of(s), 431);
	ck_assert_int_eq(feed(&r, s, 1, &left), 431);
	http_req_free(r);
	free(s);
	/* Many small headers under the cap are fine. */
	s = xasprintf("GET / HTTP/1.1\r\nHost: x\r\nX-A: %.8000s\r\n"
	              "X-B: %.8000s\r\n\r\n",
	    big, big);
	ck_assert_int_eq(status_of(s), 0);
	free(s);
	/* A request target over HTTP_REQ_URL_MAX. */
	big[HTTP_REQ_URL_MAX] = '\0';
	s = xasprintf("GET /%s HTTP/1.1\r\nHost: x\r\n\r\n", big);
	ck_assert_int_eq(status_of(s), 400);
	free(s);
	free(big);
	/* The body cap marks the request (a 413 later), it does not fail it. */
	ck_assert_int_eq(feed(&r,
	                     "POST / HTTP/1.1\r\nHost: x\r\n"
	                     "Content-Length: 65\r\n\r\n"
	                     "0123456789012345678901234567890123456789"
	                     "0123456789012345678901234",
	                     7, &left),
	    0);
	ck_assert(r->complete);
	ck_assert(r->too_large);
	ck_assert_uint_le(r->body_len, 64);
	http_req_free(r);
}
END_TEST

START_TEST(test_http_req_bad_requests)
{
	/* Not a method at all, and garbage. */
	ck_assert_int_eq(status_of("BREW / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("\x16\x03\x01\x02\x00\x01\x00"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost x\r\n\r\n"), 400);
	/* A header the daemon reads, twice. */
	ck_assert_int_eq(
	    status_of("GET / HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: x\r\n"
	                           "Origin: a\r\nOrigin: b\r\n\r\n"),
	    400);
	/* A header it skips may repeat. */
	ck_assert_int_eq(
	    status_of("GET / HTTP/1.1\r\nHost: x\r\nX: 1\r\nX: 2\r\n\r\n"), 0);
	/* Missing Host: refused in HTTP/1.1, allowed in HTTP/1.0. */
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nX: 1\r\n\r\n"), 400);
	ck_assert_int_eq(status_of("GET / HTTP/1.0\r\n\r\n"), 0);
	/* Transfer-Encoding and Content-Length together (smuggling). */
	ck_assert_int_eq(
	    status_of("POST / HTTP/1.1\r\nHost: x\r\n"
	              "Content-Length: 3\r\n"
	              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
	    400);
}
END_TEST

/*
 * A NUL in a header value, which http-parser lets through, is refused
 * whole and bytewise alike (fuzz-http found the value cut at the NUL when
 * read whole, and not when read in pieces).
 */
START_TEST(test_http_req_nul)
{
	static const char s[] = "GET / HTTP/1.1\r\nHost: a\r\n"
	                        "Origin: http://a\0.b\r\n\r\n";
	struct http_req *r;
	size_t i, used;
	int st = 0;

	r = http_req_new(64);
	ck_assert_int_eq(http_req_feed(r, s, sizeof(s) - 1, &used), 400);
	http_req_free(r);
	r = http_req_new(64);
	for (i = 0; i < sizeof(s) - 1 && st == 0; i++)
		st = http_req_feed(r, s + i, 1, &used);
	ck_assert_int_eq(st, 400);
	ck_assert_uint_eq(i, strlen(s) + 1);
	http_req_free(r);
}
END_TEST

/* http_req_ws_check() of the C string "s" (which must parse). */
static int
ws_status(const char *s, char *accept)
{
	struct http_req *r;
	size_t left;
	int st;

	ck_assert_int_eq(feed(&r, s, 0, &left), 0);
	ck_assert(r->complete);
	st = http_req_ws_check(r, accept);
	http_req_free(r);
	return st;
}

START_TEST(test_http_req_websocket)
{
	char accept[WS_ACCEPT_LEN + 1];

	ck_assert_int_eq(ws_status("GET /s HTTP/1.1\r\n" WS_HDRS
	                           "Sec-WebSocket-Version: 13\r\n\r\n",
	                     accept),
	    0);
	ck_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	/* Version missing or not 13: 426. */
	ck_assert_int_eq(
	    ws_status("GET /s HTTP/1.1\r\n" WS_HDRS "\r\n", accept), 426);
	ck_assert_int_eq(ws_status("GET /s HTTP/1.1\r\n" WS_HDRS
	                           "Sec-WebSocket-Version: 8\r\n\r\n",
	                     accept),
	    426);
	/* HTTP/1.0 and POST upgrades: 400. */
	ck_assert_int_eq(ws_status("GET /s HTTP/1.0\r\n" WS_HDRS
	                           "Sec-WebSocket-Version: 13\r\n\r\n",
	                     accept),
	    400);
	ck_assert_int_eq(ws_status("POST /s HTTP/1.1\r\n" WS_HDRS
	                           "Sec-WebSocket-Version: 13\r\n"
	                           "Content-Length: 0\r\n\r\n",
	                     accept),
	    400);
	/* Keys that are not 16 bytes of base64, or missing. */
	ck_assert_int_eq(
	    ws_status("GET /s HTTP/1.1\r\nHost: x\r\n"
	              "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	              "Sec-WebSocket-Key: AAAA\r\n"
	              "Sec-WebSocket-Version: 13\r\n\r\n",
	        accept),
	    400);
	ck_assert_int_eq(
	    ws_status("GET /s HTTP/1.1\r\nHost: x\r\n"
	              "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n"
	              "Sec-WebSocket-Version: 13\r\n\r\n",
	        accept),
	    400);
	ck_assert_int_eq(
	    ws_status("GET /s HTTP/1.1\r\nHost: x\r\n"
	              "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	              "Sec-WebSocket-Version: 13\r\n\r\n",
	        accept),
	    400);
	/* No Connection: Upgrade, or Upgrade naming another protocol. */
	ck_assert_int_eq(
	    ws_status("GET /s HTTP/1.1\r\nHost: x\r\n"
	              "Upgrade: websocket\r\n"
	              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	              "Sec-WebSocket-Version: 13\r\n\r\n",
	        accept),
	    400);
	ck_assert_int_eq(
	    ws_status("GET /s HTTP/1.1\r\nHost: x\r\n"
	              "Connection: Upgrade\r\nUpgrade: h2c\r\n"
	              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	              "Sec-WebSocket-Version: 13\r\n\r\n",
	        accept),
	    400);
}
END_TEST

/* http_req_eio_params() of request "s" and query "q": code or -1. */
static int
eio_code(const char *s, const char *q, const char **sidp, int *ws)
{
	static char sidbuf[64];
	struct form f = {NULL, 0};
	struct http_req *r;
	const char *sid;
	size_t left;
	int code = -1;

	ck_assert_int_eq(feed(&r, s, 0, &left), 0);
	if (http_req_eio_params(r, q, &f, &sid, ws, &code) == 0) {
		code = -1;
		snprintf(sidbuf, sizeof(sidbuf), "%s", sid ? sid : "");
		*sidp = sid != NULL ? sidbuf : NULL;
	}
	form_finish(&f);
	http_req_free(r);
	return code;
}

START_TEST(test_http_req_eio_params)
{
	static const char get[] = "GET /socket.io/ HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char post[] = "POST /socket.io/ HTTP/1.1\r\nHost: x\r\n"
	                           "Content-Length: 0\r\n\r\n";
	static const char up[] =
	    "GET /s HTTP/1.1\r\n" WS_HDRS "Sec-WebSocket-Version: 13\r\n\r\n";
	const char *sid = NULL;
	int ws = -1;

	ck_assert_int_eq(
	    eio_code(get, "EIO=4&transport=polling", &sid, &ws), -1);
	ck_assert_ptr_null(sid);
	ck_assert_int_eq(ws, 0);
	ck_assert_int_eq(
	    eio_code(up, "EIO=4&transport=websocket", &sid, &ws), -1);
	ck_assert_int_eq(ws, 1);
	ck_assert_int_eq(
	    eio_code(post, "EIO=4&transport=polling&sid=abc", &sid, &ws), -1);
	ck_assert_str_eq(sid, "abc");
	ck_assert_int_eq(eio_code(get, "EIO=4&transport=flash", &sid, &ws), 0);
	ck_assert_int_eq(eio_code(get, "EIO=4", &sid, &ws), 0);
	ck_assert_int_eq(
	    eio_code(get, "EIO=4&transport=websocket", &sid, &ws), 3);
	ck_assert_int_eq(eio_code(up, "EIO=4&transport=polling", &sid, &ws), 3);
	ck_assert_int_eq(
	    eio_code(post, "EIO=4&transport=polling", &sid, &ws), 2);
	ck_assert_int_eq(
	    eio_code(get, "EIO=3&transport=polling", &sid, &ws), 5);
	ck_assert_int_eq(eio_code(get, "transport=polling", &sid, &ws), 5);
	ck_assert_int_eq(
	    eio_code(get, "EIO=4&transport=polling&EIO=4", &sid, &ws), 3);
	ck_assert_int_eq(
	    eio_code(get, "transport=polling&t=%zz", &sid, &ws), 3);
}
END_TEST

static Suite *
http_req_suite(void)
{
	Suite *s = suite_create("http_req");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_http_req_whole_and_bytewise);
	tcase_add_test(tc, test_http_req_forwarded_for);
	tcase_add_test(tc, test_http_req_limits);
	tcase_add_test(tc, test_http_req_bad_requests);
	tcase_add_test(tc, test_http_req_nul);
	tcase_add_test(tc, test_http_req_websocket);
	tcase_add_test(tc, test_http_req_eio_params);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(http_req_suite());
}
