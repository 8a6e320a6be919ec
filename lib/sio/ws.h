/* SPDX-License-Identifier: ISC */
/*
 * WebSocket (RFC 6455) on a struct http_conn: the upgrade response, input
 * through lib/sio/ws_codec's validating parser, whole messages handed to the
 * http callbacks, and frames built once into shared buffers.
 */
#ifndef WS_H
#define WS_H

#include <stddef.h>
#include <stdint.h>

struct http_conn;
struct http_req;
struct http_buf;

/*
 * Answer the upgrade request "req" on "c" with 101 and switch "c" to
 * WebSocket framing with messages up to "max_msg" bytes. Returns 0, or -1
 * after answering 400 (bad key, not GET) or 426 (version not 13).
 */
int ws_conn_accept(
    struct http_conn *c, const struct http_req *req, uint64_t max_msg);

/* Parse "len" input bytes of the upgraded "c" (modified in place). */
void ws_conn_input(struct http_conn *c, uint8_t *buf, size_t len);

/*
 * A new frame (one reference) of opcode "op" whose payload is the "plen"
 * bytes at "prefix" followed by the "len" bytes at "data" (either may be
 * NULL with length 0). Its "hdr" field gives the header length.
 */
struct http_buf *ws_frame_new(
    int op, const void *prefix, size_t plen, const void *data, size_t len);

/* Send close "code" on "c" and close it once the frame is written. */
void ws_conn_close(struct http_conn *c, int code);

#endif
