/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/common/utf8.c: the incremental validator accepts what
 * valid_utf8() accepts plus U+0000, rejects overlongs, surrogates, code
 * points above U+10FFFF and stray bytes at the first bad byte, and gives
 * the same answer however the input is split; utf8_decode() returns the
 * code point and length of one valid character and 0 for anything else.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "unit.h"

#define FEED(lit)                                                              \
	utf8_feed(UTF8_ACCEPT, (const uint8_t *)(lit), sizeof(lit) - 1)

START_TEST(test_accepts)
{
	ck_assert_uint_eq(FEED(""), UTF8_ACCEPT);
	ck_assert_uint_eq(FEED("ascii \x00 nul"), UTF8_ACCEPT);
	ck_assert_uint_eq(FEED("\xc2\x80\xdf\xbf"), UTF8_ACCEPT);
	ck_assert_uint_eq(
	    FEED("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"), UTF8_ACCEPT);
	ck_assert_uint_eq(
	    FEED("\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"), UTF8_ACCEPT);
}
END_TEST

START_TEST(test_rejects)
{
	ck_assert_uint_eq(FEED("\x80"), UTF8_REJECT);         /* stray */
	ck_assert_uint_eq(FEED("\xc0\xaf"), UTF8_REJECT);     /* overlong */
	ck_assert_uint_eq(FEED("\xc1\xbf"), UTF8_REJECT);     /* overlong */
	ck_assert_uint_eq(FEED("\xe0\x9f\xbf"), UTF8_REJECT); /* overlong */
	ck_assert_uint_eq(FEED("\xed\xa0\x80"), UTF8_REJECT); /* surrogate */
	ck_assert_uint_eq(FEED("\xf0\x8f\xbf\xbf"), UTF8_REJECT);
	ck_assert_uint_eq(FEED("\xf4\x90\x80\x80"), UTF8_REJECT); /* >10FFFF */
	ck_assert_uint_eq(FEED("\xf5\x80\x80\x80"), UTF8_REJECT);
	ck_assert_uint_eq(FEED("\xff"), UTF8_REJECT);
	ck_assert_uint_eq(FEED("\xc3\x28"), UTF8_REJECT);
	/* Sticky: nothing valid after an error brings it back. */
	ck_assert_uint_eq(
	    utf8_feed(UTF8_REJECT, (const uint8_t *)"a", 1), UTF8_REJECT);
}
END_TEST

START_TEST(test_incomplete_and_split)
{
	const uint8_t s[] = "a\xf0\x9f\x98\x80z\xe2\x82\xac";
	uint32_t st;
	size_t cut, i;

	ck_assert_uint_ne(FEED("\xe2\x82"), UTF8_ACCEPT);
	ck_assert_uint_ne(FEED("\xe2\x82"), UTF8_REJECT);
	for (cut = 0; cut <= sizeof(s) - 1; cut++) {
		st = utf8_feed(UTF8_ACCEPT, s, cut);
		ck_assert_uint_ne(st, UTF8_REJECT);
		st = utf8_feed(st, s + cut, sizeof(s) - 1 - cut);
		ck_assert_uint_eq(st, UTF8_ACCEPT);
	}
	for (st = UTF8_ACCEPT, i = 0; i < sizeof(s) - 1; i++)
		st = utf8_feed(st, s + i, 1);
	ck_assert_uint_eq(st, UTF8_ACCEPT);
}
END_TEST

/* One character decoded, with its length; 0 for bad or cut input. */
START_TEST(test_decode)
{
	static const struct {
		const char *s;
		size_t len;
		uint32_t cp;
	} ok[] = {{"A", 1, 0x41}, {"\x7f", 1, 0x7f}, {"\xc2\x80", 2, 0x80},
	    {"\xdf\xbf", 2, 0x7ff}, {"\xe0\xa0\x80", 3, 0x800},
	    {"\xe2\x82\xac!", 3, 0x20ac}, {"\xed\x9f\xbf", 3, 0xd7ff},
	    {"\xef\xbf\xbf", 3, 0xffff}, {"\xf0\x90\x80\x80", 4, 0x10000},
	    {"\xf0\x9f\x98\x80", 4, 0x1f600},
	    {"\xf4\x8f\xbf\xbf", 4, 0x10ffff}};
	static const char *bad[] = {"\x80", "\xc0\xaf", "\xc1\xbf",
	    "\xe0\x9f\xbf", "\xed\xa0\x80", "\xf0\x8f\xbf\xbf",
	    "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xc3\x28",
	    "\xe2\x82", "\xf0\x9f\x98"};
	uint32_t cp;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cp = 0;
		ck_assert_uint_eq(
		    utf8_decode((const uint8_t *)ok[i].s, strlen(ok[i].s), &cp),
		    ok[i].len);
		ck_assert_uint_eq(cp, ok[i].cp);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cp = 7;
		ck_assert_uint_eq(
		    utf8_decode((const uint8_t *)bad[i], strlen(bad[i]), &cp),
		    0);
		ck_assert_uint_eq(cp, 7);
	}
	/* "n" bounds the read: a whole character cut by it is bad. */
	ck_assert_uint_eq(
	    utf8_decode((const uint8_t *)"\xe2\x82\xac", 2, &cp), 0);
	ck_assert_uint_eq(utf8_decode((const uint8_t *)"", 0, &cp), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_accepts);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_incomplete_and_split);
	tcase_add_test(tc, test_decode);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
