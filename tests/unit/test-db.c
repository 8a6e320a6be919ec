/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/db.c and its query files, each on a fresh database file
 * in its own mkdtemp directory: schema and migration, users, rooms and
 * private pairs, messages with idempotent client ids, pagination, catch-up
 * and the push daemon's cursor reads, the token bucket, SQL metacharacters
 * stored literally (TESTING.md 4.2 item 5), and 8 processes writing the
 * same file at once (TESTING.md 4.4 item 4).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "chat.h"
#include "db.h"
#include "log.h"

#define BUSY_MS 10000

static char tdir[256];
static char tpath[300];

/* Fixture: a new empty directory for the database of one test. */
static void
tsetup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(tdir, sizeof(tdir), "%s/test-db.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	snprintf(tpath, sizeof(tpath), "%s/chat.db", tdir);
}

/*
 * Remove the database, its WAL and shared-memory files and the folder.
 * Check skips this after a failed test, which leaves the folder for study.
 */
static void
tteardown(void)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char p[320];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", tpath, sfx[i]);
		unlink(p);
	}
	rmdir(tdir);
}

static struct db *
topen(void)
{
	struct db *db = db_open(tpath, BUSY_MS);

	ck_assert_ptr_nonnull(db);
	return db;
}

/* A second, raw connection to the test database, to look behind db.c. */
static sqlite3 *
traw(void)
{
	sqlite3 *h = NULL;

	ck_assert_int_eq(sqlite3_open(tpath, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, BUSY_MS);
	return h;
}

/* The integer answer of the one-value query "sql" on a raw connection. */
static int64_t
traw_int(const char *sql)
{
	sqlite3 *h = traw();
	sqlite3_stmt *st = NULL;
	int64_t v;

	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* Run "sql" on a raw connection. */
static void
traw_exec(const char *sql)
{
	sqlite3 *h = traw();

	ck_assert_int_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

/* The whole schema text, for before/after comparisons; caller frees. */
static char *
tschema(void)
{
	sqlite3 *h = traw();
	sqlite3_stmt *st = NULL;
	const unsigned char *s;
	char *r;

	ck_assert_int_eq(
	    sqlite3_prepare_v2(h,
	        "SELECT group_concat(type || ' ' || name || ' ' || "
	        "ifnull(sql, ''), char(10)) FROM "
	        "(SELECT * FROM sqlite_master ORDER BY name)",
	        -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	s = sqlite3_column_text(st, 0);
	ck_assert_ptr_nonnull(s);
	r = strdup((const char *)s);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return r;
}

/* Insert user "name" with e-mail "<name>@example.com"; returns the id. */
static int64_t
tuser(struct db *db, const char *name)
{
	char email[128];
	int64_t id = 0;

	snprintf(email, sizeof(email), "%s@example.com", name);
	ck_assert_int_eq(
	    db_user_insert(db, name, email, NULL, "$hash$", 1000, &id),
	    CHAT_OK);
	ck_assert_int_gt(id, 0);
	return id;
}

/* Insert a message without client id at "now"; returns its id. */
static int64_t
tmsg(struct db *db, int64_t room, int64_t sender, const char *text, int64_t now)
{
	int64_t id = 0;
	int created = -1;

	ck_assert_int_eq(db_msg_insert(db, room, sender, text, NULL, NULL, now,
	                     &id, &created),
	    CHAT_OK);
	ck_assert_int_eq(created, 1);
	return id;
}

/* Create a group room of "creator" and "members"; returns its id. */
static int64_t
troom(struct db *db, const char *name, int64_t creator, const int64_t *members,
    size_t n, int64_t now)
{
	int64_t id = 0;

	ck_assert_int_eq(
	    db_room_create(db, name, 0, creator, members, n, now, &id),
	    CHAT_OK);
	return id;
}

/* The JSON string member "k" of "o", which must exist. */
static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	ck_assert_msg(s != NULL, "missing string \"%s\"", k);
	return s;
}

/* The id member "k" of "o": a JSON string of decimal digits. */
static int64_t
jid(const json_t *o, const char *k)
{
	const char *s = jstr(o, k);
	char *end;
	int64_t v = strtoll(s, &end, 10);

	ck_assert_msg(
	    *s != '\0' && *end == '\0', "id \"%s\" is not decimal", s);
	return v;
}

/* Assert that message array "a" holds exactly the ids "want", in order. */
static void
tids(const json_t *a, const int64_t *want, size_t n)
{
	size_t i;

	ck_assert(json_is_array(a));
	ck_assert_uint_eq(json_array_size(a), n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(jid(json_array_get(a, i), "id"), want[i]);
}

START_TEST(test_schema_version)
{
	struct db *db = topen();

	ck_assert_int_eq(traw_int("PRAGMA user_version"), DB_SCHEMA_VERSION);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM sqlite_master WHERE "
	                          "type = 'table' AND name IN ('users', "
	                          "'rooms', 'members', 'messages', 'media', "
	                          "'ratelimit')"),
	    6);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM sqlite_master WHERE "
	                          "type = 'index' AND name IN ('members_user', "
	                          "'messages_room')"),
	    2);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM pragma_journal_mode "
	                          "WHERE journal_mode = 'wal'"),
	    1);
	ck_assert_int_eq(db_in_txn(db), 0);
	db_free(db);
}
END_TEST

START_TEST(test_reopen)
{
	struct db *db = topen();
	struct db_user u;
	char *s1, *s2;
	int64_t id;

	id = tuser(db, "alice");
	db_free(db);
	s1 = tschema();
	db = topen();
	db_free(db);
	db = topen();
	s2 = tschema();
	ck_assert_str_eq(s1, s2);
	ck_assert_int_eq(traw_int("PRAGMA user_version"), DB_SCHEMA_VERSION);
	ck_assert_int_eq(db_user_by_login(db, "alice", &u), CHAT_OK);
	ck_assert_int_eq(u.id, id);
	db_user_finish(&u);
	db_free(db);
	free(s1);
	free(s2);
}
END_TEST

START_TEST(test_refuse_newer)
{
	db_free(topen());
	traw_exec("PRAGMA user_version = 2");
	ck_assert_ptr_null(db_open(tpath, BUSY_MS));
	ck_assert_int_eq(traw_int("PRAGMA user_version"), 2);
}
END_TEST

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
	    db_room_create(db, "ab", 1, a, &b, 1, 4000, &p), CHAT_OK);
	p2 = -1;
	ck_assert_int_eq(
	    db_room_create(db, "ba", 1, b, &a, 1, 5000, &p2), CHAT_ERR_EXISTS);
	ck_assert_int_eq(p2, p);
	mem[0] = b;
	mem[1] = a;
	mem[2] = b;
	p2 = -1;
	ck_assert_int_eq(
	    db_room_create(db, "ab", 1, a, mem, 3, 5000, &p2), CHAT_ERR_EXISTS);
	ck_assert_int_eq(p2, p);
	ck_assert_int_eq(db_room_private_find(db, b, a, &p2), CHAT_OK);
	ck_assert_int_eq(p2, p);
	ck_assert_int_eq(
	    db_room_private_find(db, a, c, &p2), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(db_room_create(db, "x", 1, a, NULL, 0, 5000, &p2),
	    CHAT_ERR_INVALID);
	ck_assert_int_eq(
	    db_room_create(db, "x", 1, a, &a, 1, 5000, &p2), CHAT_ERR_INVALID);
	mem[0] = b;
	mem[1] = c;
	ck_assert_int_eq(
	    db_room_create(db, "x", 1, a, mem, 2, 5000, &p2), CHAT_ERR_INVALID);
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
	    db_msgs_for_user_after(db, u, 0, 100, &j, &more), CHAT_OK);
	tids(j, want, 6);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_after(db, u, 0, 2, &j, &more), CHAT_OK);
	tids(j, want, 2);
	ck_assert_int_eq(more, 1);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_after(db, u, 0, 6, &j, &more), CHAT_OK);
	tids(j, want, 6);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_after(db, u, want[2], 2, &j, &more), CHAT_OK);
	tids(j, want + 3, 2);
	ck_assert_int_eq(more, 1);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_after(db, u, want[5], 2, &j, &more), CHAT_OK);
	tids(j, NULL, 0);
	ck_assert_int_eq(more, 0);
	json_decref(j);
	ck_assert_int_eq(
	    db_msgs_for_user_after(db, x, 0, 10, &j, &more), CHAT_OK);
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
	json_t *j, *k;
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

	/* With no upper bound it is db_msgs_for_user_after(). */
	ck_assert_int_eq(
	    db_msgs_for_user_between(db, u, 0, INT64_MAX, 100, &j, &more),
	    CHAT_OK);
	tids(j, want, 6);
	ck_assert_int_eq(more, 0);
	ck_assert_int_eq(
	    db_msgs_for_user_after(db, u, 0, 100, &k, &more), CHAT_OK);
	ck_assert(json_equal(j, k));
	json_decref(j);
	json_decref(k);

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
	    db_room_create(db, "", 1, a, &b, 1, 2000, &p), CHAT_OK);
	ck_assert_int_gt(p, r2);
	ck_assert_int_eq(db_room_last_id(db, &id), CHAT_OK);
	ck_assert_int_eq(id, p);

	/* Refused rooms, a rolled-back room and messages change nothing. */
	ck_assert_int_eq(
	    db_room_create(db, "", 1, b, &a, 1, 3000, &p2), CHAT_ERR_EXISTS);
	ck_assert_int_eq(
	    db_room_create(db, "", 1, a, NULL, 0, 3000, &p2), CHAT_ERR_INVALID);
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

START_TEST(test_private_chats)
{
	struct db *db = topen();
	int64_t a, b, c, d, pab, pac, pad, *others, m;
	char when[CHAT_TIME_LEN];
	json_t *j, *it, *ou;
	size_t n;

	a = tuser(db, "alice");
	b = tuser(db, "bob");
	c = tuser(db, "carol");
	d = tuser(db, "dave");
	ck_assert_int_eq(
	    db_room_create(db, "", 1, a, &b, 1, 1000, &pab), CHAT_OK);
	ck_assert_int_eq(
	    db_room_create(db, "", 1, c, &a, 1, 2000, &pac), CHAT_OK);
	ck_assert_int_eq(
	    db_room_create(db, "", 1, a, &d, 1, 3000, &pad), CHAT_OK);
	troom(db, "group", a, &b, 1, 3500);
	m = tmsg(db, pab, b, "latest", 4000);
	ck_assert_int_eq(db_user_set_last_seen(db, c, 5000), CHAT_OK);

	ck_assert_int_eq(
	    db_private_chats_json(db, a, &j, &others, &n), CHAT_OK);
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

	ck_assert_int_eq(
	    db_private_chats_json(db, b, &j, &others, &n), CHAT_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(others[0], a);
	ck_assert_str_eq(jstr(json_array_get(j, 0), "other_user_email"),
	    "alice@example.com");
	json_decref(j);
	free(others);
	db_free(db);
}
END_TEST

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

START_TEST(test_transactions)
{
	struct db *db = topen();
	struct db_user u;
	int64_t a, b, r, id;
	int created;
	double ra;

	ck_assert_int_eq(db_commit(db), CHAT_ERR_DB);
	/* Nested levels and a rollback of the whole. */
	ck_assert_int_eq(db_begin(db), CHAT_OK);
	ck_assert_int_eq(db_begin(db), CHAT_OK);
	ck_assert_int_eq(db_in_txn(db), 1);
	a = tuser(db, "alice");
	ck_assert_int_eq(db_commit(db), CHAT_OK);
	ck_assert_int_eq(db_in_txn(db), 1);
	db_rollback(db);
	ck_assert_int_eq(db_in_txn(db), 0);
	ck_assert_int_eq(db_user_by_id(db, a, &u), CHAT_ERR_NOTFOUND);

	/* Writers join the caller's transaction; refusals do not abort it. */
	ck_assert_int_eq(db_begin(db), CHAT_OK);
	a = tuser(db, "alice");
	ck_assert_int_eq(db_user_insert(db, "x", "ALICE@example.com", NULL,
	                     "$h$", 1000, &id),
	    CHAT_ERR_EMAIL_TAKEN);
	ck_assert_int_eq(
	    db_rate_take(db, "k", 0, 1, 1, 1000, &ra), CHAT_ERR_RATE);
	b = tuser(db, "bob");
	r = troom(db, "r", a, &b, 1, 1000);
	tmsg(db, r, a, "m", 1000);
	ck_assert_int_eq(db_in_txn(db), 1);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM users"), 0);
	ck_assert_int_eq(db_commit(db), CHAT_OK);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM users"), 2);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM members"), 2);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM messages"), 1);

	/* A failure inside rolls everything back and fails the outer level. */
	ck_assert_int_eq(db_begin(db), CHAT_OK);
	tuser(db, "carol");
	ck_assert_int_eq(
	    db_msg_insert(db, r + 100, a, "x", NULL, NULL, 1000, &id, &created),
	    CHAT_ERR_DB);
	ck_assert_int_eq(db_in_txn(db), 1);
	ck_assert_int_eq(db_begin(db), CHAT_ERR_DB);
	ck_assert_int_eq(db_commit(db), CHAT_ERR_DB);
	ck_assert_int_eq(db_in_txn(db), 0);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM users"), 2);
	ck_assert_int_eq(db_begin(db), CHAT_OK);
	ck_assert_int_eq(db_commit(db), CHAT_OK);
	db_free(db);
}
END_TEST

START_TEST(test_busy)
{
	struct db *db = db_open(tpath, 100);
	sqlite3 *h;
	int64_t a, r, id;
	int created;

	ck_assert_ptr_nonnull(db);
	a = tuser(db, "alice");
	r = troom(db, "r", a, NULL, 0, 1000);
	h = traw();
	sqlite3_busy_timeout(h, 0);
	ck_assert_int_eq(
	    sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(
	    db_msg_insert(db, r, a, "x", NULL, NULL, 1000, &id, &created),
	    CHAT_ERR_BUSY);
	ck_assert_int_eq(db_in_txn(db), 0);
	ck_assert_int_eq(
	    sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	tmsg(db, r, a, "x", 1000);
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

/* TESTING.md 4.2 item 5: every string is stored and found literally. */
START_TEST(test_sql_metachars)
{
	static const char *const evil[] = {
	    "' OR '1'='1",
	    "1; DROP TABLE users;--",
	    "%",
	    "_",
	    "\\",
	    "\"",
	    "\xe2\x80\x99",
	    "'); DELETE FROM messages; --",
	};
	const size_t nevil = sizeof(evil) / sizeof(evil[0]);
	struct db *db = topen();
	struct db_user u;
	int64_t plain, ids[8], room, mid, id2;
	char email[64], *before, *after;
	json_t *j, *m;
	double ra;
	int created;
	size_t i;

	plain = tuser(db, "plain");
	before = tschema();
	for (i = 0; i < nevil; i++)
		ck_assert_int_eq(
		    db_user_by_login(db, evil[i], &u), CHAT_ERR_NOTFOUND);
	for (i = 0; i < nevil; i++) {
		snprintf(email, sizeof(email), "u%zu@example.com", i);
		ck_assert_int_eq(db_user_insert(db, evil[i], email, evil[i],
		                     evil[i], 1000, &ids[i]),
		    CHAT_OK);
	}
	for (i = 0; i < nevil; i++) {
		ck_assert_int_eq(db_user_by_login(db, evil[i], &u), CHAT_OK);
		ck_assert_int_eq(u.id, ids[i]);
		ck_assert_str_eq(u.username, evil[i]);
		ck_assert_str_eq(u.full_name, evil[i]);
		ck_assert_str_eq(u.pass_hash, evil[i]);
		db_user_finish(&u);

		room = troom(db, evil[i], ids[i], &plain, 1, 1000);
		ck_assert_int_eq(db_msg_insert(db, room, ids[i], evil[i],
		                     evil[i], evil[i], 1000, &mid, &created),
		    CHAT_OK);
		ck_assert_int_eq(db_msg_insert(db, room, ids[i], "dup", NULL,
		                     evil[i], 1000, &id2, &created),
		    CHAT_OK);
		ck_assert_int_eq(created, 0);
		ck_assert_int_eq(id2, mid);
		ck_assert_int_eq(db_room_json(db, room, 10, &j), CHAT_OK);
		ck_assert_str_eq(jstr(j, "name"), evil[i]);
		ck_assert_uint_eq(
		    json_array_size(json_object_get(j, "messages")), 1);
		m = json_array_get(json_object_get(j, "messages"), 0);
		ck_assert_str_eq(jstr(m, "content"), evil[i]);
		ck_assert_str_eq(jstr(m, "media_url"), evil[i]);
		ck_assert_str_eq(jstr(m, "client_id"), evil[i]);
		ck_assert_str_eq(jstr(m, "sender_username"), evil[i]);
		json_decref(j);
		ck_assert_int_eq(db_media_insert(db, evil[i], ids[i], 1,
		                     evil[i], evil[i], 1000),
		    CHAT_OK);
		ck_assert_int_eq(db_media_exists(db, evil[i]), CHAT_OK);
		ck_assert_int_eq(
		    db_rate_take(db, evil[i], 1, 1, 1, 1000, &ra), CHAT_OK);
	}
	after = tschema();
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM users"), nevil + 1);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM messages"), nevil);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM media"), nevil);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM ratelimit"), nevil);
	ck_assert_int_eq(db_media_exists(db, "x%"), CHAT_ERR_NOTFOUND);
	free(before);
	free(after);
	db_free(db);
}
END_TEST

#define NPROC 8
#define NMSG  100

/*
 * One writer process of test_concurrency: its own handle, NMSG
 * transactions that each read then write a shared token bucket and insert
 * a message with a distinct client id, as chat_msg_post() does. Exits 0
 * when every transaction committed and ids grew.
 */
static void
twriter(int k, int64_t room, int64_t user)
{
	struct db *db = db_open(tpath, BUSY_MS);
	int64_t id, prev = 0;
	double ra;
	char cid[32];
	int i, created, bad = 0;

	if (db == NULL)
		_exit(2);
	for (i = 0; i < NMSG; i++) {
		snprintf(cid, sizeof(cid), "p%d-%d", k, i);
		if (db_begin(db) != CHAT_OK) {
			bad++;
			continue;
		}
		if (db_rate_take(db, "shared", NPROC * NMSG, 1, 1, 1000, &ra) !=
		        CHAT_OK ||
		    db_msg_insert(db, room, user, "load", NULL, cid, 1000 + i,
		        &id, &created) != CHAT_OK ||
		    !created || id <= prev) {
			db_rollback(db);
			bad++;
			continue;
		}
		if (db_commit(db) != CHAT_OK)
			bad++;
		prev = id;
	}
	db_free(db);
	_exit(bad == 0 ? 0 : 1);
}

/*
 * TESTING.md 4.4 item 4: 8 processes x 100 read-then-write transactions on
 * one file; none may fail with SQLITE_BUSY and no update may be lost.
 */
START_TEST(test_concurrency)
{
	struct db *db = topen();
	int64_t a, room, b[NPROC];
	pid_t pid[NPROC];
	char name[16];
	int k, status;

	a = tuser(db, "owner");
	for (k = 0; k < NPROC; k++) {
		snprintf(name, sizeof(name), "w%d", k);
		b[k] = tuser(db, name);
	}
	room = troom(db, "load", a, b, NPROC, 1000);
	db_free(db);
	for (k = 0; k < NPROC; k++) {
		pid[k] = fork();
		ck_assert_int_ne(pid[k], -1);
		if (pid[k] == 0)
			twriter(k, room, b[k]);
	}
	for (k = 0; k < NPROC; k++) {
		ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	ck_assert_int_eq(
	    traw_int("SELECT count(*) FROM messages"), NPROC * NMSG);
	ck_assert_int_eq(traw_int("SELECT count(DISTINCT client_id) FROM "
	                          "messages"),
	    NPROC * NMSG);
	/* No lost update of the shared bucket: every take counted. */
	ck_assert_int_eq(traw_int("SELECT tokens FROM ratelimit WHERE "
	                          "key = 'shared'"),
	    0);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM pragma_integrity_check "
	                          "WHERE integrity_check = 'ok'"),
	    1);
}
END_TEST

/*
 * Workers started together on a new file: every one opens it, and the
 * schema is created once (BEGIN IMMEDIATE around the migration).
 */
START_TEST(test_open_race)
{
	pid_t pid[NPROC];
	struct db *db;
	int k, status;

	for (k = 0; k < NPROC; k++) {
		pid[k] = fork();
		ck_assert_int_ne(pid[k], -1);
		if (pid[k] == 0) {
			db = db_open(tpath, BUSY_MS);
			db_free(db);
			_exit(db != NULL ? 0 : 1);
		}
	}
	for (k = 0; k < NPROC; k++) {
		ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	ck_assert_int_eq(traw_int("PRAGMA user_version"), DB_SCHEMA_VERSION);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM sqlite_master WHERE "
	                          "type = 'table' AND name = 'users'"),
	    1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nfail;

	log_init("test-db", 1, 0);
	tcase_add_checked_fixture(tc, tsetup, tteardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_schema_version);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_refuse_newer);
	tcase_add_test(tc, test_user_insert);
	tcase_add_test(tc, test_login);
	tcase_add_test(tc, test_room_create);
	tcase_add_test(tc, test_membership);
	tcase_add_test(tc, test_msg_insert);
	tcase_add_test(tc, test_pagination);
	tcase_add_test(tc, test_catch_up);
	tcase_add_test(tc, test_catch_up_between);
	tcase_add_test(tc, test_msgs_after);
	tcase_add_test(tc, test_room_last_id);
	tcase_add_test(tc, test_private_chats);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_transactions);
	tcase_add_test(tc, test_busy);
	tcase_add_test(tc, test_media);
	tcase_add_test(tc, test_sql_metachars);
	tcase_add_test(tc, test_concurrency);
	tcase_add_test(tc, test_open_race);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
