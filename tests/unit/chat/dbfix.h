/* SPDX-License-Identifier: ISC */
/*
 * Shared fixture of the tests/unit/test-db*.c programs, one per lib/chat/db*.c
 * file: a fresh database file in its own mkdtemp directory per test, raw
 * SQLite reads behind the library, and helpers that add users, rooms and
 * messages or read ids from the JSON the library builds. Header-only, as
 * each test program is linked with libchat.a and libcommon.a alone.
 */
#ifndef DBFIX_H
#define DBFIX_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "chat/chat.h"
#include "chat/db.h"

#define BUSY_MS    10000
#define TROOMS_MAX 1000 /* rooms_per_user_max where it is not tested */

static char tdir[256];
static char tpath[300];

/* Fixture: a new empty directory for the database of one test. */
static inline void
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
static inline void
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

static inline struct db *
topen(void)
{
	struct db *db = db_open(tpath, BUSY_MS);

	ck_assert_ptr_nonnull(db);
	return db;
}

/* A second, raw connection to the test database, to look behind db.c. */
static inline sqlite3 *
traw(void)
{
	sqlite3 *h = NULL;

	ck_assert_int_eq(sqlite3_open(tpath, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, BUSY_MS);
	return h;
}

/* The integer answer of the one-value query "sql" on a raw connection. */
static inline int64_t
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
static inline void
traw_exec(const char *sql)
{
	sqlite3 *h = traw();

	ck_assert_int_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

/* Insert user "name" with e-mail "<name>@example.com"; returns the id. */
static inline int64_t
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

/*
 * Rename user "from" to "to" as chat-admin does, asserting the result
 * "want" and that a refused rename reports no id; returns the id.
 */
static inline int64_t
trename(struct db *db, const char *from, const char *to, enum chat_err want)
{
	int64_t id = 0;

	ck_assert_int_eq(db_user_rename(db, from, to, &id), want);
	if (want != CHAT_OK)
		ck_assert_int_eq(id, 0);
	return id;
}

/* Insert a message without client id at "now"; returns its id. */
static inline int64_t
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
static inline int64_t
troom(struct db *db, const char *name, int64_t creator, const int64_t *members,
    size_t n, int64_t now)
{
	int64_t id = 0;

	ck_assert_int_eq(db_room_create(db, name, 0, creator, members, n,
	                     TROOMS_MAX, now, &id, NULL),
	    CHAT_OK);
	return id;
}

/* The JSON string member "k" of "o", which must exist. */
static inline const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	ck_assert_msg(s != NULL, "missing string \"%s\"", k);
	return s;
}

/* The id member "k" of "o": a JSON string of decimal digits. */
static inline int64_t
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
static inline void
tids(const json_t *a, const int64_t *want, size_t n)
{
	size_t i;

	ck_assert(json_is_array(a));
	ck_assert_uint_eq(json_array_size(a), n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(jid(json_array_get(a, i), "id"), want[i]);
}

#endif /* DBFIX_H */
