/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/common/addrtab.c: an address holds at most "max" slots,
 * slots given back are usable again, an entry disappears at zero, the
 * table grows past its first size without losing counts, and text
 * addresses parse to the same key whether written as IPv4 or mapped IPv6.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/addrtab.h"
#include "unit.h"

START_TEST(test_cap)
{
	struct addrtab t;
	struct addrtab_ent *e[3], *o;
	uint8_t a[ADDRTAB_LEN], b[ADDRTAB_LEN];

	addrtab_init(&t);
	ck_assert_int_eq(addrtab_parse("10.0.0.1", 8, a), 0);
	ck_assert_int_eq(addrtab_parse("10.0.0.2", 8, b), 0);
	ck_assert_ptr_nonnull(e[0] = addrtab_take(&t, a, 2));
	ck_assert_ptr_nonnull(e[1] = addrtab_take(&t, a, 2));
	ck_assert_ptr_eq(e[0], e[1]);
	ck_assert_ptr_null(addrtab_take(&t, a, 2));
	ck_assert_ptr_nonnull(o = addrtab_take(&t, b, 2)); /* another one */
	ck_assert_uint_eq(t.n, 2);
	addrtab_put(&t, e[0]);
	ck_assert_ptr_nonnull(e[2] = addrtab_take(&t, a, 2));
	ck_assert_uint_eq(e[2]->n, 2);
	addrtab_put(&t, e[1]);
	addrtab_put(&t, e[2]);
	ck_assert_uint_eq(t.n, 1); /* "a" is gone at zero */
	addrtab_put(&t, o);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_ptr_null(addrtab_take(&t, a, 0));
	addrtab_finish(&t);
}
END_TEST

START_TEST(test_grow)
{
	enum { N = 1000 };
	struct addrtab t;
	struct addrtab_ent *e[N];
	uint8_t a[ADDRTAB_LEN];
	char s[32];
	int i, len;

	addrtab_init(&t);
	for (i = 0; i < N; i++) {
		len = snprintf(s, sizeof(s), "192.0.%d.%d", i / 256, i % 256);
		ck_assert_int_eq(addrtab_parse(s, (size_t)len, a), 0);
		ck_assert_ptr_nonnull(e[i] = addrtab_take(&t, a, 1));
	}
	ck_assert_uint_eq(t.n, N);
	ck_assert_uint_ge(t.nb, N);
	for (i = 0; i < N; i++) {
		len = snprintf(s, sizeof(s), "192.0.%d.%d", i / 256, i % 256);
		ck_assert_int_eq(addrtab_parse(s, (size_t)len, a), 0);
		ck_assert_ptr_null(addrtab_take(&t, a, 1)); /* still counted */
	}
	for (i = 0; i < N; i++)
		addrtab_put(&t, e[i]);
	ck_assert_uint_eq(t.n, 0);
	addrtab_finish(&t);
}
END_TEST

START_TEST(test_parse)
{
	uint8_t a[ADDRTAB_LEN], b[ADDRTAB_LEN];
	static const char *const bad[] = {"", " ", "unix:", "1.2.3",
	    "1.2.3.4.5", "256.1.1.1", "::g", "1.2.3.4, 5.6.7.8",
	    "0000:0000:0000:0000:0000:0000:0000:0000:0000"};
	size_t i;

	ck_assert_int_eq(addrtab_parse(" 127.0.0.1 ", 11, a), 0);
	ck_assert_int_eq(addrtab_parse("::ffff:127.0.0.1", 16, b), 0);
	ck_assert_mem_eq(a, b, ADDRTAB_LEN);
	ck_assert_int_eq(addrtab_parse("2001:db8::1", 11, a), 0);
	ck_assert_uint_eq(a[0], 0x20);
	ck_assert_uint_eq(a[15], 1);
	/* Only "len" bytes count. */
	ck_assert_int_eq(addrtab_parse("10.1.1.1xyz", 8, a), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(addrtab_parse(bad[i], strlen(bad[i]), a), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("addrtab");
	TCase *tc = tcase_create("core");

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_grow);
	tcase_add_test(tc, test_parse);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
