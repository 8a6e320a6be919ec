/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/sio/sio_codec.c: the packets of the socket.io-protocol
 * suite, and the hostile shapes of docs/testing.md 4.3 (placeholder "num" not
 * an integer or out of range, attachment count 4294967296, reserved or
 * non-string event names, huge ack ids), plus encoding.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sio/sio_codec.h"
#include "unit.h"

#define DECODE(p, lit) sio_packet_decode(p, lit, strlen(lit))

START_TEST(test_decode)
{
	struct sio_packet p;

	ck_assert_int_eq(DECODE(&p, "0"), 0);
	ck_assert_int_eq(p.type, SIO_CONNECT);
	ck_assert_str_eq(p.nsp, "/");
	ck_assert_ptr_null(p.data);
	ck_assert_int_eq(DECODE(&p, "0/custom,"), 0);
	ck_assert_str_eq(p.nsp, "/custom");
	ck_assert_int_eq(DECODE(&p, "1/custom"), 0);
	ck_assert_int_eq(p.type, SIO_DISCONNECT);
	ck_assert_str_eq(p.nsp, "/custom");
	ck_assert_int_eq(DECODE(&p, "0/custom,{\"token\":\"abc\"}"), 0);
	ck_assert_str_eq(
	    json_string_value(json_object_get(p.data, "token")), "abc");
	sio_packet_finish(&p);
	ck_assert_int_eq(DECODE(&p, "2456[\"message-with-ack\",1]"), 0);
	ck_assert_int_eq(p.type, SIO_EVENT);
	ck_assert_int_eq(p.ack, 456);
	ck_assert_uint_eq(json_array_size(p.data), 2);
	sio_packet_finish(&p);
	ck_assert_int_eq(DECODE(&p,
	                     "52-789[\"m\",{\"_placeholder\":true,"
	                     "\"num\":0},{\"_placeholder\":true,"
	                     "\"num\":1}]"),
	    0);
	ck_assert_int_eq(p.type, SIO_BINARY_EVENT);
	ck_assert_int_eq(p.attachments, 2);
	ck_assert_int_eq(p.ack, 789);
	sio_packet_finish(&p);
	ck_assert_int_eq(DECODE(&p, "3/x,5[]"), 0);
	ck_assert_int_eq(p.ack, 5);
	sio_packet_finish(&p);
}
END_TEST

START_TEST(test_reject)
{
	static const char *const bad[] = {
	    "",
	    "abc",
	    "7",
	    "2{}",
	    "2abc[\"message-with-ack\",1]",
	    "2",
	    "2[]",
	    "2[1]",
	    "2[\"connect\"]",
	    "2[\"disconnect\",1]",
	    "0\"str\"",
	    "0[1]",
	    "1{}",
	    "3{}",
	    "2[\"e\"",
	    "2[\"e\"]x",
	    "2[\"e\",{\"a\":1,\"a\":2}]",
	    "29007199254740992[\"e\"]",
	    "51-[\"e\",{\"_placeholder\":true,\"num\":\"splice\"}]",
	    "51-[\"e\",{\"_placeholder\":true,\"num\":1}]",
	    "51-[\"e\",{\"_placeholder\":true,\"num\":-1}]",
	    "51-[\"e\",{\"_placeholder\":true,\"num\":0.5}]",
	    "51-[\"e\",{\"x\":[{\"_placeholder\":true}]}]",
	    "54294967296-[\"e\"]",
	    "511-[\"e\"]",
	    "5-[\"e\"]",
	    "51[\"e\"]",
	    "5a-[\"e\"]",
	};
	struct sio_packet p;
	char nsp[SIO_NSP_MAX + 8];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ck_assert_msg(DECODE(&p, bad[i]) == -1, "accepted %s", bad[i]);
		ck_assert_ptr_null(p.data);
	}
	nsp[0] = '0';
	nsp[1] = '/';
	memset(nsp + 2, 'n', SIO_NSP_MAX);
	nsp[SIO_NSP_MAX + 2] = '\0';
	ck_assert_int_eq(DECODE(&p, nsp), -1);
	nsp[SIO_NSP_MAX + 1] = '\0'; /* exactly SIO_NSP_MAX bytes */
	ck_assert_int_eq(DECODE(&p, nsp), 0);
	ck_assert_int_eq(DECODE(&p, "29007199254740991[\"e\"]"), 0);
	ck_assert(p.ack == SIO_ACK_MAX);
	sio_packet_finish(&p);
}
END_TEST

START_TEST(test_encode)
{
	struct sio_packet p;
	size_t len;
	char *s;

	memset(&p, 0, sizeof(p));
	p.type = SIO_CONNECT_ERROR;
	p.ack = -1;
	strcpy(p.nsp, "/random");
	p.data = json_pack("{s:s}", "message", "Invalid namespace");
	s = sio_packet_encode(&p, 3, &len);
	ck_assert_str_eq(s + 3, "4/random,{\"message\":\"Invalid namespace\"}");
	ck_assert_uint_eq(len, strlen(s + 3));
	free(s);
	json_decref(p.data);
	p.type = SIO_BINARY_ACK;
	p.attachments = 2;
	p.ack = 789;
	strcpy(p.nsp, "/");
	p.data = json_pack("[{s:b,s:i}]", "_placeholder", 1, "num", 0);
	s = sio_packet_encode(&p, 0, &len);
	ck_assert_str_eq(s, "62-789[{\"_placeholder\":true,\"num\":0}]");
	free(s);
	json_decref(p.data);
	p.type = SIO_DISCONNECT;
	p.ack = -1;
	p.data = NULL;
	strcpy(p.nsp, "/custom");
	s = sio_packet_encode(&p, 0, &len);
	ck_assert_str_eq(s, "1/custom,");
	free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sio_codec");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_reject);
	tcase_add_test(tc, test_encode);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
