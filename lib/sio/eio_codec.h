/* SPDX-License-Identifier: ISC */
/*
 * The Engine.IO v4 packet format: a type digit then data for text, raw
 * bytes for binary over WebSocket, and for HTTP long-polling payloads of
 * packets joined by \x1e with binary packets as "b" + base64. Pure: the
 * decoders validate client bytes and allocate nothing that outlives them.
 */
#ifndef EIO_CODEC_H
#define EIO_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum eio_type {
	EIO_OPEN = 0,
	EIO_CLOSE,
	EIO_PING,
	EIO_PONG,
	EIO_MESSAGE,
	EIO_UPGRADE,
	EIO_NOOP,
	EIO__MAX
};

#define EIO_SEP '\x1e' /* record separator between polling packets */

/*
 * The type of the text packet "s" of "len" bytes, or -1 when it is empty
 * or its first byte is not a packet type.
 */
int eio_packet_type(const uint8_t *s, size_t len);

/*
 * Split the polling payload "buf" of "len" bytes and call "cb" for each
 * packet with its type, whether it is binary, and its data (after the type
 * digit; for "b" packets the decoded bytes, valid during the call only).
 * Returns 0, or -1 when a packet is empty, of an unknown type or bad
 * base64, or when "cb" returned nonzero; packets before it were delivered.
 */
int eio_payload_decode(const uint8_t *buf, size_t len,
    int (*cb)(void *arg, int type, int binary, const uint8_t *data, size_t len),
    void *arg);

/* Bytes of the base64 form of "n" bytes, padding included, without NUL. */
size_t eio_b64_len(size_t n);

/* Write the base64 form of "n" bytes at "src" to "dst" (no NUL). */
void eio_b64_encode(char *dst, const uint8_t *src, size_t n);

#endif
