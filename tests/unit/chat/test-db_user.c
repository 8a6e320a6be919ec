/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/chat/db_user.c, each on a fresh database file set up by
 * tests/unit/chat/dbfix.h. They cover user creation with a username and an
 * e-mail each unique regardless of case, the user object of docs/api.md without
 * the hash, login by username or e-mail in any case but with SQL
 * wildcards matched literally, and renaming.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "common/log.h"
#include "dbfix.h"
#include "unit.h"

START_TEST(test_user_insert)
{
	struct db *db = topen();
	struct db_user u;
	json_t *j;
	int64_t id, id2 = -1;
	char *s;

	ck_assert_int_eq(db_user_insert(db, "alice", "alice@example.com", NULL,
	                     "$h1$", 1000, &id),
	    CHAT_OK);
	ck_assert_int_eq(db_user_insert(db, "alice2", "ALICE@Example.com", NULL,
	                     "$h$", 1000, &id2),
	    CHAT_ERR_EMAIL_TAKEN);
	ck_assert_int_eq(db_user_insert(db, "alice", "other@example.com", NULL,
	                     "$h$", 1000, &id2),
	    CHAT_ERR_USERNAME_TAKEN);
	ck_assert_int_eq(id2, -1);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM users"), 1);

	ck_assert_int_eq(db_user_by_id(db, id, &u), CHAT_OK);
	ck_assert_int_eq(u.id, id);
	ck_assert_str_eq(u.username, "alice");
	ck_assert_str_eq(u.email, "alice@example.com");
	ck_assert_ptr_null(u.full_name);
	ck_assert_str_eq(u.pass_hash, "$h1$");
	ck_assert_int_eq(u.last_seen, 0);
	ck_assert_int_eq(u.tokens_valid_after, 0);
	j = db_user_json(&u);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_object_size(j), 4);
	ck_assert_int_eq(jid(j, "id"), id);
	ck_assert_str_eq(jstr(j, "username"), "alice");
	ck_assert_str_eq(jstr(j, "email"), "alice@example.com");
	ck_assert(json_is_null(json_object_get(j, "full_name")));
	s = json_dumps(j, JSON_COMPACT);
	ck_assert_ptr_null(strstr(s, "h1"));
	free(s);
	json_decref(j);
	db_user_finish(&u);

	ck_assert_int_eq(db_user_set_hash(db, id, "$h2$"), CHAT_OK);
	ck_assert_int_eq(db_user_set_last_seen(db, id, 5000), CHAT_OK);
	ck_assert_int_eq(
	    db_user_set_last_seen(db, id + 100, 5000), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(db_user_by_id(db, id, &u), CHAT_OK);
	ck_assert_str_eq(u.pass_hash, "$h2$");
	ck_assert_int_eq(u.last_seen, 5000);
	db_user_finish(&u);
	ck_assert_int_eq(db_user_by_id(db, id + 100, &u), CHAT_ERR_NOTFOUND);

	ck_assert_int_eq(db_user_insert(db, "bob", "bob@example.com",
	                     "Bob \xe2\x80\x99 B", "$h$", 1000, &id2),
	    CHAT_OK);
	ck_assert_int_eq(db_user_by_id(db, id2, &u), CHAT_OK);
	j = db_user_json(&u);
	ck_assert_str_eq(jstr(j, "full_name"), "Bob \xe2\x80\x99 B");
	json_decref(j);
	db_user_finish(&u);
	db_free(db);
}
END_TEST

START_TEST(test_login)
{
	struct db *db = topen();
	struct db_user u;
	int64_t a, b;

	a = tuser(db, "alice");
	b = tuser(db, "bob");
	ck_assert_int_eq(
	    db_user_by_login(db, "alice@example.com", &u), CHAT_OK);
	ck_assert_int_eq(u.id, a);
	db_user_finish(&u);
	ck_assert_int_eq(
	    db_user_by_login(db, "ALICE@Example.COM", &u), CHAT_OK);
	ck_assert_int_eq(u.id, a);
	db_user_finish(&u);
	ck_assert_int_eq(db_user_by_login(db, "bob", &u), CHAT_OK);
	ck_assert_int_eq(u.id, b);
	ck_assert_str_eq(u.email, "bob@example.com");
	db_user_finish(&u);
	ck_assert_int_eq(db_user_by_login(db, "carol", &u), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(db_user_by_login(db, "b_b", &u), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(db_user_by_login(db, "%", &u), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(
	    db_user_by_login(db, "%@example.com", &u), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(
	    db_user_by_login(db, "' OR '1'='1", &u), CHAT_ERR_NOTFOUND);
	db_free(db);
}
END_TEST

/*
 * Usernames are one name regardless of case: a second spelling is taken,
 * login finds the account in any case, and the spelling of the signup is
 * what is stored and shown.
 */
START_TEST(test_username_case)
{
	static const char *const taken[] = {"Alice", "ALICE", "aLiCe"};
	struct db *db = topen();
	struct db_user u;
	int64_t a, b, id = -1;
	size_t i;

	a = tuser(db, "alice");
	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
		ck_assert_int_eq(db_user_insert(db, taken[i], "x@example.com",
		                     NULL, "$h$", 1000, &id),
		    CHAT_ERR_USERNAME_TAKEN);
	ck_assert_int_eq(id, -1);
	b = tuser(db, "Bob.Smith");
	ck_assert_int_eq(traw_int("SELECT count(*) FROM users"), 2);
	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		ck_assert_int_eq(db_user_by_login(db, taken[i], &u), CHAT_OK);
		ck_assert_int_eq(u.id, a);
		ck_assert_str_eq(u.username, "alice");
		db_user_finish(&u);
	}
	ck_assert_int_eq(db_user_by_login(db, "bob.smith", &u), CHAT_OK);
	ck_assert_int_eq(u.id, b);
	ck_assert_str_eq(u.username, "Bob.Smith");
	db_user_finish(&u);
	ck_assert_int_eq(
	    db_user_by_login(db, "BOB-SMITH", &u), CHAT_ERR_NOTFOUND);
	db_free(db);
}
END_TEST

/*
 * Renaming (chat-admin): a name another account has in any case is
 * refused, a change of case of one's own name is not, and login follows
 * the new name.
 */
START_TEST(test_rename)
{
	struct db *db = topen();
	struct db_user u;
	int64_t a, b;

	a = tuser(db, "alice");
	b = tuser(db, "bob");
	trename(db, "alice", "BOB", CHAT_ERR_USERNAME_TAKEN);
	trename(db, "carol", "carol2", CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(trename(db, "ALICE", "Alice", CHAT_OK), a);
	ck_assert_int_eq(trename(db, "bob", "robert", CHAT_OK), b);
	ck_assert_int_eq(db_user_by_login(db, "bob", &u), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(db_user_by_login(db, "ROBERT", &u), CHAT_OK);
	ck_assert_int_eq(u.id, b);
	ck_assert_str_eq(u.username, "robert");
	db_user_finish(&u);
	ck_assert_int_eq(db_user_by_id(db, a, &u), CHAT_OK);
	ck_assert_str_eq(u.username, "Alice");
	db_user_finish(&u);
	ck_assert_int_eq(db_in_txn(db), 0);
	db_free(db);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("db_user");
	TCase *tc = tcase_create("core");

	log_init("test-db_user", 1, 0);
	tcase_add_checked_fixture(tc, tsetup, tteardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_user_insert);
	tcase_add_test(tc, test_login);
	tcase_add_test(tc, test_username_case);
	tcase_add_test(tc, test_rename);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
