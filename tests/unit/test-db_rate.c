/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/db_rate.c on a fresh database file set up by
 * tests/unit/dbfix.h. They cover the token bucket's burst, refill, cap and
 * wait time, a clock that goes back, and one bucket seen by two handles.
 */
#include <check.h>
#include <stdlib.h>

#include "chat.h"
#include "db.h"
#include "dbfix.h"
#include "log.h"

START_TEST(test_rate)
{
	struct db *db = topen(), *db2;
	double ra = -1;
	int i;

	/* A new key starts full: a burst of 3, then 1 per second. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(
		    db_rate_take(db, "k", 3, 1, 1, 1000, &ra), CHAT_OK);
	ck_assert_int_eq(
	    db_rate_take(db, "k", 3, 1, 1, 1000, &ra), CHAT_ERR_RATE);
	ck_assert_double_eq_tol(ra, 1.0, 1e-9);
	ck_assert_int_eq(
	    db_rate_take(db, "k", 3, 1, 1, 1500, &ra), CHAT_ERR_RATE);
	ck_assert_double_eq_tol(ra, 0.5, 1e-9);
	ck_assert_int_eq(
	    db_rate_take(db, "k", 3, 1, 0, 1500, &ra), CHAT_ERR_RATE);
	ck_assert_int_eq(db_rate_take(db, "k", 3, 1, 0, 2000, &ra), CHAT_OK);
	/* A check takes nothing, so the token is still there. */
	ck_assert_int_eq(db_rate_take(db, "k", 3, 1, 1, 2000, &ra), CHAT_OK);
	ck_assert_int_eq(
	    db_rate_take(db, "k", 3, 1, 1, 2000, &ra), CHAT_ERR_RATE);
	/* Another key is independent. */
	ck_assert_int_eq(db_rate_take(db, "k2", 3, 1, 3, 2000, &ra), CHAT_OK);
	/* The refill is capped at the burst. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(
		    db_rate_take(db, "k", 3, 1, 1, 100000, &ra), CHAT_OK);
	ck_assert_int_eq(
	    db_rate_take(db, "k", 3, 1, 1, 100000, &ra), CHAT_ERR_RATE);
	/*
	 * A clock behind the stored time neither adds nor removes tokens,
	 * and does not move the stored time back.
	 */
	ck_assert_int_eq(db_rate_take(db, "z", 3, 1, 1, 10000, &ra), CHAT_OK);
	ck_assert_int_eq(db_rate_take(db, "z", 3, 1, 1, 9000, &ra), CHAT_OK);
	ck_assert_int_eq(
	    db_rate_take(db, "z", 3, 1, 2, 10000, &ra), CHAT_ERR_RATE);
	ck_assert_int_eq(db_rate_take(db, "z", 3, 1, 1, 10000, &ra), CHAT_OK);
	/* Cost 2 with 1 token at 4 per second: 0.25 s to wait. */
	ck_assert_int_eq(db_rate_take(db, "c", 3, 4, 2, 0, &ra), CHAT_OK);
	ck_assert_int_eq(db_rate_take(db, "c", 3, 4, 2, 0, &ra), CHAT_ERR_RATE);
	ck_assert_double_eq_tol(ra, 0.25, 1e-9);
	/* Another process sees the same bucket. */
	db2 = topen();
	ck_assert_int_eq(
	    db_rate_take(db2, "k", 3, 1, 1, 100000, &ra), CHAT_ERR_RATE);
	ck_assert_int_eq(db_rate_take(db2, "k", 3, 1, 1, 101000, &ra), CHAT_OK);
	ck_assert_int_eq(
	    db_rate_take(db, "k", 3, 1, 1, 101000, &ra), CHAT_ERR_RATE);
	db_free(db2);
	db_free(db);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("db_rate");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nfail;

	log_init("test-db_rate", 1, 0);
	tcase_add_checked_fixture(tc, tsetup, tteardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rate);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
