/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/chat/db_rate.c on a fresh database file set up by
 * tests/unit/chat/dbfix.h. They cover the token bucket's burst, refill, cap and
 * wait time, a clock that goes back, one bucket seen by two handles, the
 * pruning of buckets that are full again, and the bounded list of the
 * addresses each account logged in from.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "common/log.h"
#include "dbfix.h"
#include "unit.h"

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

/*
 * A bucket is deleted only once it has refilled, by db_rate_prune() or
 * every DB_RATE_PRUNE_EVERY-th write, at most DB_RATE_PRUNE_MAX at a time;
 * a bucket still short of its burst stays, and its limit still holds.
 */
/*
 * A check (cost 0) only reads: it answers while another connection holds
 * the write lock (a write transaction would wait out the busy timeout and
 * fail), and inside a read transaction; taking a token there still waits.
 */
START_TEST(test_rate_check_reads)
{
	struct db *db = topen();
	sqlite3 *h = traw();
	double ra = -1;

	ck_assert_int_eq(db_rate_take(db, "k", 1, 1, 1, 1000, &ra), CHAT_OK);
	sqlite3_busy_timeout(h, 0);
	ck_assert_int_eq(
	    sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(
	    db_rate_take(db, "k", 1, 1, 0, 1000, &ra), CHAT_ERR_RATE);
	ck_assert_double_eq_tol(ra, 1.0, 1e-9);
	ck_assert_int_eq(db_rate_take(db, "k", 1, 1, 0, 2000, &ra), CHAT_OK);
	ck_assert_int_eq(db_rate_take(db, "new", 1, 1, 0, 2000, &ra), CHAT_OK);
	ck_assert_int_eq(
	    sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(db_read_begin(db), CHAT_OK);
	ck_assert_int_eq(db_rate_take(db, "k", 1, 1, 0, 2000, &ra), CHAT_OK);
	ck_assert_int_eq(
	    db_rate_take(db, "k", 1, 1, 1, 2000, &ra), CHAT_ERR_DB);
	db_read_end(db);
	ck_assert_int_eq(db_rate_take(db, "k", 1, 1, 1, 2000, &ra), CHAT_OK);
	ck_assert_int_eq(db_in_txn(db), 0);
	sqlite3_close(h);
	db_free(db);
}
END_TEST

START_TEST(test_rate_prune)
{
	struct db *db = topen();
	char key[32];
	double ra = -1;
	int i;

	/* "slow" is full again at 10001 ms, "fast" (2 of 4 taken) at 501. */
	ck_assert_int_eq(db_rate_take(db, "slow", 2, 0.1, 1, 0, &ra), CHAT_OK);
	ck_assert_int_eq(
	    db_rate_take(db, "slow", 2, 0.1, 2, 0, &ra), CHAT_ERR_RATE);
	ck_assert_int_eq(db_rate_take(db, "fast", 4, 4, 2, 0, &ra), CHAT_OK);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM ratelimit"), 2);
	ck_assert_int_eq(db_rate_prune(db, 499, 100), CHAT_OK);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM ratelimit"), 2);
	ck_assert_int_eq(db_rate_prune(db, 600, 100), CHAT_OK);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM ratelimit "
	                          "WHERE key = 'slow'"),
	    1);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM ratelimit"), 1);
	/* The pruned key starts full again: its burst of 4, no more. */
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(
		    db_rate_take(db, "fast", 4, 4, 1, 600, &ra), CHAT_OK);
	ck_assert_int_eq(
	    db_rate_take(db, "fast", 4, 4, 1, 600, &ra), CHAT_ERR_RATE);

	/*
	 * 100 keys of one take each, full again at 1251 ms; later writes
	 * prune them in batches, oldest first, while "slow" (short
	 * of its burst until 10001 ms) stays and still refuses.
	 */
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "ip:%d", i);
		ck_assert_int_eq(
		    db_rate_take(db, key, 4, 4, 1, 1000, &ra), CHAT_OK);
	}
	ck_assert_int_ge(traw_int("SELECT count(*) FROM ratelimit"), 100);
	for (i = 0; i < DB_RATE_PRUNE_EVERY; i++)
		ck_assert_int_eq(
		    db_rate_take(db, "w", 1000, 1, 1, 2000, &ra), CHAT_OK);
	ck_assert_int_le(traw_int("SELECT count(*) FROM ratelimit "
	                          "WHERE key LIKE 'ip:%'"),
	    100 - DB_RATE_PRUNE_MAX);
	for (i = 0; i < 8 * DB_RATE_PRUNE_EVERY; i++)
		ck_assert_int_eq(
		    db_rate_take(db, "w", 1000, 1, 1, 2000, &ra), CHAT_OK);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM ratelimit "
	                          "WHERE key LIKE 'ip:%' OR key = 'fast'"),
	    0);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM ratelimit "
	                          "WHERE key IN ('slow', 'w')"),
	    2);
	ck_assert_int_eq(
	    db_rate_take(db, "slow", 2, 0.1, 2, 2000, &ra), CHAT_ERR_RATE);
	ck_assert_int_eq(
	    db_rate_take(db, "slow", 2, 0.1, 2, 10600, &ra), CHAT_OK);
	/* The prune reads full_ms through its index, not by a scan. */
	ck_assert_int_eq(
	    traw_int("SELECT count(*) FROM sqlite_master WHERE type = 'index' "
	             "AND tbl_name = 'ratelimit' AND name = 'ratelimit_full'"),
	    1);
	db_free(db);
}
END_TEST

/*
 * An address is known to its account only, once it logged in; each
 * account keeps its DB_LOGIN_ADDRS_MAX most recent, and a login again
 * from a known address makes it recent.
 */
START_TEST(test_login_addrs)
{
	struct db *db = topen();
	int64_t a = tuser(db, "alice"), b = tuser(db, "bob");
	char addr[32];
	int i;

	ck_assert_int_eq(
	    db_login_addr_known(db, a, "192.0.2.1"), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(db_login_addr_add(db, a, "192.0.2.1", 1000), CHAT_OK);
	ck_assert_int_eq(db_login_addr_known(db, a, "192.0.2.1"), CHAT_OK);
	ck_assert_int_eq(
	    db_login_addr_known(db, b, "192.0.2.1"), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(
	    db_login_addr_known(db, a, "192.0.2.10"), CHAT_ERR_NOTFOUND);
	/* Again later: still one row. */
	ck_assert_int_eq(db_login_addr_add(db, a, "192.0.2.1", 2000), CHAT_OK);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM login_addrs"), 1);

	/* 2001:db8::/64 and then DB_LOGIN_ADDRS_MAX - 1 others at 3000+. */
	ck_assert_int_eq(
	    db_login_addr_add(db, a, "2001:db8::/64", 2500), CHAT_OK);
	for (i = 0; i < DB_LOGIN_ADDRS_MAX - 1; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d", i);
		ck_assert_int_eq(
		    db_login_addr_add(db, a, addr, 3000 + i), CHAT_OK);
	}
	/* The oldest, 192.0.2.1 (2000), made room. */
	ck_assert_int_eq(
	    traw_int("SELECT count(*) FROM login_addrs WHERE user_id = "
	             "(SELECT id FROM users WHERE username = 'alice')"),
	    DB_LOGIN_ADDRS_MAX);
	ck_assert_int_eq(
	    db_login_addr_known(db, a, "192.0.2.1"), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(db_login_addr_known(db, a, "2001:db8::/64"), CHAT_OK);
	/* A login again makes 2001:db8::/64 the newest. */
	ck_assert_int_eq(
	    db_login_addr_add(db, a, "2001:db8::/64", 9000), CHAT_OK);
	ck_assert_int_eq(db_login_addr_add(db, a, "192.0.2.99", 9001), CHAT_OK);
	ck_assert_int_eq(db_login_addr_known(db, a, "2001:db8::/64"), CHAT_OK);
	ck_assert_int_eq(
	    db_login_addr_known(db, a, "198.51.100.0"), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(
	    traw_int("SELECT count(*) FROM login_addrs"), DB_LOGIN_ADDRS_MAX);
	/* Other accounts are untouched by a's bound. */
	ck_assert_int_eq(db_login_addr_add(db, b, "192.0.2.1", 9000), CHAT_OK);
	ck_assert_int_eq(db_login_addr_known(db, b, "192.0.2.1"), CHAT_OK);
	db_free(db);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("db_rate");
	TCase *tc = tcase_create("core");

	log_init("test-db_rate", 1, 0);
	tcase_add_checked_fixture(tc, tsetup, tteardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_rate_check_reads);
	tcase_add_test(tc, test_rate_prune);
	tcase_add_test(tc, test_login_addrs);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
