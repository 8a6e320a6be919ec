/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/common/pct.c: every pair of bytes decodes to the value its
 * two hex digits (either case) spell, or -1 when either is not one, and a
 * NUL-terminated string is not read past its NUL (checked by the
 * allocations being exact, for make valgrind and SANITIZE builds).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/pct.h"
#include "unit.h"

/* The value of hex digit "c" by table lookup, or -1: the reference. */
static int
tdigit(unsigned char c)
{
	static const char lower[] = "0123456789abcdef";
	static const char upper[] = "0123456789ABCDEF";
	const char *p;

	if (c == '\0')
		return -1;
	if ((p = strchr(lower, c)) != NULL)
		return (int)(p - lower);
	if ((p = strchr(upper, c)) != NULL)
		return (int)(p - upper);
	return -1;
}

START_TEST(test_values)
{
	ck_assert_int_eq(pct_byte_decode("00"), 0);
	ck_assert_int_eq(pct_byte_decode("09"), 9);
	ck_assert_int_eq(pct_byte_decode("0a"), 10);
	ck_assert_int_eq(pct_byte_decode("0F"), 15);
	ck_assert_int_eq(pct_byte_decode("7f"), 0x7f);
	ck_assert_int_eq(pct_byte_decode("A0"), 0xa0);
	ck_assert_int_eq(pct_byte_decode("ff"), 255);
	ck_assert_int_eq(pct_byte_decode("FF"), 255);
	ck_assert_int_eq(pct_byte_decode("fF"), 255);
	/* Only two bytes are read: what follows does not matter. */
	ck_assert_int_eq(pct_byte_decode("2541"), 0x25);
	ck_assert_int_eq(pct_byte_decode("20zz"), 0x20);
}
END_TEST

START_TEST(test_rejects)
{
	ck_assert_int_eq(pct_byte_decode(""), -1);
	ck_assert_int_eq(pct_byte_decode("1"), -1);
	ck_assert_int_eq(pct_byte_decode("g0"), -1);
	ck_assert_int_eq(pct_byte_decode("0g"), -1);
	ck_assert_int_eq(pct_byte_decode(" 1"), -1);
	ck_assert_int_eq(pct_byte_decode("+1"), -1);
	ck_assert_int_eq(pct_byte_decode("-1"), -1);
	ck_assert_int_eq(pct_byte_decode("0x"), -1);
	ck_assert_int_eq(pct_byte_decode("%4"), -1);
	ck_assert_int_eq(pct_byte_decode("\xc3\xa9"), -1);
}
END_TEST

/* All 65536 pairs against the reference. */
START_TEST(test_every_pair)
{
	char s[3];
	int a, b, want;

	s[2] = '\0';
	for (a = 0; a < 256; a++)
		for (b = 0; b < 256; b++) {
			s[0] = (char)a;
			s[1] = (char)b;
			want = tdigit((unsigned char)a) < 0 ||
			        tdigit((unsigned char)b) < 0
			    ? -1
			    : tdigit((unsigned char)a) << 4 |
			        tdigit((unsigned char)b);
			ck_assert_int_eq(pct_byte_decode(s), want);
		}
}
END_TEST

/* A string that ends early is read up to its NUL, not beyond. */
START_TEST(test_stops_at_nul)
{
	char *s = malloc(1);

	ck_assert_ptr_nonnull(s);
	s[0] = '\0';
	ck_assert_int_eq(pct_byte_decode(s), -1);
	free(s);
	s = malloc(2);
	ck_assert_ptr_nonnull(s);
	memcpy(s, "a", 2);
	ck_assert_int_eq(pct_byte_decode(s), -1);
	free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pct");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_every_pair);
	tcase_add_test(tc, test_stops_at_nul);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
