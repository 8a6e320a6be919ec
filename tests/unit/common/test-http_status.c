/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/common/http_status.c: every code chat-fcgi and chat-pushd
 * answer with (and those the API reference promises) has the phrase
 * lighttpd writes for it, no two codes share a phrase, and a code outside the
 * table gets an empty phrase rather than another code's.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/http_status.h"
#include "unit.h"

static const struct {
	int code;
	const char *text;
} sent[] = {
    {101, "Switching Protocols"}, /* chat-pushd: WebSocket upgrade */
    {200, "OK"},
    {201, "Created"},
    {204, "No Content"}, /* chat-pushd: CORS preflight */
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"}, /* chat-pushd: an Origin not allowed */
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {409, "Conflict"}, /* promised by the API, with 403 and 204 */
    {413, "Payload Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Entity"},
    {426, "Upgrade Required"}, /* chat-pushd: Sec-WebSocket-Version */
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"}, /* chat-pushd */
    {500, "Internal Server Error"},
    {503, "Service Unavailable"},
    {507, "Insufficient Storage"},
};

START_TEST(test_sent)
{
	size_t i;

	for (i = 0; i < sizeof(sent) / sizeof(sent[0]); i++)
		ck_assert_msg(
		    strcmp(http_status_text(sent[i].code), sent[i].text) == 0,
		    "%d: \"%s\", want \"%s\"", sent[i].code,
		    http_status_text(sent[i].code), sent[i].text);
}
END_TEST

/* A phrase names one code: a copied line would give two codes one. */
START_TEST(test_distinct)
{
	const char *t, *u;
	int a, b, known = 0;

	for (a = 0; a < 1000; a++) {
		t = http_status_text(a);
		ck_assert_ptr_nonnull(t);
		if (*t == '\0')
			continue;
		ck_assert_msg(a >= 100 && a <= 599, "%d has a phrase", a);
		known++;
		for (b = a + 1; b < 1000; b++) {
			u = http_status_text(b);
			ck_assert_msg(strcmp(t, u) != 0,
			    "%d and %d are both \"%s\"", a, b, t);
		}
	}
	ck_assert_int_ge(known, (int)(sizeof(sent) / sizeof(sent[0])));
}
END_TEST

START_TEST(test_unknown)
{
	ck_assert_str_eq(http_status_text(0), "");
	ck_assert_str_eq(http_status_text(-1), "");
	ck_assert_str_eq(http_status_text(418), "");
	ck_assert_str_eq(http_status_text(499), "");
	ck_assert_str_eq(http_status_text(599), "");
	ck_assert_str_eq(http_status_text(600), "");
	ck_assert_str_eq(http_status_text(1000), "");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("http_status");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sent);
	tcase_add_test(tc, test_distinct);
	tcase_add_test(tc, test_unknown);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
