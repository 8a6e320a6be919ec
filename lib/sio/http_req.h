/* SPDX-License-Identifier: ISC */
/*
 * One HTTP/1.1 request of the push daemon, parsed from bytes with
 * http-parser under hard limits (request target, header bytes, body), and
 * the checks made of a complete request before it means anything: the
 * WebSocket handshake of RFC 6455 and the Engine.IO query parameters. No
 * socket here: lib/sio/http.c feeds it, tests and fuzzers too.
 */
#ifndef HTTP_REQ_H
#define HTTP_REQ_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "common/form.h"
#include "sio/ws_codec.h"

#define HTTP_REQ_URL_MAX     8192  /* request target, bytes */
#define HTTP_REQ_HEADERS_MAX 16384 /* all header lines, bytes */

/* Headers the daemon reads; every other header is skipped. */
enum http_req_hdr {
	HTTP_REQ_HDR_HOST,
	HTTP_REQ_HDR_ORIGIN,
	HTTP_REQ_HDR_UPGRADE,
	HTTP_REQ_HDR_WS_KEY,
	HTTP_REQ_HDR_WS_VERSION,
	HTTP_REQ_HDR_AUTHORIZATION,
	HTTP_REQ_HDR_FORWARDED_FOR, /* X-Forwarded-For */
	HTTP_REQ_HDR__MAX
};

/* One request, alive from its first byte until it has been answered. */
struct http_req {
	http_parser parser;
	char *url;                    /* NUL-terminated request target */
	char *hdr[HTTP_REQ_HDR__MAX]; /* NUL-terminated values, or NULL */
	uint8_t *body;                /* request body (NUL-terminated) */
	size_t url_len, body_len, hdr_bytes;
	uint64_t max_payload; /* body bytes kept; more sets too_large */
	char field[32];       /* header name being read */
	size_t field_len;
	int cur;       /* enum http_req_hdr being read, or -1, -2 */
	int complete;  /* the whole message was read */
	int too_large; /* body over max_payload */
};

/* A new request whose body may hold "max_payload" bytes. */
struct http_req *http_req_new(uint64_t max_payload);
/* Release "r" (NULL-safe). */
void http_req_free(struct http_req *r);

/*
 * Feed "len" bytes of "buf" to "r" and store in "*used" how many it took.
 * Returns 0 while the request is incomplete (every byte taken: feed more)
 * and once r->complete is set (the bytes after "*used" belong to the next
 * request or, after an upgrade, to the WebSocket). Otherwise returns the
 * status to answer before closing: 431 when the header lines exceed
 * HTTP_REQ_HEADERS_MAX, 400 for any other error, including a repeated
 * header of enum http_req_hdr (but X-Forwarded-For, a list whose lines
 * are joined with ", "), a target over HTTP_REQ_URL_MAX, a NUL in
 * the target or a header, and an HTTP/1.1 request without Host (RFC 9112
 * 3.2).
 */
int http_req_feed(
    struct http_req *r, const void *buf, size_t len, size_t *used);

/*
 * The server side of the WebSocket opening handshake (RFC 6455 4.2.1) on
 * a complete request: "Sec-WebSocket-Version: 13", else 426 (answer with
 * "Sec-WebSocket-Version: 13"); then a GET over HTTP/1.1 or later with
 * "Connection: Upgrade", "Upgrade: websocket" and a key that is 16 bytes
 * in base64, else 400. Returns 0 with the Sec-WebSocket-Accept value in
 * "accept", or the status.
 */
int http_req_ws_check(const struct http_req *r, char accept[WS_ACCEPT_LEN + 1]);

/*
 * The Engine.IO parameters of query string "q" of complete request "r",
 * parsed into "f" (release it with form_finish() either way): "transport"
 * polling or websocket (websocket exactly when "r" is an upgrade), then
 * either "sid", or for a new session a GET with EIO=4. Returns 0 with
 * "*sid" (NULL for a handshake) and "*websocket" set, or -1 with "*code"
 * the Engine.IO error to answer with 400: 0 unknown transport, 2 bad
 * handshake method, 3 bad request, 5 unsupported protocol version.
 */
int http_req_eio_params(const struct http_req *r, const char *q, struct form *f,
    const char **sid, int *websocket, int *code);

#endif
