/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/chat/db_msg.c and the small lib/chat/db_media.c, each on a
 * fresh database file set up by tests/unit/chat/dbfix.h. They cover messages
 * with idempotent client ids, pagination, a user's catch-up (bounded by the
 * push cursor or not), the push daemon's cursor reads and the media records.
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

START_TEST(test_msg_insert)
{
	struct db *db = topen();
	int64_t a, b, r, r2, m1, m2, id, last;
	char when[CHAT_TIME_LEN];
	int created;
	json_t *j;

	a = tuser(db, "alice");
	b = tuser(db, "bob");
	r = troom(db, "ab", a, &b, 1, 1000);
	r2 = troom(db, "ab2", a, &b, 1, 1000);

	m1 = tmsg(db, r, a, "hi", 2000);
	m2 = tmsg(db, r, a, "hi", 2000); /* NULL client ids never clash */
	ck_assert_int_gt(m2, m1);
	ck_assert_int_eq(
	    db_msg_insert(db, r, a, "first", NULL, "c1", 3000, &id, &created),
	    CHAT_OK);
	ck_assert_int_eq(created, 1);
	last = id;
	ck_assert_int_eq(
	    db_msg_insert(db, r, a, "again", NULL, "c1", 4000, &id, &created),
	    CHAT_OK);
	ck_assert_int_eq(created, 0);
	ck_assert_int_eq(id, last);
	ck_assert_int_eq(
	    db_msg_insert(db, r, b, "bob", NULL, "c1", 4000, &id, &created),
	    CHAT_OK);
	ck_assert_int_eq(created, 1);
	ck_assert_int_gt(id, last);
	ck_assert_int_eq(db_msg_insert(db, r2, a, "", "/media/x.png", "c1",
	                     5000, &id, &created),
	    CHAT_OK);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM messages"), 5);
	ck_assert_int_eq(db_msg_last_id(db, &last), CHAT_OK);
	ck_assert_int_eq(last, id);
	ck_assert_int_eq(traw_int("SELECT last_activity FROM rooms WHERE "
	                          "name = 'ab'"),
	    4000);

	ck_assert_int_eq(db_msg_json(db, m1, &j), CHAT_OK);
	ck_assert_uint_eq(json_object_size(j), 9);
	ck_assert_int_eq(jid(j, "id"), m1);
	ck_assert_int_eq(jid(j, "room_id"), r);
	ck_assert_str_eq(jstr(j, "sender"), "alice@example.com");
	ck_assert_int_eq(jid(j, "sender_id"), a);
	ck_assert_str_eq(jstr(j, "sender_username"), "alice");
	ck_assert_str_eq(jstr(j, "content"), "hi");
	ck_assert(json_is_null(json_object_get(j, "media_url")));
	ck_assert(json_is_null(json_object_get(j, "client_id")));
	ck_assert_str_eq(jstr(j, "timestamp"), chat_time_fmt(2000, when));
	json_decref(j);
	ck_assert_int_eq(db_msg_json(db, last, &j), CHAT_OK);
	ck_assert_str_eq(jstr(j, "content"), "");
	ck_assert_str_eq(jstr(j, "media_url"), "/media/x.png");
	ck_assert_str_eq(jstr(j, "client_id"), "c1");
	json_decref(j);
	ck_assert_int_eq(db_msg_json(db, last + 1, &j), CHAT_ERR_NOTFOUND);

	/* Foreign keys are on: no message in a room that does not exist. */
	ck_assert_int_eq(db_msg_insert(db, r2 + 100, a, "x", NULL, NULL, 6000,
	                     &id, &created),
	    CHAT_ERR_DB);
	ck_assert_int_eq(db_in_txn(db), 0);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM messages"), 5);
	db_free(db);
}
END_TEST

START_TEST(test_pagination)
{
	struct db *db = topen();
	int64_t a, r, s, ids[10];
	json_t *j;
	int i;

	a = tuser(db, "alice");
	r = troom(db, "r", a, NULL, 0, 1000);
	s = troom(db, "s", a, NULL, 0, 1000);
	for (i = 0; i < 10; i++) {
		ids[i] = tmsg(db, r, a, "in r", 2000 + i);
		tmsg(db, s, a, "in s", 2000 + i);
	}
	ck_assert_int_eq(db_msgs_json(db, r, 3, 0, 0, &j), CHAT_OK);
	tids(j, ids + 7, 3);
	json_decref(j);
	ck_assert_int_eq(db_msgs_json(db, r, 100, 0, 0, &j), CHAT_OK);
	tids(j, ids, 10);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(jid(json_array_get(j, i), "room_id"), r);
	json_decref(j);
	ck_assert_int_eq(db_msgs_json(db, r, 3, ids[5], 0, &j), CHAT_OK);
	tids(j, ids + 2, 3);
	json_decref(j);
	ck_assert_int_eq(db_msgs_json(db, r, 3, ids[1], 0, &j), CHAT_OK);
	tids(j, ids, 1);
	json_decref(j);
	ck_assert_int_eq(db_msgs_json(db, r, 3, ids[0], 0, &j), CHAT_OK);
	tids(j, NULL, 0);
	json_decref(j);
	ck_assert_int_eq(db_msgs_json(db, r, 3, 0, ids[5], &j), CHAT_OK);
	tids(j, ids + 6, 3);
	json_decref(j);
	ck_assert_int_eq(db_msgs_json(db, r, 3, 0, ids[8], &j), CHAT_OK);
	tids(j, ids + 9, 1);
	json_decref(j);
	ck_assert_int_eq(db_msgs_json(db, r, 3, 0, ids[9], &j), CHAT_OK);
	tids(j, NULL, 0);
	json_decref(j);
	ck_assert_int_eq(db_msgs_json(db, r, 0, 0, 0, &j), CHAT_ERR_INVALID);
	ck_assert_int_eq(
	    db_msgs_json(db, r, 3, ids[5], ids[2], &j), CHAT_ERR_INVALID);
	ck_assert_int_eq(db_room_json(db, r, 5, &j), CHAT_OK);
	tids(json_object_get(j, "messages"), ids + 5, 5);
	json_decref(j);
	db_free(db);
}
END_TEST

/*
 * Expect db_msgs_text() to write the very bytes json_dumps() writes for
 * db_msgs_json()'s page with the same arguments.
 */
static void
text_same(struct db *db, int64_t room, int limit, int64_t before, int64_t after)
{
	json_t *j = NULL;
	char *want, *got = NULL;
	size_t len = 0;

	ck_assert_int_eq(
	    db_msgs_json(db, room, limit, before, after, &j), CHAT_OK);
	want = json_dumps(j, JSON_COMPACT);
	ck_assert_int_eq(
	    db_msgs_text(db, room, limit, before, after, &got, &len), CHAT_OK);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	json_decref(j);
}

START_TEST(test_msgs_text)
{
	struct db *db = topen();
	int64_t a, b, r, ids[5];
	char *out = NULL;
	size_t len = 0;
	int created;

	a = tuser(db, "alice");
	b = tuser(db, "bob");
	r = troom(db, "r", a, &b, 1, 1000);
	ids[0] = tmsg(db, r, a, "plain", 2000);
	ids[1] = tmsg(
	    db, r, b, "q\"b\\s\n\t\x01\x7f caf\xc3\xa9 \xf0\x9f\x98\x80", 2001);
	ck_assert_int_eq(db_msg_insert(db, r, a, "", "/media/x.png", "c-1",
	                     1795860909123, &ids[2], &created),
	    CHAT_OK);
	ids[3] = tmsg(db, r, b, "</script>", 2003);
	ids[4] = tmsg(db, r, a, "last", 2004);
	text_same(db, r, 50, 0, 0);
	text_same(db, r, 2, 0, 0);
	text_same(db, r, 1, 0, 0);
	text_same(db, r, 2, ids[3], 0);
	text_same(db, r, 2, 0, ids[1]);
	text_same(db, r, 50, 0, ids[4]); /* empty: [] */
	text_same(db, r, 50, ids[0], 0);
	text_same(db, r + 100, 50, 0, 0); /* no such room: [] */
	ck_assert_int_eq(
	    db_msgs_text(db, r, 0, 0, 0, &out, &len), CHAT_ERR_INVALID);
	ck_assert_int_eq(db_msgs_text(db, r, 3, ids[3], ids[1], &out, &len),
	    CHAT_ERR_INVALID);
	ck_assert_ptr_null(out);
	/* Text that is not UTF-8 (written behind the library): an error. */
	traw_exec("UPDATE messages SET content = CAST(x'ff' AS TEXT) "
	          "WHERE content = 'last'");
	ck_assert_int_eq(
	    db_msgs_text(db, r, 50, 0, 0, &out, &len), CHAT_ERR_DB);
	ck_assert_ptr_null(out);
	db_free(db);
}
END_TEST

START_TEST(test_catch_up)
{
	struct db *db = topen();
	int64_t u, v, x, r1, r2, r3, want[6], id;
	json_t *j;
	size_t n = 0;
	int i, more;

	u = tuser(db, "user");
	v = tuser(db, "other");
	x = tuser(db, "lonely");
	r1 = troom(db, "r1", u, NULL, 0, 1000);
	r2 = troom(db, "r2", v, &u, 1, 1000);
	r3 = troom(db, "r3", v, NULL, 0, 1000);
	for (i = 0; i < 3; i++) {
		want[n++] = tmsg(db, r1, u, "1", 2000);
		tmsg(db, r3, v, "3", 2000);
		want[n++] = tmsg(db, r2, v, "2", 2000);
	}
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, 0, INT64_MAX, 100, &j, &more),
	    CHAT_OK);
	tids(j, want, 6);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, 0, INT64_MAX, 2, &j, &more),
	    CHAT_OK);
	tids(j, want, 2);
	ck_assert_int_eq(more, 1);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, 0, INT64_MAX, 6, &j, &more),
	    CHAT_OK);
	tids(j, want, 6);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, want[2], INT64_MAX, 2, &j, &more),
	    CHAT_OK);
	tids(j, want + 3, 2);
	ck_assert_int_eq(more, 1);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, want[5], INT64_MAX, 2, &j, &more),
	    CHAT_OK);
	tids(j, NULL, 0);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, x, 0, INT64_MAX, 10, &j, &more),
	    CHAT_OK);
	tids(j, NULL, 0);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	ck_assert_int_eq(db_msg_last_id(db, &id), CHAT_OK);
	ck_assert_int_eq(id, want[5]);
	db_free(db);
}
END_TEST

/*
 * Catch-up bounded by the push cursor: only the rooms of the user, ids in
 * (after, upto], and "more" only for rows at or below "upto".
 */
START_TEST(test_catch_up_between)
{
	struct db *db = topen();
	int64_t u, v, x, r1, r2, r3, want[6], other[3];
	json_t *j;
	size_t n = 0;
	int i, more;

	u = tuser(db, "user");
	v = tuser(db, "other");
	x = tuser(db, "lonely");
	r1 = troom(db, "r1", u, NULL, 0, 1000);
	r2 = troom(db, "r2", v, &u, 1, 1000);
	r3 = troom(db, "r3", v, NULL, 0, 1000);
	for (i = 0; i < 3; i++) {
		want[n++] = tmsg(db, r1, u, "1", 2000);
		other[i] = tmsg(db, r3, v, "3", 2000);
		want[n++] = tmsg(db, r2, v, "2", 2000);
	}

	/* With no upper bound, every message of the user's rooms. */
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, 0, INT64_MAX, 100, &j, &more),
	    CHAT_OK);
	tids(j, want, 6);
	ck_assert_int_eq(more, 0);
	json_decref(j);

	/* "upto" is inclusive, and rows above it are not "more". */
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, 0, want[3], 100, &j, &more),
	    CHAT_OK);
	tids(j, want, 4);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	/* A bound on another room's message keeps the user's rows below. */
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, 0, other[1], 100, &j, &more),
	    CHAT_OK);
	tids(j, want, 3);
	ck_assert_int_eq(more, 0);
	json_decref(j);

	/* Paging inside the bound. */
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, 0, want[3], 2, &j, &more), CHAT_OK);
	tids(j, want, 2);
	ck_assert_int_eq(more, 1);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, want[1], want[3], 2, &j, &more),
	    CHAT_OK);
	tids(j, want + 2, 2);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, want[0], want[4], 3, &j, &more),
	    CHAT_OK);
	tids(j, want + 1, 3);
	ck_assert_int_eq(more, 1);
	json_decref(j);

	/* Empty windows, a user without rooms, a bad limit. */
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, want[3], want[3], 10, &j, &more),
	    CHAT_OK);
	tids(j, NULL, 0);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, want[4], want[2], 10, &j, &more),
	    CHAT_OK);
	tids(j, NULL, 0);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, 0, 0, 10, &j, &more), CHAT_OK);
	tids(j, NULL, 0);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, x, 0, INT64_MAX, 10, &j, &more),
	    CHAT_OK);
	tids(j, NULL, 0);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	j = NULL;
	more = -1;
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, 0, want[5], 0, &j, &more),
	    CHAT_ERR_INVALID);
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, 0, want[5], -1, &j, &more),
	    CHAT_ERR_INVALID);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(more, -1);
	db_free(db);
}
END_TEST

/*
 * The push daemon's cursor read: every room, whether or not anyone reads
 * it, in id order; another connection sees only committed messages.
 */
START_TEST(test_msgs_after)
{
	struct db *db = topen(), *db2;
	int64_t a, b, r1, r2, ids[7], last;
	json_t *j;
	int i, more;

	ck_assert_int_eq(db_msgs_after(db, 0, 10, &j, &more), CHAT_OK);
	tids(j, NULL, 0);
	ck_assert_int_eq(more, 0);
	json_decref(j);

	a = tuser(db, "alice");
	b = tuser(db, "bob");
	r1 = troom(db, "r1", a, NULL, 0, 1000);
	r2 = troom(db, "r2", b, NULL, 0, 1000);
	for (i = 0; i < 6; i++)
		ids[i] =
		    tmsg(db, i % 2 ? r2 : r1, i % 2 ? b : a, "m", 2000 + i);

	ck_assert_int_eq(db_msgs_after(db, 0, 100, &j, &more), CHAT_OK);
	tids(j, ids, 6);
	ck_assert_int_eq(more, 0);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(
		    jid(json_array_get(j, i), "room_id"), i % 2 ? r2 : r1);
	ck_assert_str_eq(
	    jstr(json_array_get(j, 1), "sender"), "bob@example.com");
	json_decref(j);

	/* Batches of 4 then the rest, as the daemon moves its cursor. */
	ck_assert_int_eq(db_msgs_after(db, 0, 4, &j, &more), CHAT_OK);
	tids(j, ids, 4);
	ck_assert_int_eq(more, 1);
	last = jid(json_array_get(j, 3), "id");
	json_decref(j);
	ck_assert_int_eq(db_msgs_after(db, last, 4, &j, &more), CHAT_OK);
	tids(j, ids + 4, 2);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	ck_assert_int_eq(db_msgs_after(db, ids[3], 2, &j, &more), CHAT_OK);
	tids(j, ids + 4, 2);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	ck_assert_int_eq(db_msgs_after(db, ids[5], 4, &j, &more), CHAT_OK);
	tids(j, NULL, 0);
	ck_assert_int_eq(more, 0);
	json_decref(j);

	/* Another process sees a message once its transaction commits. */
	db2 = topen();
	ck_assert_int_eq(db_begin(db), CHAT_OK);
	ids[6] = tmsg(db, r1, a, "late", 3000);
	ck_assert_int_eq(db_msgs_after(db2, ids[5], 4, &j, &more), CHAT_OK);
	tids(j, NULL, 0);
	json_decref(j);
	ck_assert_int_eq(db_commit(db), CHAT_OK);
	ck_assert_int_eq(db_msgs_after(db2, ids[5], 4, &j, &more), CHAT_OK);
	tids(j, ids + 6, 1);
	ck_assert_str_eq(jstr(json_array_get(j, 0), "content"), "late");
	ck_assert_int_eq(more, 0);
	json_decref(j);
	db_free(db2);

	j = NULL;
	more = -1;
	ck_assert_int_eq(db_msgs_after(db, 0, 0, &j, &more), CHAT_ERR_INVALID);
	ck_assert_int_eq(db_msgs_after(db, 0, -5, &j, &more), CHAT_ERR_INVALID);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(more, -1);
	db_free(db);
}
END_TEST

START_TEST(test_media)
{
	struct db *db = topen();
	int64_t a = tuser(db, "alice");

	ck_assert_int_eq(db_media_insert(db, "ab12.png", a, 10, "image/png",
	                     "cat.png", 1000),
	    CHAT_OK);
	ck_assert_int_eq(
	    db_media_insert(db, "ab12.png", a, 10, "image/png", NULL, 1000),
	    CHAT_ERR_EXISTS);
	ck_assert_int_eq(db_media_exists(db, "ab12.png"), CHAT_OK);
	ck_assert_int_eq(db_media_exists(db, "ab12.PNG"), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(db_media_exists(db, "%"), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(db_in_txn(db), 0);
	db_free(db);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("db_msg");
	TCase *tc = tcase_create("core");

	log_init("test-db_msg", 1, 0);
	tcase_add_checked_fixture(tc, tsetup, tteardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_msg_insert);
	tcase_add_test(tc, test_pagination);
	tcase_add_test(tc, test_msgs_text);
	tcase_add_test(tc, test_catch_up);
	tcase_add_test(tc, test_catch_up_between);
	tcase_add_test(tc, test_msgs_after);
	tcase_add_test(tc, test_media);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
