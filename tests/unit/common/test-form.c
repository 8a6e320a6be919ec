/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/common/form.c: decoding, empty segments, duplicate keys,
 * the caps on pairs and lengths, and the refusal of bad escapes, invalid UTF-8
 * and NUL. Pure functions only: no files, no network.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/form.h"
#include "unit.h"

/* Parse the C string "s" into "f" and return the result. */
static enum form_err
parse(struct form *f, const char *s)
{
	return form_parse(f, s, strlen(s));
}

START_TEST(test_form_basic)
{
	struct form f;

	ck_assert_int_eq(
	    parse(&f, "username=bob&password=s3cr%2Bt+x"), FORM_OK);
	ck_assert_uint_eq(f.n, 2);
	ck_assert_str_eq(form_get(&f, "username"), "bob");
	ck_assert_str_eq(form_get(&f, "password"), "s3cr+t x");
	ck_assert_uint_eq(f.pairs[1].vallen, strlen("s3cr+t x"));
	ck_assert_ptr_null(form_get(&f, "scope"));
	form_finish(&f);
	ck_assert_ptr_null(f.pairs);
	ck_assert_uint_eq(f.n, 0);
}
END_TEST

START_TEST(test_form_empty_segments)
{
	struct form f;

	ck_assert_int_eq(parse(&f, ""), FORM_OK);
	ck_assert_uint_eq(f.n, 0);
	form_finish(&f);

	ck_assert_int_eq(parse(&f, "&&a=1&&b&c=&"), FORM_OK);
	ck_assert_uint_eq(f.n, 3);
	ck_assert_str_eq(form_get(&f, "a"), "1");
	ck_assert_str_eq(form_get(&f, "b"), "");
	ck_assert_str_eq(form_get(&f, "c"), "");
	form_finish(&f);

	/* "=" in a value is kept; an empty key is a key like any other. */
	ck_assert_int_eq(parse(&f, "=x&k=a=b"), FORM_OK);
	ck_assert_str_eq(form_get(&f, ""), "x");
	ck_assert_str_eq(form_get(&f, "k"), "a=b");
	form_finish(&f);
}
END_TEST

START_TEST(test_form_decoding)
{
	struct form f;

	/* Upper and lower hex, an encoded "&" and "=", UTF-8 in escapes. */
	ck_assert_int_eq(
	    parse(&f, "%6b%6B=%26%3d&e=%C3%A9%F0%9F%98%80"), FORM_OK);
	ck_assert_str_eq(form_get(&f, "kk"), "&=");
	ck_assert_str_eq(form_get(&f, "e"), "\xc3\xa9\xf0\x9f\x98\x80");
	form_finish(&f);

	/* Raw UTF-8 bytes need no escape. */
	ck_assert_int_eq(parse(&f, "n=\xe2\x82\xac"), FORM_OK);
	ck_assert_str_eq(form_get(&f, "n"), "\xe2\x82\xac");
	form_finish(&f);

	/* U+FFFF and U+10FFFF are valid and must be accepted. */
	ck_assert_int_eq(parse(&f, "a=%EF%BF%BF&b=%F4%8F%BF%BF"), FORM_OK);
	form_finish(&f);
}
END_TEST

START_TEST(test_form_bad_escape)
{
	static const char *bad[] = {
	    "a=%", "a=%4", "a=%zz", "a=%4g", "%=1", "a=1&b=%%41", "a=%+1"};
	struct form f;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse(&f, bad[i]), FORM_ERR_ESCAPE);
		ck_assert_uint_eq(f.n, 0);
		ck_assert_ptr_null(f.pairs);
		form_finish(&f);
	}
}
END_TEST

START_TEST(test_form_bad_utf8)
{
	static const char *bad[] = {
	    "a=%00",          /* NUL */
	    "a=%C0%AF",       /* overlong */
	    "a=%ED%A0%80",    /* surrogate */
	    "a=%F4%90%80%80", /* above U+10FFFF */
	    "a=%E2%82",       /* truncated */
	    "a=\xff",         /* raw invalid byte */
	    "%C3=1",          /* invalid key */
	};
	struct form f;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse(&f, bad[i]), FORM_ERR_UTF8);
		ck_assert_uint_eq(f.n, 0);
		form_finish(&f);
	}
	/* A raw NUL byte in the input is refused too. */
	ck_assert_int_eq(form_parse(&f, "a=b\0c", 5), FORM_ERR_UTF8);
	form_finish(&f);
}
END_TEST

START_TEST(test_form_duplicates)
{
	struct form f;

	ck_assert_int_eq(parse(&f, "a=1&b=2&a=1"), FORM_ERR_DUP);
	ck_assert_uint_eq(f.n, 0);
	form_finish(&f);
	/* Duplicates are found after decoding. */
	ck_assert_int_eq(parse(&f, "a=1&%61=2"), FORM_ERR_DUP);
	form_finish(&f);
	/* Keys differing only in case are different keys. */
	ck_assert_int_eq(parse(&f, "a=1&A=2"), FORM_OK);
	ck_assert_str_eq(form_get(&f, "A"), "2");
	form_finish(&f);
}
END_TEST

START_TEST(test_form_caps)
{
	struct form f;
	char *s;
	size_t i, n;

	/* Exactly FORM_PAIRS_MAX pairs pass, one more fails. */
	s = malloc(FORM_PAIRS_MAX * 8 + 16);
	ck_assert_ptr_nonnull(s);
	for (n = 0, i = 0; i < FORM_PAIRS_MAX; i++)
		n += (size_t)sprintf(s + n, "k%zu=v&", i);
	ck_assert_int_eq(form_parse(&f, s, n), FORM_OK);
	ck_assert_uint_eq(f.n, FORM_PAIRS_MAX);
	ck_assert_str_eq(form_get(&f, "k63"), "v");
	form_finish(&f);
	n += (size_t)sprintf(s + n, "x=1");
	ck_assert_int_eq(form_parse(&f, s, n), FORM_ERR_TOO_MANY);
	ck_assert_uint_eq(f.n, 0);
	form_finish(&f);
	free(s);

	/* A value of FORM_VALUE_MAX bytes passes, one more byte fails. */
	s = malloc(3 * FORM_VALUE_MAX + 16);
	ck_assert_ptr_nonnull(s);
	memcpy(s, "v=", 2);
	memset(s + 2, 'x', FORM_VALUE_MAX);
	ck_assert_int_eq(form_parse(&f, s, 2 + FORM_VALUE_MAX), FORM_OK);
	ck_assert_uint_eq(strlen(form_get(&f, "v")), FORM_VALUE_MAX);
	form_finish(&f);
	s[2 + FORM_VALUE_MAX] = 'x';
	ck_assert_int_eq(
	    form_parse(&f, s, 3 + FORM_VALUE_MAX), FORM_ERR_TOO_LONG);
	form_finish(&f);

	/* The cap counts decoded bytes: FORM_VALUE_MAX escapes pass. */
	for (i = 0; i < FORM_VALUE_MAX; i++)
		memcpy(s + 2 + 3 * i, "%41", 3);
	ck_assert_int_eq(form_parse(&f, s, 2 + 3 * FORM_VALUE_MAX), FORM_OK);
	ck_assert_uint_eq(f.pairs[0].vallen, FORM_VALUE_MAX);
	form_finish(&f);
	free(s);

	/* Keys have their own, smaller cap. */
	s = malloc(FORM_KEY_MAX + 16);
	ck_assert_ptr_nonnull(s);
	memset(s, 'k', FORM_KEY_MAX + 1);
	s[FORM_KEY_MAX + 1] = '=';
	ck_assert_int_eq(
	    form_parse(&f, s, FORM_KEY_MAX + 2), FORM_ERR_TOO_LONG);
	form_finish(&f);
	ck_assert_int_eq(form_parse(&f, s + 1, FORM_KEY_MAX + 1), FORM_OK);
	form_finish(&f);
	free(s);
}
END_TEST

START_TEST(test_form_strerror)
{
	int e;

	for (e = 0; e < FORM_ERR__MAX; e++) {
		ck_assert_ptr_nonnull(form_strerror((enum form_err)e));
		ck_assert_uint_gt(strlen(form_strerror((enum form_err)e)), 0);
	}
	ck_assert_str_eq(form_strerror(FORM_ERR__MAX), "Unknown error");
}
END_TEST

static Suite *
form_suite(void)
{
	Suite *s = suite_create("form");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_form_basic);
	tcase_add_test(tc, test_form_empty_segments);
	tcase_add_test(tc, test_form_decoding);
	tcase_add_test(tc, test_form_bad_escape);
	tcase_add_test(tc, test_form_bad_utf8);
	tcase_add_test(tc, test_form_duplicates);
	tcase_add_test(tc, test_form_caps);
	tcase_add_test(tc, test_form_strerror);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(form_suite());
}
