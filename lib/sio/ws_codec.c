/* SPDX-License-Identifier: ISC */
/*
 * RFC 6455 server-side framing. The parser consumes only whole headers and
 * whole control frames, streams data payloads, and checks each rule the
 * Autobahn cases and the `ws` receiver check, with the same close codes.
 * It must stay pure: callers feed it untrusted bytes from the network and
 * the fuzz target drives it directly.
 */
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "common/utf8.h"
#include "sio/ws_codec.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void
ws_parser_init(struct ws_parser *p, uint64_t max_msg)
{
	memset(p, 0, sizeof(*p));
	p->max_msg = max_msg;
	p->utf8 = UTF8_ACCEPT;
}

int
ws_close_code_valid(unsigned int code)
{
	if (code >= 1000 && code <= 1014)
		return code != 1004 && code != 1005 && code != 1006;
	return code >= 3000 && code <= 4999;
}

/* XOR "n" bytes at "b" with the frame mask, continuing at p->mask_off. */
static void
ws_parser_unmask(struct ws_parser *p, uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] ^= p->mask[(p->mask_off + i) & 3];
	p->mask_off = (p->mask_off + n) & 3;
}

/*
 * Deliver "n" payload bytes of the current data frame (n may be 0 for an
 * empty frame). Returns 0, a close code, or -1 when the callback stopped.
 */
static int
ws_parser_payload(struct ws_parser *p, uint8_t *b, size_t n,
    const struct ws_parser_cb *cb, void *arg)
{
	int first, last, op = p->msg_op;

	ws_parser_unmask(p, b, n);
	p->remain -= n;
	last = p->remain == 0 && p->fin;
	if (op == WS_OP_TEXT) {
		p->utf8 = utf8_feed(p->utf8, b, n);
		if (p->utf8 == UTF8_REJECT || (last && p->utf8 != UTF8_ACCEPT))
			return WS_CLOSE_DATA;
	}
	first = p->fresh;
	p->fresh = 0;
	if (p->remain == 0) {
		p->in_frame = 0;
		if (p->fin) {
			p->msg_op = 0;
			p->utf8 = UTF8_ACCEPT;
		}
	}
	return cb->data(arg, op, b, n, first, last) ? -1 : 0;
}

/* Validate a close frame's payload: returns 0 or a close code. */
static int
ws_parser_close_check(const uint8_t *b, size_t n)
{
	if (n == 0)
		return 0;
	if (n == 1 || !ws_close_code_valid((unsigned int)b[0] << 8 | b[1]))
		return WS_CLOSE_PROTOCOL;
	if (utf8_feed(UTF8_ACCEPT, b + 2, n - 2) != UTF8_ACCEPT)
		return WS_CLOSE_DATA;
	return 0;
}

/*
 * Handle one frame header of "hl" bytes at "b", whose payload (for a
 * control frame: entirely present at b + hl) is "plen" bytes. Returns 0, a
 * close code, or -1 when a callback stopped.
 */
static int
ws_parser_frame(struct ws_parser *p, uint8_t *b, size_t hl, uint64_t plen,
    const struct ws_parser_cb *cb, void *arg)
{
	int op = b[0] & 0x0f, fin = b[0] >> 7, rc;

	if (cb->frame != NULL && cb->frame(arg, op) != 0)
		return -1;
	memcpy(p->mask, b + hl - 4, 4);
	p->mask_off = 0;
	if (op >= WS_OP_CLOSE) {
		ws_parser_unmask(p, b + hl, (size_t)plen);
		if (op == WS_OP_CLOSE) {
			if ((rc = ws_parser_close_check(b + hl, plen)) != 0)
				return rc;
			p->closed = 1;
		}
		return cb->control(arg, op, b + hl, (size_t)plen) ? -1 : 0;
	}
	if (op == WS_OP_CONT) {
		if (p->msg_op == 0)
			return WS_CLOSE_PROTOCOL;
	} else {
		if (p->msg_op != 0)
			return WS_CLOSE_PROTOCOL;
		p->msg_op = (uint8_t)op;
		p->msg_len = 0;
		p->utf8 = UTF8_ACCEPT;
		p->fresh = 1;
	}
	if (plen > p->max_msg - p->msg_len)
		return WS_CLOSE_TOO_BIG;
	p->msg_len += plen;
	p->remain = plen;
	p->fin = (uint8_t)fin;
	p->in_frame = 1;
	if (plen == 0)
		return ws_parser_payload(p, b + hl, 0, cb, arg);
	return 0;
}

int
ws_parser_run(struct ws_parser *p, uint8_t *buf, size_t len, size_t *used,
    const struct ws_parser_cb *cb, void *arg)
{
	size_t off = 0, avail, hl, n;
	uint64_t plen;
	int op, rc = 0, i;

	while (off < len && rc == 0) {
		if (p->closed) {
			off = len;
			break;
		}
		avail = len - off;
		if (p->in_frame) {
			n = p->remain < avail ? (size_t)p->remain : avail;
			rc = ws_parser_payload(p, buf + off, n, cb, arg);
			off += n;
			continue;
		}
		if (avail < 2)
			break;
		op = buf[off] & 0x0f;
		if (buf[off] & 0x70)
			return WS_CLOSE_PROTOCOL; /* RSV without extension */
		if (!(buf[off + 1] & 0x80))
			return WS_CLOSE_PROTOCOL; /* client must mask */
		if ((op > WS_OP_BINARY && op < WS_OP_CLOSE) || op > WS_OP_PONG)
			return WS_CLOSE_PROTOCOL;
		plen = buf[off + 1] & 0x7f;
		hl = plen == 126 ? 8 : plen == 127 ? 14 : 6;
		if (op >= WS_OP_CLOSE &&
		    (!(buf[off] & 0x80) || plen > WS_CONTROL_MAX))
			return WS_CLOSE_PROTOCOL;
		if (avail < hl)
			break;
		if (plen == 126)
			plen = (uint64_t)buf[off + 2] << 8 | buf[off + 3];
		else if (plen == 127) {
			if (buf[off + 2] & 0x80)
				return WS_CLOSE_PROTOCOL;
			for (plen = 0, i = 0; i < 8; i++)
				plen = plen << 8 | buf[off + 2 + i];
		}
		if (op >= WS_OP_CLOSE && avail < hl + plen)
			break;
		rc = ws_parser_frame(p, buf + off, hl, plen, cb, arg);
		off += hl + (op >= WS_OP_CLOSE ? (size_t)plen : 0);
	}
	*used = off;
	return rc;
}

size_t
ws_frame_header_len(uint64_t len)
{
	return len < 126 ? 2 : len <= 0xffff ? 4 : 10;
}

size_t
ws_frame_header(uint8_t *hdr, int op, uint64_t len)
{
	size_t hl = ws_frame_header_len(len), i;

	hdr[0] = (uint8_t)(0x80 | op);
	if (hl == 2)
		hdr[1] = (uint8_t)len;
	else if (hl == 4) {
		hdr[1] = 126;
		hdr[2] = (uint8_t)(len >> 8);
		hdr[3] = (uint8_t)len;
	} else {
		hdr[1] = 127;
		for (i = 0; i < 8; i++)
			hdr[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	}
	return hl;
}

int
ws_accept_key(const char *key, size_t len, char out[WS_ACCEPT_LEN + 1])
{
	char in[WS_KEY_LEN + sizeof(WS_GUID) - 1];
	uint8_t raw[16], digest[20];
	size_t rawlen;

	if (len != WS_KEY_LEN ||
	    sodium_base642bin(raw, sizeof(raw), key, len, NULL, &rawlen, NULL,
	        sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    rawlen != sizeof(raw))
		return -1;
	memcpy(in, key, WS_KEY_LEN);
	memcpy(in + WS_KEY_LEN, WS_GUID, sizeof(WS_GUID) - 1);
	/* libcrypto is linked already, through libjwt. */
	if (EVP_Digest(in, sizeof(in), digest, NULL, EVP_sha1(), NULL) != 1)
		return -1;
	sodium_bin2base64(out, WS_ACCEPT_LEN + 1, digest, sizeof(digest),
	    sodium_base64_VARIANT_ORIGINAL);
	return 0;
}
