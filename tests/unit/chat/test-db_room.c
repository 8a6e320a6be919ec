/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/chat/db_room.c, each on a fresh database file set up by
 * tests/unit/chat/dbfix.h. They cover group rooms and private pairs folded to
 * one room, the bound on rooms per user, membership tests and id lists,
 * the highest room id, and the room and private-chat objects of docs/api.md.
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

START_TEST(test_room_create)
{
	struct db *db = topen();
	int64_t a, b, c, r, r1, p, p2, *ids;
	int64_t mem[4];
	json_t *j, *l;
	char when[CHAT_TIME_LEN];
	size_t n;

	a = tuser(db, "alice");
	b = tuser(db, "bob");
	c = tuser(db, "carol");
	mem[0] = c;
	mem[1] = b;
	mem[2] = c;
	mem[3] = a;
	r = troom(db, "team", a, mem, 4, 2000);
	ck_assert_int_eq(db_room_members(db, r, &ids, &n), CHAT_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(ids[0], a);
	ck_assert_int_eq(ids[1], b);
	ck_assert_int_eq(ids[2], c);
	free(ids);

	ck_assert_int_eq(db_room_json(db, r, 0, &j), CHAT_OK);
	ck_assert_int_eq(jid(j, "id"), r);
	ck_assert_str_eq(jstr(j, "name"), "team");
	ck_assert(json_is_false(json_object_get(j, "is_private")));
	ck_assert_str_eq(jstr(j, "created_at"), chat_time_fmt(2000, when));
	l = json_object_get(j, "members");
	ck_assert_uint_eq(json_array_size(l), 3);
	ck_assert_str_eq(
	    json_string_value(json_array_get(l, 0)), "alice@example.com");
	ck_assert_str_eq(
	    json_string_value(json_array_get(l, 1)), "bob@example.com");
	ck_assert_str_eq(
	    json_string_value(json_array_get(l, 2)), "carol@example.com");
	ck_assert_ptr_null(json_object_get(j, "messages"));
	json_decref(j);
	ck_assert_int_eq(db_room_json(db, r, 50, &j), CHAT_OK);
	ck_assert(json_is_array(json_object_get(j, "messages")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "messages")), 0);
	json_decref(j);
	ck_assert_int_eq(db_room_json(db, r + 100, 0, &j), CHAT_ERR_NOTFOUND);

	r1 = troom(db, "alone", b, NULL, 0, 3000);
	ck_assert_int_eq(db_room_members(db, r1, &ids, &n), CHAT_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ids[0], b);
	free(ids);
	ck_assert_int_eq(db_rooms_json(db, b, &j), CHAT_OK);
	ck_assert_uint_eq(json_array_size(j), 2);
	ck_assert_int_eq(jid(json_array_get(j, 0), "id"), r1);
	ck_assert_int_eq(jid(json_array_get(j, 1), "id"), r);
	ck_assert_ptr_null(json_object_get(json_array_get(j, 0), "messages"));
	json_decref(j);
	ck_assert_int_eq(db_rooms_json(db, c, &j), CHAT_OK);
	ck_assert_uint_eq(json_array_size(j), 1);
	json_decref(j);

	/* Private pairs, from both sides. */
	ck_assert_int_eq(
	    db_room_create(db, "ab", 1, a, &b, 1, TROOMS_MAX, 4000, &p, NULL),
	    CHAT_OK);
	p2 = -1;
	ck_assert_int_eq(
	    db_room_create(db, "ba", 1, b, &a, 1, TROOMS_MAX, 5000, &p2, NULL),
	    CHAT_ERR_EXISTS);
	ck_assert_int_eq(p2, p);
	mem[0] = b;
	mem[1] = a;
	mem[2] = b;
	p2 = -1;
	ck_assert_int_eq(
	    db_room_create(db, "ab", 1, a, mem, 3, TROOMS_MAX, 5000, &p2, NULL),
	    CHAT_ERR_EXISTS);
	ck_assert_int_eq(p2, p);
	ck_assert_int_eq(db_room_private_find(db, b, a, &p2), CHAT_OK);
	ck_assert_int_eq(p2, p);
	ck_assert_int_eq(
	    db_room_private_find(db, a, c, &p2), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(
	    db_room_create(db, "x", 1, a, NULL, 0, TROOMS_MAX, 5000, &p2, NULL),
	    CHAT_ERR_INVALID);
	ck_assert_int_eq(
	    db_room_create(db, "x", 1, a, &a, 1, TROOMS_MAX, 5000, &p2, NULL),
	    CHAT_ERR_INVALID);
	mem[0] = b;
	mem[1] = c;
	ck_assert_int_eq(
	    db_room_create(db, "x", 1, a, mem, 2, TROOMS_MAX, 5000, &p2, NULL),
	    CHAT_ERR_INVALID);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM rooms"), 3);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM rooms WHERE "
	                          "is_private = 1 AND pair_lo < pair_hi"),
	    1);
	ck_assert_int_eq(db_room_json(db, p, 0, &j), CHAT_OK);
	ck_assert(json_is_true(json_object_get(j, "is_private")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "members")), 2);
	json_decref(j);
	db_free(db);
}
END_TEST

START_TEST(test_membership)
{
	struct db *db = topen();
	int64_t a, b, c, d, r, r2, *ids;
	size_t n;

	a = tuser(db, "alice");
	b = tuser(db, "bob");
	c = tuser(db, "carol");
	d = tuser(db, "dave");
	r = troom(db, "ab", a, &b, 1, 1000);
	r2 = troom(db, "ac", c, &a, 1, 1000);
	ck_assert_int_eq(db_room_is_member(db, r, a), CHAT_OK);
	ck_assert_int_eq(db_room_is_member(db, r, b), CHAT_OK);
	ck_assert_int_eq(db_room_is_member(db, r, c), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(db_room_is_member(db, r2 + 1, a), CHAT_ERR_NOTFOUND);

	ck_assert_int_eq(db_user_rooms(db, a, &ids, &n), CHAT_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ids[0], r);
	ck_assert_int_eq(ids[1], r2);
	free(ids);
	ck_assert_int_eq(db_user_peers(db, a, &ids, &n), CHAT_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ids[0], b);
	ck_assert_int_eq(ids[1], c);
	free(ids);
	ck_assert_int_eq(db_user_peers(db, b, &ids, &n), CHAT_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ids[0], a);
	free(ids);
	ck_assert_int_eq(db_user_peers(db, d, &ids, &n), CHAT_OK);
	ck_assert_uint_eq(n, 0);
	free(ids);
	db_free(db);
}
END_TEST

/*
 * The highest room id: 0 on a new database, growing with every room that
 * commits (private or not), unchanged by refusals, rollbacks and messages,
 * and the same for another connection.
 */
START_TEST(test_room_last_id)
{
	struct db *db = topen(), *db2;
	int64_t a, b, r1, r2, p, p2, id = -1;

	ck_assert_int_eq(db_room_last_id(db, &id), CHAT_OK);
	ck_assert_int_eq(id, 0);
	a = tuser(db, "alice");
	b = tuser(db, "bob");
	ck_assert_int_eq(db_room_last_id(db, &id), CHAT_OK);
	ck_assert_int_eq(id, 0);

	r1 = troom(db, "r1", a, NULL, 0, 1000);
	ck_assert_int_eq(db_room_last_id(db, &id), CHAT_OK);
	ck_assert_int_eq(id, r1);
	r2 = troom(db, "r2", b, &a, 1, 1000);
	ck_assert_int_gt(r2, r1);
	ck_assert_int_eq(db_room_last_id(db, &id), CHAT_OK);
	ck_assert_int_eq(id, r2);
	ck_assert_int_eq(
	    db_room_create(db, "", 1, a, &b, 1, TROOMS_MAX, 2000, &p, NULL),
	    CHAT_OK);
	ck_assert_int_gt(p, r2);
	ck_assert_int_eq(db_room_last_id(db, &id), CHAT_OK);
	ck_assert_int_eq(id, p);

	/* Refused rooms, a rolled-back room and messages change nothing. */
	ck_assert_int_eq(
	    db_room_create(db, "", 1, b, &a, 1, TROOMS_MAX, 3000, &p2, NULL),
	    CHAT_ERR_EXISTS);
	ck_assert_int_eq(
	    db_room_create(db, "", 1, a, NULL, 0, TROOMS_MAX, 3000, &p2, NULL),
	    CHAT_ERR_INVALID);
	ck_assert_int_eq(db_begin(db), CHAT_OK);
	ck_assert_int_gt(troom(db, "gone", a, NULL, 0, 3000), p);
	db_rollback(db);
	tmsg(db, r1, a, "m", 3000);
	ck_assert_int_eq(db_room_last_id(db, &id), CHAT_OK);
	ck_assert_int_eq(id, p);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM rooms"), 3);

	db2 = topen();
	id = -1;
	ck_assert_int_eq(db_room_last_id(db2, &id), CHAT_OK);
	ck_assert_int_eq(id, p);
	r1 = troom(db2, "new", b, NULL, 0, 4000);
	ck_assert_int_gt(r1, p);
	ck_assert_int_eq(db_room_last_id(db, &id), CHAT_OK);
	ck_assert_int_eq(id, r1);
	/* The highest id, not a count: a gap below leaves it. */
	traw_exec("DELETE FROM members WHERE room_id IN "
	          "(SELECT id FROM rooms WHERE name = 'r2');"
	          "DELETE FROM rooms WHERE name = 'r2'");
	ck_assert_int_eq(db_room_last_id(db2, &id), CHAT_OK);
	ck_assert_int_eq(id, r1);
	db_free(db2);
	db_free(db);
}
END_TEST

/*
 * The private chats of "user" as db_private_chats_text() and
 * db_chats_text_join() write them with "online", parsed. The text must be
 * the very bytes json_dumps() writes back for what it parses to (jansson
 * keeps the key order), and "is_online" must follow "online". "*others"
 * gets a new array of the other users.
 */
static json_t *
chats_json(
    struct db *db, int64_t user, const int *online, int64_t **others, size_t *n)
{
	struct db_chats_text t;
	json_error_t err;
	json_t *j;
	char *got, *back;
	size_t i, len = 0;

	ck_assert_int_eq(db_private_chats_text(db, user, &t), CHAT_OK);
	got = db_chats_text_join(&t, online, &len);
	ck_assert_uint_eq(len, strlen(got));
	j = json_loads(got, JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(j != NULL, "%s: %s", got, err.text);
	back = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(got, back);
	ck_assert_uint_eq(json_array_size(j), t.n);
	for (i = 0; i < t.n; i++)
		ck_assert(json_is_true(json_object_get(json_array_get(j, i),
		              "is_online")) == !!online[i]);
	*n = t.n;
	*others = t.others;
	t.others = NULL;
	db_chats_text_finish(&t);
	db_chats_text_finish(&t); /* twice is harmless */
	free(back);
	free(got);
	return j;
}

/*
 * rooms_per_user_max: a create that would put the creator or a member past
 * it writes nothing and flags who is full, inside an outer transaction
 * too; an existing private pair is still found at the bound.
 */
START_TEST(test_room_limit)
{
	struct db *db = topen();
	int64_t a, b, c, d, g, p, p2, r, id, mem[3];
	unsigned char full[4];
	int nrooms, nmembers;

	a = tuser(db, "alice");
	b = tuser(db, "bob");
	c = tuser(db, "carol");
	d = tuser(db, "dave");
	g = troom(db, "g", a, NULL, 0, 1000);
	ck_assert_int_eq(
	    db_room_create(db, "", 1, a, &b, 1, 2, 2000, &p, NULL), CHAT_OK);
	nrooms = traw_int("SELECT count(*) FROM rooms");
	nmembers = traw_int("SELECT count(*) FROM members");

	/* alice is in 2 rooms: listing her fails, and only she is named. */
	mem[0] = b;
	mem[1] = a;
	mem[2] = d;
	memset(full, 0xff, sizeof(full));
	r = -1;
	ck_assert_int_eq(
	    db_room_create(db, "x", 0, c, mem, 3, 2, 3000, &r, full),
	    CHAT_ERR_LIMIT);
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(full[0], 0);
	ck_assert_int_eq(full[1], 0);
	ck_assert_int_eq(full[2], 1);
	ck_assert_int_eq(full[3], 0);
	/* As the creator, of a group or a new private chat. */
	memset(full, 0xff, sizeof(full));
	ck_assert_int_eq(
	    db_room_create(db, "x", 0, a, &c, 1, 2, 3000, &r, full),
	    CHAT_ERR_LIMIT);
	ck_assert_int_eq(full[0], 1);
	ck_assert_int_eq(full[1], 0);
	ck_assert_int_eq(db_room_create(db, "", 1, a, &c, 1, 2, 3000, &r, NULL),
	    CHAT_ERR_LIMIT);
	/* Inside the caller's transaction: nothing written, it commits. */
	ck_assert_int_eq(db_begin(db), CHAT_OK);
	ck_assert_int_eq(
	    db_room_create(db, "x", 0, d, &a, 1, 2, 3000, &r, NULL),
	    CHAT_ERR_LIMIT);
	ck_assert_int_eq(db_commit(db), CHAT_OK);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM rooms"), nrooms);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM members"), nmembers);
	ck_assert_int_eq(db_room_last_id(db, &id), CHAT_OK);
	ck_assert_int_eq(id, p);

	/* The existing pair is found at the bound, from either side. */
	p2 = -1;
	ck_assert_int_eq(
	    db_room_create(db, "", 1, b, &a, 1, 2, 4000, &p2, NULL),
	    CHAT_ERR_EXISTS);
	ck_assert_int_eq(p2, p);
	p2 = -1;
	ck_assert_int_eq(
	    db_room_create(db, "", 1, a, &b, 1, 2, 4000, &p2, NULL),
	    CHAT_ERR_EXISTS);
	ck_assert_int_eq(p2, p);

	/* bob is at 1 of 2: one more room, then he is full too. */
	mem[0] = c;
	mem[1] = d;
	memset(full, 0xff, sizeof(full));
	ck_assert_int_eq(
	    db_room_create(db, "y", 0, b, mem, 2, 2, 5000, &r, full), CHAT_OK);
	ck_assert_int_gt(r, p);
	ck_assert_int_eq(
	    traw_int("SELECT count(*) FROM members"), nmembers + 3);
	ck_assert_int_eq(
	    db_room_create(db, "z", 0, c, &b, 1, 2, 6000, &r, full),
	    CHAT_ERR_LIMIT);
	ck_assert_int_eq(full[0], 0);
	ck_assert_int_eq(full[1], 1);
	/* A larger bound lets alice in again. */
	ck_assert_int_eq(
	    db_room_create(db, "z", 0, a, &d, 1, 3, 6000, &r, full), CHAT_OK);
	ck_assert_int_eq(db_room_is_member(db, r, a), CHAT_OK);
	ck_assert_int_eq(db_room_is_member(db, g, a), CHAT_OK);
	db_free(db);
}
END_TEST

START_TEST(test_private_chats)
{
	struct db *db = topen();
	static const int offline[4] = {0, 0, 0, 0};
	int64_t a, b, c, d, pab, pac, pad, *others, m;
	char when[CHAT_TIME_LEN];
	json_t *j, *it, *ou;
	size_t n;

	a = tuser(db, "alice");
	b = tuser(db, "bob");
	c = tuser(db, "carol");
	d = tuser(db, "dave");
	ck_assert_int_eq(
	    db_room_create(db, "", 1, a, &b, 1, TROOMS_MAX, 1000, &pab, NULL),
	    CHAT_OK);
	ck_assert_int_eq(
	    db_room_create(db, "", 1, c, &a, 1, TROOMS_MAX, 2000, &pac, NULL),
	    CHAT_OK);
	ck_assert_int_eq(
	    db_room_create(db, "", 1, a, &d, 1, TROOMS_MAX, 3000, &pad, NULL),
	    CHAT_OK);
	troom(db, "group", a, &b, 1, 3500);
	m = tmsg(db, pab, b, "latest", 4000);
	ck_assert_int_eq(db_user_set_last_seen(db, c, 5000), CHAT_OK);

	j = chats_json(db, a, offline, &others, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(json_array_size(j), 3);
	ck_assert_int_eq(others[0], b);
	ck_assert_int_eq(others[1], d);
	ck_assert_int_eq(others[2], c);
	it = json_array_get(j, 0);
	ck_assert_int_eq(jid(it, "id"), pab);
	ck_assert_str_eq(jstr(it, "other_user_email"), "bob@example.com");
	ou = json_object_get(it, "other_user");
	ck_assert_uint_eq(json_object_size(ou), 3);
	ck_assert_int_eq(jid(ou, "id"), b);
	ck_assert_str_eq(jstr(ou, "username"), "bob");
	ck_assert_str_eq(jstr(ou, "email"), "bob@example.com");
	ck_assert(json_is_false(json_object_get(it, "is_online")));
	ck_assert(json_is_null(json_object_get(it, "last_seen")));
	ck_assert_int_eq(jid(json_object_get(it, "last_message"), "id"), m);
	ck_assert_str_eq(
	    jstr(json_object_get(it, "last_message"), "content"), "latest");
	it = json_array_get(j, 1);
	ck_assert_int_eq(jid(it, "id"), pad);
	ck_assert(json_is_null(json_object_get(it, "last_message")));
	it = json_array_get(j, 2);
	ck_assert_int_eq(jid(it, "id"), pac);
	ck_assert_str_eq(jstr(it, "other_user_email"), "carol@example.com");
	ck_assert_str_eq(jstr(it, "last_seen"), chat_time_fmt(5000, when));
	json_decref(j);
	free(others);

	j = chats_json(db, b, offline, &others, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(others[0], a);
	ck_assert_str_eq(jstr(json_array_get(j, 0), "other_user_email"),
	    "alice@example.com");
	json_decref(j);
	free(others);
	db_free(db);
}
END_TEST

/*
 * The text of the private chats with each "is_online" pattern, escaped
 * message text, a media message, times before 1970, and no chat at all.
 */
START_TEST(test_private_chats_text)
{
	static const int none[4] = {0, 0, 0, 0}, some[4] = {1, 0, 1, 0},
	                 all[4] = {1, 1, 1, 1};
	struct db *db = topen();
	struct db_chats_text t = {NULL, 0, NULL, NULL, 0};
	int64_t a, b, c, d, e, pab, pac, pad, id, *others;
	json_t *j, *last;
	int created;
	size_t n;

	a = tuser(db, "alice");
	b = tuser(db, "bob");
	c = tuser(db, "carol");
	d = tuser(db, "dave");
	e = tuser(db, "eve");
	ck_assert_int_eq(
	    db_room_create(db, "", 1, a, &b, 1, TROOMS_MAX, 1000, &pab, NULL),
	    CHAT_OK);
	ck_assert_int_eq(
	    db_room_create(db, "", 1, c, &a, 1, TROOMS_MAX, 2000, &pac, NULL),
	    CHAT_OK);
	ck_assert_int_eq(
	    db_room_create(db, "", 1, a, &d, 1, TROOMS_MAX, 3000, &pad, NULL),
	    CHAT_OK);
	troom(db, "group", a, &b, 1, 3500);
	tmsg(db, pab, b, "first", 4000);
	tmsg(db, pab, a,
	    "q\"b\\s\n\t\x01\x7f caf\xc3\xa9 \xf0\x9f\x98\x80 </script>", 4001);
	ck_assert_int_eq(db_msg_insert(db, pac, c, "", "/media/x.png", "c-1",
	                     1795860909123, &id, &created),
	    CHAT_OK);
	ck_assert_int_eq(db_user_set_last_seen(db, c, 5000), CHAT_OK);
	ck_assert_int_eq(db_user_set_last_seen(db, d, -1), CHAT_OK);

	j = chats_json(db, a, none, &others, &n);
	ck_assert_uint_eq(n, 3);
	last = json_object_get(json_array_get(j, 1), "last_message");
	ck_assert_str_eq(jstr(last, "content"),
	    "q\"b\\s\n\t\x01\x7f caf\xc3\xa9 \xf0\x9f\x98\x80 </script>");
	last = json_object_get(json_array_get(j, 0), "last_message");
	ck_assert_str_eq(jstr(last, "media_url"), "/media/x.png");
	ck_assert_str_eq(jstr(last, "client_id"), "c-1");
	ck_assert_str_eq(jstr(json_array_get(j, 2), "last_seen"),
	    "1969-12-31T23:59:59.999Z");
	json_decref(j);
	free(others);
	json_decref(chats_json(db, a, some, &others, &n));
	free(others);
	json_decref(chats_json(db, a, all, &others, &n));
	free(others);
	json_decref(chats_json(db, c, all, &others, &n));
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(others[0], a);
	free(others);
	j = chats_json(db, e, none, &others, &n); /* no private chat: [] */
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(json_array_size(j), 0);
	json_decref(j);
	free(others);
	/* Text that is not UTF-8 (written behind the library): an error. */
	traw_exec("UPDATE users SET username = CAST(x'ff' AS TEXT) "
	          "WHERE username = 'dave'");
	ck_assert_int_eq(db_private_chats_text(db, a, &t), CHAT_ERR_DB);
	ck_assert_ptr_null(t.s);
	ck_assert_ptr_null(t.others);
	db_free(db);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("db_room");
	TCase *tc = tcase_create("core");

	log_init("test-db_room", 1, 0);
	tcase_add_checked_fixture(tc, tsetup, tteardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_room_create);
	tcase_add_test(tc, test_membership);
	tcase_add_test(tc, test_room_last_id);
	tcase_add_test(tc, test_room_limit);
	tcase_add_test(tc, test_private_chats);
	tcase_add_test(tc, test_private_chats_text);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
