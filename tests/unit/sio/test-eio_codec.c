/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/sio/eio_codec.c: polling payloads split at \x1e with text
 * and "b"+base64 packets, the malformed payloads of docs/testing.md 4.3 (empty
 * records, unknown types, bad base64) and base64 output.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sio/eio_codec.h"
#include "unit.h"

struct got {
	int n, types[8], binary[8];
	char data[8][32];
	size_t len[8];
};

static int
got_packet(void *arg, int type, int binary, const uint8_t *data, size_t len)
{
	struct got *g = arg;

	ck_assert_int_lt(g->n, 8);
	ck_assert_uint_lt(len, 32);
	g->types[g->n] = type;
	g->binary[g->n] = binary;
	memcpy(g->data[g->n], data, len);
	g->len[g->n++] = len;
	return 0;
}

#define DECODE(lit, g)                                                         \
	(memset(g, 0, sizeof(*g)),                                             \
	    eio_payload_decode(                                                \
	        (const uint8_t *)(lit), sizeof(lit) - 1, got_packet, g))

START_TEST(test_payload)
{
	struct got g;

	ck_assert_int_eq(DECODE("4hello\x1e"
	                        "bAQIDBA==\x1e"
	                        "3\x1e"
	                        "1",
	                     &g),
	    0);
	ck_assert_int_eq(g.n, 4);
	ck_assert_int_eq(g.types[0], EIO_MESSAGE);
	ck_assert_int_eq(g.binary[0], 0);
	ck_assert_uint_eq(g.len[0], 5);
	ck_assert(memcmp(g.data[0], "hello", 5) == 0);
	ck_assert_int_eq(g.types[1], EIO_MESSAGE);
	ck_assert_int_eq(g.binary[1], 1);
	ck_assert_uint_eq(g.len[1], 4);
	ck_assert(memcmp(g.data[1], "\x01\x02\x03\x04", 4) == 0);
	ck_assert_int_eq(g.types[2], EIO_PONG);
	ck_assert_int_eq(g.types[3], EIO_CLOSE);
}
END_TEST

START_TEST(test_payload_errors)
{
	struct got g;

	ck_assert_int_eq(DECODE("abc", &g), -1);
	ck_assert_int_eq(DECODE("", &g), -1);
	/* An empty polling POST body comes as NULL, 0 (UBSan: memchr). */
	ck_assert_int_eq(eio_payload_decode(NULL, 0, got_packet, &g), -1);
	ck_assert_int_eq(DECODE("4a\x1e\x1e"
	                        "4b",
	                     &g),
	    -1);
	ck_assert_int_eq(g.n, 1); /* the packet before the empty one */
	ck_assert_int_eq(DECODE("4a\x1e", &g), -1);
	ck_assert_int_eq(DECODE("7", &g), -1);
	ck_assert_int_eq(DECODE("b!!!!", &g), -1);
	ck_assert_int_eq(DECODE("bAQID", &g), 0);
	ck_assert_uint_eq(g.len[0], 3);
	ck_assert_int_eq(DECODE("bAQ", &g), -1);
	/* Found by fuzz-eio: libsodium alone accepts the stray byte. */
	ck_assert_int_eq(DECODE("bAQID\xb7"
	                        "A==",
	                     &g),
	    -1);
	ck_assert_int_eq(DECODE("bA=QD", &g), -1);
	ck_assert_int_eq(eio_packet_type((const uint8_t *)"6", 1), EIO_NOOP);
	ck_assert_int_eq(eio_packet_type((const uint8_t *)"", 0), -1);
}
END_TEST

START_TEST(test_b64)
{
	char out[16];

	ck_assert_uint_eq(eio_b64_len(0), 0);
	ck_assert_uint_eq(eio_b64_len(4), 8);
	eio_b64_encode(out, (const uint8_t *)"\x01\x02\x03\x04", 4);
	ck_assert(memcmp(out, "AQIDBA==", 8) == 0);
	eio_b64_encode(out, (const uint8_t *)"\xff\xfe\xfd\xfc\xfb", 5);
	ck_assert(memcmp(out, "//79/Ps=", 8) == 0);
	eio_b64_encode(out, (const uint8_t *)"abc", 3);
	ck_assert(memcmp(out, "YWJj", 4) == 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("eio_codec");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_payload);
	tcase_add_test(tc, test_payload_errors);
	tcase_add_test(tc, test_b64);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
