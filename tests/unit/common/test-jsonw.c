/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/common/jsonw.c: every string is written exactly as
 * jansson's json_dumps() with JSON_COMPACT writes it (all 256 byte values,
 * multibyte characters, U+0000), invalid UTF-8 is refused with nothing written,
 * and the buffer grows and hands over its text.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/jsonw.h"
#include "unit.h"

/* Expect jsonw_string_add() on "s" to give what jansson gives. */
static void
same_as_jansson(const char *s, size_t n)
{
	struct jsonw w;
	json_t *v = json_stringn(s, n);
	char *want;

	ck_assert_ptr_nonnull(v);
	want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	jsonw_init(&w);
	ck_assert_int_eq(jsonw_string_add(&w, s, n), 0);
	ck_assert_uint_eq(w.len, strlen(want));
	ck_assert_str_eq(w.s, want);
	jsonw_finish(&w);
	free(want);
	json_decref(v);
}

START_TEST(test_strings)
{
	static const char *const rows[] = {"", "plain", "quote \" back \\",
	    "slash / tab \t nl \n cr \r bs \b ff \f", "\x01\x1f\x7f",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "</script>",
	    "\xe2\x80\xa8 \xef\xbb\xbf"};
	char one[2], all[128];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		same_as_jansson(rows[i], strlen(rows[i]));
	same_as_jansson("a\0b", 3);
	for (i = 0; i < 128; i++) {
		one[0] = (char)i;
		same_as_jansson(one, 1);
		all[i] = (char)i;
	}
	same_as_jansson(all, sizeof(all));
}
END_TEST

START_TEST(test_invalid)
{
	static const char *const rows[] = {"\x80", "a\xc3", "\xed\xa0\x80",
	    "\xc0\xaf", "\xf4\x90\x80\x80", "ok\xff"};
	struct jsonw w;
	size_t i;

	jsonw_init(&w);
	jsonw_raw_add(&w, "[", 1);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ck_assert_ptr_null(json_string(rows[i]));
		ck_assert_int_eq(
		    jsonw_string_add(&w, rows[i], strlen(rows[i])), -1);
		ck_assert_uint_eq(w.len, 1);
		ck_assert_str_eq(w.s, "[");
	}
	jsonw_finish(&w);
}
END_TEST

START_TEST(test_growth)
{
	struct jsonw w;
	size_t i, len = 7;
	char *s;

	jsonw_init(&w);
	s = jsonw_steal(&w, &len);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	free(s);
	for (i = 0; i < 5000; i++) {
		jsonw_id_add(&w, (int64_t)i);
		jsonw_raw_add(&w, ",", 1);
	}
	ck_assert_uint_eq(strlen(w.s), w.len);
	ck_assert_int_eq(strncmp(w.s, "\"0\",\"1\",\"2\",", 12), 0);
	s = jsonw_steal(&w, &len);
	ck_assert_ptr_null(w.s);
	ck_assert_uint_eq(w.len, 0);
	ck_assert_uint_eq(len, strlen(s));
	ck_assert_str_eq(s + len - 7, "\"4999\",");
	free(s);
	jsonw_init(&w);
	jsonw_id_add(&w, INT64_MAX);
	jsonw_id_add(&w, 0);
	jsonw_id_add(&w, INT64_MIN);
	ck_assert_str_eq(w.s,
	    "\"9223372036854775807\"\"0\""
	    "\"-9223372036854775808\"");
	jsonw_finish(&w);
	jsonw_finish(&w); /* harmless twice */
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("jsonw");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_growth);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
