/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/common/htab.c: entries are found by key (negative and zero
 * keys too) and only while they are in, survive every doubling of the
 * buckets, and htab_finish() visits each one exactly once.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/htab.h"
#include "unit.h"

START_TEST(test_get_put_del)
{
	struct htab t = HTAB_INIT;
	struct htab_ent a = {0, NULL}, b = {-5, NULL}, c = {INT64_MAX, NULL};

	ck_assert_ptr_null(htab_get(&t, 0));
	htab_put(&t, &a);
	htab_put(&t, &b);
	htab_put(&t, &c);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_ptr_eq(htab_get(&t, 0), &a);
	ck_assert_ptr_eq(htab_get(&t, -5), &b);
	ck_assert_ptr_eq(htab_get(&t, INT64_MAX), &c);
	ck_assert_ptr_null(htab_get(&t, 5));
	htab_del(&t, &b);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_ptr_null(htab_get(&t, -5));
	ck_assert_ptr_eq(htab_get(&t, 0), &a);
	htab_finish(&t, NULL);
	ck_assert_ptr_null(t.b);
	ck_assert_uint_eq(t.nb, 0);
	ck_assert_ptr_null(htab_get(&t, 0));
}
END_TEST

#define NENT 5000

static unsigned char seen[NENT];

static void
visit(struct htab_ent *e)
{
	seen[e->key / 3]++;
}

START_TEST(test_growth_and_finish)
{
	struct htab t = HTAB_INIT;
	struct htab_ent *ent = calloc(NENT, sizeof(*ent));
	size_t i;

	ck_assert_ptr_nonnull(ent);
	for (i = 0; i < NENT; i++) {
		ent[i].key = (int64_t)i * 3; /* keys that share low bits */
		htab_put(&t, &ent[i]);
	}
	ck_assert_uint_eq(t.n, NENT);
	ck_assert_uint_ge(t.nb, NENT);
	ck_assert_uint_eq(t.nb & (t.nb - 1), 0);
	for (i = 0; i < NENT; i++)
		ck_assert_ptr_eq(htab_get(&t, (int64_t)i * 3), &ent[i]);
	ck_assert_ptr_null(htab_get(&t, 1));
	for (i = 0; i < NENT; i += 2)
		htab_del(&t, &ent[i]);
	ck_assert_uint_eq(t.n, NENT / 2);
	for (i = 0; i < NENT; i++)
		ck_assert_ptr_eq(
		    htab_get(&t, (int64_t)i * 3), i % 2 == 0 ? NULL : &ent[i]);
	memset(seen, 0, sizeof(seen));
	htab_finish(&t, visit);
	for (i = 0; i < NENT; i++)
		ck_assert_uint_eq(seen[i], i % 2);
	ck_assert_uint_eq(t.n, 0);
	free(ent);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("htab");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_get_put_del);
	tcase_add_test(tc, test_growth_and_finish);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
