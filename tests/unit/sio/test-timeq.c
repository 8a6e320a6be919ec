/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/sio/timeq.c: entries expire in the order added at their
 * deadline, re-adding moves an entry to the back, removed entries never
 * expire, and the first-entry flag tells the caller when to arm a timer.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sio/timeq.h"
#include "unit.h"

START_TEST(test_order)
{
	struct timeq q;
	struct timeq_ent a, b, c;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	timeq_init(&q, 100);
	ck_assert_uint_eq(timeq_next(&q), UINT64_MAX);
	ck_assert_int_eq(timeq_add(&q, &a, 0), 1);
	ck_assert_int_eq(timeq_add(&q, &b, 10), 0);
	ck_assert_int_eq(timeq_add(&q, &c, 20), 0);
	ck_assert_uint_eq(timeq_next(&q), 100);
	ck_assert_ptr_null(timeq_pop(&q, 99));
	ck_assert_int_eq(timeq_add(&q, &a, 50), 0); /* a moves behind c */
	ck_assert_uint_eq(timeq_next(&q), 110);
	timeq_del(&c);
	ck_assert_int_eq(timeq_queued(&c), 0);
	timeq_del(&c); /* harmless twice */
	ck_assert_ptr_eq(timeq_pop(&q, 1000), &b);
	ck_assert_ptr_eq(timeq_pop(&q, 1000), &a);
	ck_assert_ptr_null(timeq_pop(&q, 1000));
	ck_assert_int_eq(timeq_queued(&a), 0);
	ck_assert_int_eq(timeq_add(&q, &c, 5), 1);
	ck_assert_uint_eq(c.deadline, 105);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("timeq");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_order);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
