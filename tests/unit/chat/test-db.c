/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/chat/db.c, each on a fresh database file set up by
 * tests/unit/chat/dbfix.h: schema version, reopening, refusing a newer schema,
 * migration from versions 1 and 2 (ids never reused, usernames that clash
 * regardless of case refused until the administrator's handle renames
 * them), nested transactions, SQLITE_BUSY and WAL
 * checkpoints beside a reader. Also the checks that span every
 * query file or many processes: SQL metacharacters stored literally
 * (docs/testing.md 4.2 item 5), 8 processes writing the same file at once
 * (docs/testing.md 4.4 item 4) and 8 workers opening a new file together.
 * db_int.h only to read one pragma of a handle's own connection.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "chat/db_int.h"
#include "common/log.h"
#include "dbfix.h"
#include "unit.h"

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

/* The cache_size pragma of the handle's own connection (KiB when < 0). */
static int64_t
tcache_size(struct db *db)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	ck_assert_int_eq(
	    sqlite3_prepare_v2(db->h, "PRAGMA cache_size", -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* db_cache_grow() raises only its own handle's cache to DB_CACHE_KIB. */
START_TEST(test_cache_grow)
{
	struct db *db = topen(), *other = topen();

	ck_assert_int_eq(tcache_size(db), -2000);
	ck_assert_int_eq(db_cache_grow(db), 0);
	ck_assert_int_eq(tcache_size(db), -DB_CACHE_KIB);
	ck_assert_int_eq(tcache_size(other), -2000);
	db_free(other);
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
	traw_exec("PRAGMA user_version = 99");
	ck_assert_ptr_null(db_open(tpath, BUSY_MS));
	ck_assert_int_eq(traw_int("PRAGMA user_version"), 99);
}
END_TEST

/*
 * A version 1 database (ratelimit without full_ms, no login_addrs)
 * migrates to the current version and keeps its buckets for a day.
 */
START_TEST(test_migrate_v1)
{
	struct db *db = topen();

	db_free(db);
	traw_exec("DROP INDEX ratelimit_full;"
	          "DROP TABLE login_addrs;"
	          "ALTER TABLE ratelimit DROP COLUMN full_ms;"
	          "INSERT INTO ratelimit VALUES ('k', 1.5, 1000);"
	          "PRAGMA user_version = 1;");
	db = topen();
	ck_assert_int_eq(traw_int("PRAGMA user_version"), DB_SCHEMA_VERSION);
	ck_assert_int_eq(traw_int("SELECT full_ms FROM ratelimit "
	                          "WHERE key = 'k' AND tokens = 1.5"),
	    1000 + 86400000);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM sqlite_master WHERE "
	                          "name = 'ratelimit_full'"),
	    1);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM login_addrs"), 0);
	db_free(db);
}
END_TEST

/*
 * Create the test database as version 2 made it: the schema of
 * tests/fixtures/schema-v2.sql (the tests run from the repository root).
 */
static void
tload_v2(void)
{
	FILE *f = fopen("tests/fixtures/schema-v2.sql", "r");
	char *sql;
	long len;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	ck_assert_int_gt(len = ftell(f), 0);
	rewind(f);
	sql = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(sql);
	ck_assert_uint_eq(fread(sql, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	traw_exec(sql);
	free(sql);
	ck_assert_int_eq(traw_int("PRAGMA user_version"), 2);
}

/* The integer answer of the one-value query "sql" on the handle's own. */
static int64_t
tdb_int(struct db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	ck_assert_int_eq(
	    sqlite3_prepare_v2(db->h, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * A version 2 database migrates to ids that are never reused: every row
 * keeps its id, the rows naming a deleted parent stay as they were,
 * foreign keys are on again afterwards, and new users and rooms get ids
 * above every id still named anywhere, those of deleted users and rooms
 * included (only ids that nothing names any more are unknown to the
 * migration). Usernames become unique regardless of case.
 */
START_TEST(test_migrate_v2)
{
	struct db *db;
	struct db_user u;
	int64_t id, room;

	tload_v2();
	traw_exec(
	    "INSERT INTO users (id, username, email, pass_hash, "
	    "created_at) VALUES (1, 'alice', 'alice@example.com', 'h', 1), "
	    "(2, 'Bob', 'bob@example.com', 'h', 1), "
	    "(3, 'carol', 'carol@example.com', 'h', 1);"
	    "INSERT INTO rooms VALUES (1, 'r', 0, 1, 1, 1, NULL, NULL), "
	    "(2, 'p', 1, 1, 1, 1, 1, 2), (3, 'gone', 0, 1, 1, 1, NULL, "
	    "NULL);"
	    "INSERT INTO members VALUES (1, 1, 1), (1, 2, 1), (2, 1, 1), "
	    "(2, 2, 1), (1, 3, 1), (3, 1, 1);"
	    "INSERT INTO messages (room_id, sender_id, content, "
	    "created_at) VALUES (1, 2, 'hi', 1), (2, 1, 'yo', 1), "
	    "(1, 3, 'bye', 1), (3, 1, 'left', 1);"
	    "INSERT INTO media (name, uploader_id, size, content_type, "
	    "created_at) VALUES ('a.png', 2, 1, 'image/png', 1);"
	    /* The newest: rows naming them are left behind. */
	    "DELETE FROM users WHERE id = 3;"
	    "DELETE FROM rooms WHERE id = 3;");
	ck_assert_int_eq(
	    traw_int("SELECT count(*) FROM pragma_foreign_key_check"), 4);

	db = topen();
	ck_assert_int_eq(traw_int("PRAGMA user_version"), DB_SCHEMA_VERSION);
	ck_assert_int_eq(tdb_int(db, "PRAGMA foreign_keys"), 1);
	ck_assert_int_eq(
	    traw_int("SELECT count(*) FROM pragma_foreign_key_check"), 4);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM sqlite_master WHERE "
	                          "name IN ('users', 'rooms') AND sql LIKE "
	                          "'%id INTEGER PRIMARY KEY AUTOINCREMENT%'"),
	    2);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM sqlite_master WHERE "
	                          "name LIKE '%_new'"),
	    0);
	ck_assert_int_eq(db_user_by_login(db, "bob", &u), CHAT_OK);
	ck_assert_int_eq(u.id, 2);
	ck_assert_str_eq(u.username, "Bob");
	ck_assert_str_eq(u.email, "bob@example.com");
	db_user_finish(&u);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM members"), 6);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM messages"), 4);
	ck_assert_int_eq(traw_int("SELECT pair_hi FROM rooms WHERE id = 2"), 2);
	ck_assert_int_eq(traw_int("SELECT uploader_id FROM media"), 2);

	ck_assert_int_eq(
	    db_user_insert(db, "BOB", "b2@example.com", NULL, "h", 2, &id),
	    CHAT_ERR_USERNAME_TAKEN);
	id = tuser(db, "erin");
	ck_assert_int_eq(id, 4);
	room = troom(db, "new", id, NULL, 0, 2);
	ck_assert_int_eq(room, 4);
	db_free(db);
}
END_TEST

/*
 * A database of version 2 whose usernames clash regardless of case is
 * refused, unchanged; the administrator's handle lists the accounts and
 * renames them, after which it migrates.
 */
START_TEST(test_migrate_clash)
{
	struct db *db;
	size_t n = 0;

	tload_v2();
	traw_exec("INSERT INTO users (id, username, email, pass_hash, "
	          "created_at) VALUES (1, 'alice', 'a1@example.com', 'h', 1), "
	          "(2, 'bob', 'b@example.com', 'h', 1), "
	          "(3, 'Alice', 'a2@example.com', 'h', 1), "
	          "(4, 'ALICE', 'a3@example.com', 'h', 1);");
	ck_assert_ptr_null(db_open(tpath, BUSY_MS));
	ck_assert_int_eq(traw_int("PRAGMA user_version"), 2);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM users"), 4);

	ck_assert_ptr_nonnull(db = db_open_admin(tpath, BUSY_MS));
	ck_assert_int_eq(db_user_clashes(db, NULL, NULL, &n), CHAT_OK);
	ck_assert_uint_eq(n, 3);
	trename(db, "aLiCe", "alice2", CHAT_ERR_EXISTS);
	trename(db, "Alice", "ALICE", CHAT_ERR_USERNAME_TAKEN);
	trename(db, "Alice", "BOB", CHAT_ERR_USERNAME_TAKEN);
	trename(db, "nobody", "carol", CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(trename(db, "Alice", "alice2", CHAT_OK), 3);
	ck_assert_int_eq(db_user_clashes(db, NULL, NULL, &n), CHAT_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_null(db_open(tpath, BUSY_MS));
	ck_assert_int_eq(trename(db, "ALICE", "alice3", CHAT_OK), 4);
	ck_assert_int_eq(db_user_clashes(db, NULL, NULL, &n), CHAT_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(traw_int("PRAGMA user_version"), 2);
	db_free(db);

	db = topen();
	ck_assert_int_eq(traw_int("PRAGMA user_version"), DB_SCHEMA_VERSION);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM users WHERE "
	                          "(id, username) IN (VALUES (1, 'alice'), "
	                          "(3, 'alice2'), (4, 'alice3'))"),
	    3);
	db_free(db);
	/* The administrator's handle opens the current schema too. */
	ck_assert_ptr_nonnull(db = db_open_admin(tpath, BUSY_MS));
	ck_assert_int_eq(trename(db, "alice2", "Alice2", CHAT_OK), 3);
	trename(db, "alice3", "ALICE2", CHAT_ERR_USERNAME_TAKEN);
	db_free(db);
}
END_TEST

/*
 * The administrator's handle refuses a missing file (creating nothing), a
 * database without a schema and one newer than this program.
 */
START_TEST(test_open_admin)
{
	ck_assert_ptr_null(db_open_admin(tpath, BUSY_MS));
	ck_assert_int_eq(access(tpath, F_OK), -1);
	traw_exec("CREATE TABLE t (x)");
	ck_assert_ptr_null(db_open_admin(tpath, BUSY_MS));
	traw_exec("DROP TABLE t");
	db_free(topen());
	traw_exec("PRAGMA user_version = 99");
	ck_assert_ptr_null(db_open_admin(tpath, BUSY_MS));
}
END_TEST

/*
 * Ids are never used again: after the newest user and the newest room are
 * deleted, the next ones get new ids.
 */
START_TEST(test_no_reuse)
{
	struct db *db = topen();
	int64_t a, b, c, r1, r2, r3;

	a = tuser(db, "alice");
	b = tuser(db, "bob");
	r1 = troom(db, "one", a, NULL, 0, 1);
	r2 = troom(db, "two", b, NULL, 0, 1);
	traw_exec("PRAGMA foreign_keys = ON;"
	          "DELETE FROM members WHERE room_id = (SELECT max(id) FROM "
	          "rooms);"
	          "DELETE FROM rooms WHERE id = (SELECT max(id) FROM rooms);"
	          "DELETE FROM users WHERE id = (SELECT max(id) FROM users);");
	c = tuser(db, "carol");
	r3 = troom(db, "three", a, NULL, 0, 1);
	ck_assert_int_gt(b, a);
	ck_assert_int_gt(c, b);
	ck_assert_int_gt(r2, r1);
	ck_assert_int_gt(r3, r2);
	db_free(db);
}
END_TEST

/* Bytes of the test database's -wal file, -1 when it is missing. */
static int64_t
twal_size(void)
{
	char path[320];
	struct stat sb;

	snprintf(path, sizeof(path), "%s-wal", tpath);
	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

/*
 * db_wal_manual() keeps commits from checkpointing, so the WAL grows past
 * DB_WAL_LIMIT; db_checkpoint() on a second handle copies it all but
 * cannot restart it while a reader holds a snapshot, and does once the
 * reader is gone. The next writer then starts again from the file's start
 * and cuts the file to DB_WAL_LIMIT.
 */
START_TEST(test_checkpoint)
{
	struct db *db = topen(), *ck = topen();
	char key[2048];
	sqlite3 *rd;
	double ra;
	int i, pages = -1, how = -1;
	atomic_int restarting = -1;

	db_wal_manual(db);
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	for (i = 0; i < 3000; i++) {
		snprintf(key, 16, "%06d", i);
		key[6] = 'k';
		ck_assert_int_eq(
		    db_rate_take(db, key, 3, 1, 1, 1000, &ra), CHAT_OK);
	}
	ck_assert_int_ge(db_wal_pages(db), 3000);
	ck_assert_int_gt(twal_size(), DB_WAL_LIMIT);

	rd = traw();
	ck_assert_int_eq(
	    sqlite3_exec(
	        rd, "BEGIN; SELECT count(*) FROM ratelimit;", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(
	    db_checkpoint(ck, 0, &pages, &how, &restarting), CHAT_OK);
	ck_assert_int_ge(pages, 3000);
	ck_assert_int_eq(how, DB_CKPT_HELD);
	ck_assert_int_gt(twal_size(), DB_WAL_LIMIT);
	ck_assert_int_eq(
	    sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(rd);

	ck_assert_int_eq(
	    db_checkpoint(ck, 0, &pages, &how, &restarting), CHAT_OK);
	ck_assert_int_ge(pages, 3000);
	ck_assert_int_eq(how, DB_CKPT_RESTART);
	ck_assert_int_eq(atomic_load(&restarting), 0);
	ck_assert_int_gt(twal_size(), DB_WAL_LIMIT);
	ck_assert_int_eq(
	    db_rate_take(db, "after", 3, 1, 1, 1000, &ra), CHAT_OK);
	ck_assert_int_lt(db_wal_pages(db), 10);
	ck_assert_int_eq(twal_size(), DB_WAL_LIMIT);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM ratelimit"), 3001);
	db_free(ck);
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

/*
 * A read transaction: its reads share one snapshot (a commit by another
 * connection is seen only after it ends), no write transaction may open
 * inside it, and ending it outside one does nothing.
 */
START_TEST(test_read_txn)
{
	struct db *db = topen();
	struct db_user u;
	int64_t a, b;

	a = tuser(db, "alice");
	db_read_end(db);
	ck_assert_int_eq(db_read_begin(db), CHAT_OK);
	ck_assert_int_eq(db_read_begin(db), CHAT_ERR_DB);
	ck_assert_int_eq(db_begin(db), CHAT_ERR_DB);
	ck_assert_int_eq(db_user_by_id(db, a, &u), CHAT_OK);
	db_user_finish(&u);
	traw_exec("INSERT INTO users (username, email, pass_hash, created_at) "
	          "VALUES ('bob', 'bob@example.com', '$h$', 1)");
	b = traw_int("SELECT id FROM users WHERE username = 'bob'");
	ck_assert_int_eq(db_user_by_id(db, b, &u), CHAT_ERR_NOTFOUND);
	db_read_end(db);
	ck_assert_int_eq(db_in_txn(db), 0);
	ck_assert_int_eq(db_user_by_id(db, b, &u), CHAT_OK);
	db_user_finish(&u);
	db_read_end(db);
	/* Writes work again, and a read transaction cannot open in one. */
	ck_assert_int_eq(db_begin(db), CHAT_OK);
	ck_assert_int_eq(db_read_begin(db), CHAT_ERR_DB);
	tuser(db, "carol");
	ck_assert_int_eq(db_commit(db), CHAT_OK);
	ck_assert_int_eq(traw_int("SELECT count(*) FROM users"), 3);
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

/* docs/testing.md 4.2 item 5: every string is stored and found literally. */
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
 * docs/testing.md 4.4 item 4: 8 processes x 100 read-then-write transactions on
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

	log_init("test-db", 1, 0);
	tcase_add_checked_fixture(tc, tsetup, tteardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_schema_version);
	tcase_add_test(tc, test_cache_grow);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_refuse_newer);
	tcase_add_test(tc, test_migrate_v1);
	tcase_add_test(tc, test_migrate_v2);
	tcase_add_test(tc, test_migrate_clash);
	tcase_add_test(tc, test_open_admin);
	tcase_add_test(tc, test_no_reuse);
	tcase_add_test(tc, test_checkpoint);
	tcase_add_test(tc, test_transactions);
	tcase_add_test(tc, test_read_txn);
	tcase_add_test(tc, test_busy);
	tcase_add_test(tc, test_sql_metachars);
	tcase_add_test(tc, test_concurrency);
	tcase_add_test(tc, test_open_race);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
