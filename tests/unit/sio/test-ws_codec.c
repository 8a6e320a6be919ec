/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/sio/ws_codec.c: the frame cases of docs/testing.md 4.3 with
 * the close codes `ws` uses (1002 protocol, 1007 UTF-8, 1009 size), fail-fast
 * UTF-8 inside fragments, pings between fragments, the per-frame callback
 * (once per frame, able to stop the parser), input cut at every byte, server
 * frame headers, and the RFC 6455 Sec-WebSocket-Accept example.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sio/ws_codec.h"
#include "unit.h"

/* What the parser reported. */
struct rec {
	uint8_t data[4096];
	size_t len;
	int msgs, firsts, ctl[16], last_ctl_len;
	int last_op;
	int frames;  /* frame callbacks */
	int stop_at; /* frame callback number that returns -1, or 0 */
};

static int
rec_data(void *arg, int op, uint8_t *p, size_t len, int first, int last)
{
	struct rec *r = arg;

	ck_assert_uint_le(r->len + len, sizeof(r->data));
	memcpy(r->data + r->len, p, len);
	r->len += len;
	r->firsts += first;
	r->msgs += last;
	r->last_op = op;
	return 0;
}

static int
rec_control(void *arg, int op, uint8_t *p, size_t len)
{
	struct rec *r = arg;

	(void)p;
	r->ctl[op]++;
	r->last_ctl_len = (int)len;
	return 0;
}

static int
rec_frame(void *arg, int op)
{
	struct rec *r = arg;

	(void)op;
	return ++r->frames == r->stop_at ? -1 : 0;
}

static const struct ws_parser_cb cb = {rec_data, rec_control, rec_frame};

/* Append a masked client frame with first byte "b0" to "buf" at "*n". */
static void
frame(uint8_t *buf, size_t *n, int b0, const void *payload, size_t len)
{
	static const uint8_t mask[4] = {0x11, 0x22, 0x33, 0x44};
	uint8_t *p = buf + *n;
	size_t i, hl;

	p[0] = (uint8_t)b0;
	if (len < 126) {
		p[1] = 0x80 | (uint8_t)len;
		hl = 2;
	} else if (len <= 0xffff) {
		p[1] = 0x80 | 126;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		hl = 4;
	} else {
		p[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			p[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	memcpy(p + hl, mask, 4);
	for (i = 0; i < len; i++)
		p[hl + 4 + i] = ((const uint8_t *)payload)[i] ^ mask[i & 3];
	*n += hl + 4 + len;
}

/* Run a fresh parser (limit "max") over "buf"; return its result. */
static int
run(uint8_t *buf, size_t n, uint64_t max, struct rec *r, size_t *used)
{
	struct ws_parser p;
	size_t u;

	memset(r, 0, sizeof(*r));
	ws_parser_init(&p, max);
	return ws_parser_run(&p, buf, n, used != NULL ? used : &u, &cb, r);
}

START_TEST(test_text_message)
{
	uint8_t buf[64];
	size_t n = 0, used;
	struct rec r;

	frame(buf, &n, 0x81, "hello", 5);
	ck_assert_int_eq(run(buf, n, 100, &r, &used), 0);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(r.msgs, 1);
	ck_assert_int_eq(r.firsts, 1);
	ck_assert_int_eq(r.last_op, WS_OP_TEXT);
	ck_assert_uint_eq(r.len, 5);
	ck_assert(memcmp(r.data, "hello", 5) == 0);
}
END_TEST

START_TEST(test_framing_errors)
{
	uint8_t buf[512], big[126];
	size_t n;
	struct rec r;
	int op;

	n = 0;
	frame(buf, &n, 0x81, "x", 1);
	buf[1] &= 0x7f; /* unmasked */
	ck_assert_int_eq(run(buf, n, 100, &r, NULL), WS_CLOSE_PROTOCOL);
	for (op = 0x10; op <= 0x40; op <<= 1) { /* RSV1, RSV2, RSV3 */
		n = 0;
		frame(buf, &n, 0x81 | op, "x", 1);
		ck_assert_int_eq(run(buf, n, 100, &r, NULL), WS_CLOSE_PROTOCOL);
	}
	for (op = 3; op <= 0xf; op++) {
		if (op >= 8 && op <= 0xa)
			continue;
		n = 0;
		frame(buf, &n, 0x80 | op, "x", 1);
		ck_assert_int_eq(run(buf, n, 100, &r, NULL), WS_CLOSE_PROTOCOL);
		ck_assert_int_eq(r.msgs, 0);
	}
	memset(big, 'a', sizeof(big));
	n = 0;
	frame(buf, &n, 0x89, big, sizeof(big)); /* ping of 126 bytes */
	ck_assert_int_eq(run(buf, n, 1000, &r, NULL), WS_CLOSE_PROTOCOL);
	n = 0;
	frame(buf, &n, 0x09, "p", 1); /* fragmented ping */
	ck_assert_int_eq(run(buf, n, 100, &r, NULL), WS_CLOSE_PROTOCOL);
	n = 0;
	frame(buf, &n, 0x80, "x", 1); /* continuation without a start */
	ck_assert_int_eq(run(buf, n, 100, &r, NULL), WS_CLOSE_PROTOCOL);
	n = 0;
	frame(buf, &n, 0x01, "a", 1);
	frame(buf, &n, 0x81, "b", 1); /* new text inside a message */
	ck_assert_int_eq(run(buf, n, 100, &r, NULL), WS_CLOSE_PROTOCOL);
}
END_TEST

START_TEST(test_fragments_and_ping)
{
	uint8_t buf[128];
	size_t n = 0, used;
	struct ws_parser p;
	struct rec r;

	frame(buf, &n, 0x01, "he", 2);
	frame(buf, &n, 0x89, "pp", 2); /* ping between fragments */
	frame(buf, &n, 0x00, "l", 1);
	frame(buf, &n, 0x80, "lo", 2);
	frame(buf, &n, 0x82, "", 0); /* empty binary message */
	ck_assert_int_eq(run(buf, n, 100, &r, &used), 0);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(r.ctl[WS_OP_PING], 1);
	ck_assert_int_eq(r.last_ctl_len, 2);
	ck_assert_int_eq(r.msgs, 2);
	ck_assert_int_eq(r.firsts, 2);
	ck_assert_int_eq(r.last_op, WS_OP_BINARY);
	ck_assert_uint_eq(r.len, 5);
	ck_assert(memcmp(r.data, "hello", 5) == 0);
	ck_assert_int_eq(r.frames, 5);
	/* The frame callback stops the parser before the third frame. */
	memset(&r, 0, sizeof(r));
	r.stop_at = 3;
	ws_parser_init(&p, 100);
	ck_assert_int_eq(ws_parser_run(&p, buf, n, &used, &cb, &r), -1);
	ck_assert_int_eq(r.frames, 3);
	ck_assert_uint_eq(r.len, 2);
	ck_assert_int_eq(r.ctl[WS_OP_PING], 1);
}
END_TEST

START_TEST(test_utf8)
{
	uint8_t buf[128];
	size_t n;
	struct rec r;

	/* Fail fast: the bad byte is in a first, unfinished fragment. */
	n = 0;
	frame(buf, &n, 0x01, "ok\xc0\xaf", 4);
	ck_assert_int_eq(run(buf, n, 100, &r, NULL), WS_CLOSE_DATA);
	/* A sequence cut by the end of the message. */
	n = 0;
	frame(buf, &n, 0x81, "\xe2\x82", 2);
	ck_assert_int_eq(run(buf, n, 100, &r, NULL), WS_CLOSE_DATA);
	/* The same sequence split over two fragments is fine. */
	n = 0;
	frame(buf, &n, 0x01, "\xe2\x82", 2);
	frame(buf, &n, 0x80, "\xac", 1);
	ck_assert_int_eq(run(buf, n, 100, &r, NULL), 0);
	ck_assert_int_eq(r.msgs, 1);
	/* Binary is not UTF-8 checked. */
	n = 0;
	frame(buf, &n, 0x82, "\xff\xfe", 2);
	ck_assert_int_eq(run(buf, n, 100, &r, NULL), 0);
	ck_assert_int_eq(r.msgs, 1);
}
END_TEST

START_TEST(test_close)
{
	static const unsigned bad[] = {
	    0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
	static const unsigned good[] = {
	    1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999};
	uint8_t buf[64], pl[8];
	size_t n, i, used;
	struct rec r;

	n = 0;
	frame(buf, &n, 0x88, "\x03", 1);
	ck_assert_int_eq(run(buf, n, 100, &r, NULL), WS_CLOSE_PROTOCOL);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		pl[0] = (uint8_t)(bad[i] >> 8), pl[1] = (uint8_t)bad[i];
		n = 0;
		frame(buf, &n, 0x88, pl, 2);
		ck_assert_int_eq(run(buf, n, 100, &r, NULL), WS_CLOSE_PROTOCOL);
	}
	for (i = 0; i < sizeof(good) / sizeof(*good); i++) {
		pl[0] = (uint8_t)(good[i] >> 8), pl[1] = (uint8_t)good[i];
		n = 0;
		frame(buf, &n, 0x88, pl, 2);
		ck_assert_int_eq(run(buf, n, 100, &r, NULL), 0);
		ck_assert_int_eq(r.ctl[WS_OP_CLOSE], 1);
	}
	n = 0;
	frame(buf, &n, 0x88, "\x03\xe8\xff", 3); /* reason not UTF-8 */
	ck_assert_int_eq(run(buf, n, 100, &r, NULL), WS_CLOSE_DATA);
	/* Data after a close is ignored, and consumed. */
	n = 0;
	frame(buf, &n, 0x88, "", 0);
	frame(buf, &n, 0x81, "late", 4);
	frame(buf, &n, 0x70, "bad", 3);
	ck_assert_int_eq(run(buf, n, 100, &r, &used), 0);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(r.ctl[WS_OP_CLOSE], 1);
	ck_assert_int_eq(r.msgs, 0);
}
END_TEST

START_TEST(test_lengths)
{
	uint8_t buf[64];
	size_t n;
	struct rec r;

	/* 64-bit length with the most significant bit set. */
	n = 0;
	frame(buf, &n, 0x82, "", 0);
	buf[1] = 0x80 | 127;
	memset(buf + 2, 0, 8);
	buf[2] = 0x80;
	memset(buf + 10, 0, 4);
	ck_assert_int_eq(run(buf, 14, 100, &r, NULL), WS_CLOSE_PROTOCOL);
	/* Over the limit, in one frame and over fragments. */
	n = 0;
	frame(buf, &n, 0x82, "0123456789a", 11);
	ck_assert_int_eq(run(buf, n, 10, &r, NULL), WS_CLOSE_TOO_BIG);
	ck_assert_int_eq(r.msgs, 0);
	n = 0;
	frame(buf, &n, 0x02, "012345", 6);
	frame(buf, &n, 0x80, "6789a", 5);
	ck_assert_int_eq(run(buf, n, 10, &r, NULL), WS_CLOSE_TOO_BIG);
	ck_assert_int_eq(r.msgs, 0);
	n = 0;
	frame(buf, &n, 0x82, "0123456789", 10); /* exactly the limit */
	ck_assert_int_eq(run(buf, n, 10, &r, NULL), 0);
	ck_assert_int_eq(r.msgs, 1);
}
END_TEST

/*
 * Feed a stream one byte at a time, keeping what the parser leaves as a
 * caller does: the result must equal the one-shot parse.
 */
START_TEST(test_bytewise)
{
	uint8_t buf[600], big[300], acc[600];
	size_t n = 0, i, have = 0, used;
	struct ws_parser p;
	struct rec r;

	memset(big, 'z', sizeof(big));
	frame(buf, &n, 0x01, "ab", 2);
	frame(buf, &n, 0x89, "ping!", 5);
	frame(buf, &n, 0x80, big, sizeof(big));
	frame(buf, &n, 0x88, "\x03\xe8", 2);
	memset(&r, 0, sizeof(r));
	ws_parser_init(&p, 1000);
	for (i = 0; i < n; i++) {
		acc[have++] = buf[i];
		ck_assert_int_eq(
		    ws_parser_run(&p, acc, have, &used, &cb, &r), 0);
		memmove(acc, acc + used, have - used);
		have -= used;
		ck_assert_uint_le(have, WS_CLIENT_HDR_MAX + WS_CONTROL_MAX);
	}
	ck_assert_uint_eq(have, 0);
	ck_assert_int_eq(r.msgs, 1);
	ck_assert_int_eq(r.firsts, 1);
	ck_assert_uint_eq(r.len, 2 + sizeof(big));
	ck_assert_int_eq(r.ctl[WS_OP_PING], 1);
	ck_assert_int_eq(r.ctl[WS_OP_CLOSE], 1);
	ck_assert_int_eq(r.frames, 4); /* once each, however cut */
}
END_TEST

START_TEST(test_header)
{
	uint8_t h[WS_HDR_MAX];

	ck_assert_uint_eq(ws_frame_header(h, WS_OP_TEXT, 0), 2);
	ck_assert_uint_eq(h[0], 0x81);
	ck_assert_uint_eq(h[1], 0);
	ck_assert_uint_eq(ws_frame_header(h, WS_OP_BINARY, 125), 2);
	ck_assert_uint_eq(h[1], 125);
	ck_assert_uint_eq(ws_frame_header(h, WS_OP_TEXT, 126), 4);
	ck_assert_uint_eq(h[1], 126);
	ck_assert_uint_eq(h[2] << 8 | h[3], 126);
	ck_assert_uint_eq(ws_frame_header(h, WS_OP_TEXT, 65535), 4);
	ck_assert_uint_eq(ws_frame_header(h, WS_OP_CLOSE, 65536), 10);
	ck_assert_uint_eq(h[0], 0x88);
	ck_assert_uint_eq(h[1], 127);
	ck_assert_uint_eq(h[7], 1);
	ck_assert_uint_eq(h[8], 0);
	ck_assert_uint_eq(ws_frame_header_len(70000), 10);
}
END_TEST

START_TEST(test_accept_key)
{
	char out[WS_ACCEPT_LEN + 1];
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==";

	/* RFC 6455 section 1.3 example. */
	ck_assert_int_eq(ws_accept_key(key, strlen(key), out), 0);
	ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ck_assert_int_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", 23, out), -1);
	ck_assert_int_eq(
	    ws_accept_key("dGhlIHNhbXBsZSBub25j!Q==", 24, out), -1);
	/* 24 characters but 17 bytes' worth: not a 16-byte key. */
	ck_assert_int_eq(
	    ws_accept_key("dGhlIHNhbXBsZSBub25jZQQ=", 24, out), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ws_codec");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_text_message);
	tcase_add_test(tc, test_framing_errors);
	tcase_add_test(tc, test_fragments_and_ping);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_close);
	tcase_add_test(tc, test_lengths);
	tcase_add_test(tc, test_bytewise);
	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_accept_key);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
