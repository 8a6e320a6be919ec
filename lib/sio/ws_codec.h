/* SPDX-License-Identifier: ISC */
/*
 * RFC 6455 framing for a server, as pure functions over caller buffers:
 * an incremental parser that validates every client frame (masking, RSV
 * bits, opcodes, control frame rules, fragmentation, UTF-8 of text and of
 * close reasons, close codes, size limit) and reports the close code a
 * violation calls for, the header of an unmasked server frame, and the
 * Sec-WebSocket-Accept computation. No I/O; no allocation.
 */
#ifndef WS_CODEC_H
#define WS_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum ws_op {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa
};

#define WS_CLOSE_NORMAL   1000
#define WS_CLOSE_AWAY     1001
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_DATA     1007 /* invalid UTF-8 in text or close reason */
#define WS_CLOSE_POLICY   1008
#define WS_CLOSE_TOO_BIG  1009

#define WS_HDR_MAX        10 /* header of an unmasked server frame */
#define WS_CONTROL_MAX    125
#define WS_CLIENT_HDR_MAX 14 /* header of a masked client frame */
#define WS_ACCEPT_LEN     28 /* base64 of a SHA-1 digest */
#define WS_KEY_LEN        24 /* base64 of 16 bytes */

/*
 * Parser state: about 40 bytes, embedded in each connection. It keeps no
 * bytes: a header or control frame cut by the end of the input is left
 * unconsumed for the caller to present again with the following bytes.
 */
struct ws_parser {
	uint64_t max_msg; /* largest data message accepted */
	uint64_t msg_len; /* bytes of the open data message so far */
	uint64_t remain;  /* payload bytes left in the current data frame */
	uint32_t utf8;    /* validator state of an open text message */
	uint8_t mask[4];
	uint8_t mask_off; /* position in "mask" of the next payload byte */
	uint8_t msg_op;   /* WS_OP_TEXT/BINARY while a message is open */
	uint8_t in_frame; /* inside a data frame's payload */
	uint8_t fin;      /* FIN of the current data frame */
	uint8_t fresh;    /* nothing of the open message delivered yet */
	uint8_t closed;   /* close frame seen: later bytes are ignored */
};

struct ws_parser_cb {
	/*
	 * Unmasked bytes of a data message of type "op" (TEXT or BINARY),
	 * valid so far; "first" and "last" mark its ends (a message may come
	 * in many pieces, empty ones included). Return 0, or -1 to stop.
	 */
	int (*data)(
	    void *arg, int op, uint8_t *p, size_t len, int first, int last);
	/*
	 * A whole control frame: PING, PONG, or a CLOSE whose code and
	 * reason are valid (len 0, or >= 2). Return 0, or -1 to stop.
	 */
	int (*control)(void *arg, int op, uint8_t *p, size_t len);
	/*
	 * Optional (NULL: none): a frame of opcode "op" begins, before its
	 * payload is delivered; once per frame, whatever its size. Return
	 * 0, or -1 to stop.
	 */
	int (*frame)(void *arg, int op);
};

/* Prepare "p" for a new connection accepting messages up to "max_msg". */
void ws_parser_init(struct ws_parser *p, uint64_t max_msg);

/*
 * Parse "len" bytes at "buf" (unmasked in place) and call "cb". Returns 0
 * with "*used" set to the bytes consumed (the rest is an incomplete header
 * or control frame), a close code (WS_CLOSE_PROTOCOL, _DATA, _TOO_BIG) when
 * the client broke the protocol, or -1 when a callback stopped it.
 */
int ws_parser_run(struct ws_parser *p, uint8_t *buf, size_t len, size_t *used,
    const struct ws_parser_cb *cb, void *arg);

/* 1 when "code" may appear in a close frame on the wire (RFC 6455 7.4). */
int ws_close_code_valid(unsigned int code);

/* Bytes of the header of a server frame carrying "len" bytes. */
size_t ws_frame_header_len(uint64_t len);

/*
 * Write the header of a final, unmasked frame of opcode "op" carrying
 * "len" bytes into "hdr" (WS_HDR_MAX bytes). Returns its length.
 */
size_t ws_frame_header(uint8_t *hdr, int op, uint64_t len);

/*
 * Check a Sec-WebSocket-Key ("len" bytes: base64 of 16 bytes) and write
 * its Sec-WebSocket-Accept value, NUL-terminated, into "out". Returns 0, or
 * -1 when the key is malformed.
 */
int ws_accept_key(const char *key, size_t len, char out[WS_ACCEPT_LEN + 1]);

#endif
