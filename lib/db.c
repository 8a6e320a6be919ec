/* SPDX-License-Identifier: ISC */
/*
 * The SQLite store: one connection per process, every statement prepared
 * once from the constant table below and run with bound parameters, so no
 * client text ever becomes SQL. Writes run in BEGIN IMMEDIATE transactions,
 * which serialise the writers of all processes. This file must never build
 * SQL at run time, and must never share a handle across fork() or threads.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "chat.h"
#include "db.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Schema migrations: entry i takes user_version i to i + 1, and ends by
 * setting user_version itself (PRAGMA takes no bound parameters, and SQL is
 * never formatted here). They all run in one BEGIN IMMEDIATE transaction.
 *
 * Message ids increase in commit order across all processes: every write
 * holds the single write lock from BEGIN IMMEDIATE to COMMIT, and an id is
 * a rowid taken inside that transaction, so a transaction that commits
 * later always gets larger ids, and a reader that sees id N sees every id
 * below N. AUTOINCREMENT keeps ids from being reused after a deletion of
 * the newest rows. Times are milliseconds since the epoch.
 */
static const char *const db_migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE users (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  username TEXT NOT NULL UNIQUE,\n"
    "  email TEXT NOT NULL UNIQUE COLLATE NOCASE,\n"
    "  full_name TEXT,\n"
    "  pass_hash TEXT NOT NULL,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  last_seen INTEGER NOT NULL DEFAULT 0,\n"
    "  tokens_valid_after INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE TABLE rooms (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL,\n"
    "  is_private INTEGER NOT NULL CHECK (is_private IN (0, 1)),\n"
    "  created_by INTEGER REFERENCES users(id),\n"
    "  created_at INTEGER NOT NULL,\n"
    "  last_activity INTEGER NOT NULL,\n"
    "  pair_lo INTEGER,\n"
    "  pair_hi INTEGER,\n"
    "  UNIQUE (pair_lo, pair_hi)\n"
    ");\n"
    "CREATE TABLE members (\n"
    "  room_id INTEGER NOT NULL REFERENCES rooms(id),\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id),\n"
    "  joined_at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (room_id, user_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX members_user ON members (user_id, room_id);\n"
    "CREATE TABLE messages (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  room_id INTEGER NOT NULL REFERENCES rooms(id),\n"
    "  sender_id INTEGER NOT NULL REFERENCES users(id),\n"
    "  content TEXT NOT NULL,\n"
    "  media_url TEXT,\n"
    "  client_id TEXT,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  UNIQUE (room_id, sender_id, client_id)\n"
    ");\n"
    "CREATE INDEX messages_room ON messages (room_id, id);\n"
    "CREATE TABLE media (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  uploader_id INTEGER NOT NULL REFERENCES users(id),\n"
    "  size INTEGER NOT NULL,\n"
    "  content_type TEXT NOT NULL,\n"
    "  original_name TEXT,\n"
    "  created_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE ratelimit (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  tokens REAL NOT NULL,\n"
    "  updated_ms INTEGER NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "PRAGMA user_version = 1;\n",
};
_Static_assert(
    sizeof(db_migrations) / sizeof(db_migrations[0]) == DB_SCHEMA_VERSION,
    "one migration per schema version");

/* The cached statements, one per entry of db_sql[]. */
enum db_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_USER_INSERT,
	STMT_USER_BY_ID,
	STMT_USER_BY_EMAIL,
	STMT_USER_BY_USERNAME,
	STMT_USER_SET_HASH,
	STMT_USER_SET_LAST_SEEN,
	STMT_USER_ROOMS,
	STMT_USER_ROOMS_NEWEST,
	STMT_USER_PEERS,
	STMT_ROOM_INSERT,
	STMT_ROOM_BY_PAIR,
	STMT_ROOM_GET,
	STMT_ROOM_TOUCH,
	STMT_MEMBER_INSERT,
	STMT_MEMBER_IS,
	STMT_MEMBER_IDS,
	STMT_MEMBER_EMAILS,
	STMT_PRIVATE_CHATS,
	STMT_MSG_INSERT,
	STMT_MSG_BY_CLIENT,
	STMT_MSG_BY_ID,
	STMT_MSGS_NEWEST,
	STMT_MSGS_BEFORE,
	STMT_MSGS_AFTER,
	STMT_MSGS_USER_AFTER,
	STMT_MSGS_ALL_AFTER,
	STMT_MSG_LAST_ID,
	STMT_ROOM_LAST_ID,
	STMT_MEDIA_INSERT,
	STMT_MEDIA_EXISTS,
	STMT_RATE_GET,
	STMT_RATE_PUT,
	STMT__MAX
};

/* The columns every message query returns, in db_msg_row() order. */
#define MSG_COLS                                                               \
	"SELECT m.id, m.room_id, u.email, m.sender_id, u.username, "           \
	"m.content, m.media_url, m.client_id, m.created_at "                   \
	"FROM messages m JOIN users u ON u.id = m.sender_id "
#define USER_COLS                                                              \
	"SELECT id, username, email, full_name, pass_hash, "                   \
	"tokens_valid_after, last_seen FROM users "

static const char *const db_sql[STMT__MAX] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_USER_INSERT] = "INSERT INTO users (username, email, full_name, "
                         "pass_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [STMT_USER_BY_ID] = USER_COLS "WHERE id = ?1",
    [STMT_USER_BY_EMAIL] = USER_COLS "WHERE email = ?1",
    [STMT_USER_BY_USERNAME] = USER_COLS "WHERE username = ?1",
    [STMT_USER_SET_HASH] = "UPDATE users SET pass_hash = ?2 WHERE id = ?1",
    [STMT_USER_SET_LAST_SEEN] = "UPDATE users SET last_seen = ?2 WHERE id = ?1",
    [STMT_USER_ROOMS] = "SELECT room_id FROM members WHERE user_id = ?1 "
                        "ORDER BY room_id",
    [STMT_USER_ROOMS_NEWEST] = "SELECT room_id FROM members "
                               "WHERE user_id = ?1 ORDER BY room_id DESC",
    [STMT_USER_PEERS] =
        "SELECT DISTINCT b.user_id FROM members a "
        "JOIN members b ON b.room_id = a.room_id AND b.user_id <> a.user_id "
        "WHERE a.user_id = ?1 ORDER BY b.user_id",
    [STMT_ROOM_INSERT] =
        "INSERT INTO rooms (name, is_private, created_by, created_at, "
        "last_activity, pair_lo, pair_hi) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6) "
        "ON CONFLICT (pair_lo, pair_hi) DO NOTHING",
    [STMT_ROOM_BY_PAIR] = "SELECT id FROM rooms "
                          "WHERE pair_lo = ?1 AND pair_hi = ?2",
    [STMT_ROOM_GET] = "SELECT id, name, is_private, created_at FROM rooms "
                      "WHERE id = ?1",
    [STMT_ROOM_TOUCH] = "UPDATE rooms SET last_activity = "
                        "max(last_activity, ?2) WHERE id = ?1",
    [STMT_MEMBER_INSERT] =
        "INSERT INTO members (room_id, user_id, joined_at) "
        "VALUES (?1, ?2, ?3) ON CONFLICT (room_id, user_id) DO NOTHING",
    [STMT_MEMBER_IS] = "SELECT 1 FROM members "
                       "WHERE room_id = ?1 AND user_id = ?2",
    [STMT_MEMBER_IDS] = "SELECT user_id FROM members WHERE room_id = ?1 "
                        "ORDER BY joined_at, user_id",
    [STMT_MEMBER_EMAILS] =
        "SELECT u.email FROM members m JOIN users u ON u.id = m.user_id "
        "WHERE m.room_id = ?1 ORDER BY m.joined_at, m.user_id",
    [STMT_PRIVATE_CHATS] =
        "SELECT r.id, u.id, u.username, u.email, u.last_seen, "
        "(SELECT max(id) FROM messages WHERE room_id = r.id) "
        "FROM members m JOIN rooms r ON r.id = m.room_id "
        "JOIN users u ON u.id = CASE WHEN r.pair_lo = m.user_id "
        "THEN r.pair_hi ELSE r.pair_lo END "
        "WHERE m.user_id = ?1 AND r.is_private = 1 "
        "ORDER BY r.last_activity DESC, r.id DESC",
    [STMT_MSG_INSERT] =
        "INSERT INTO messages (room_id, sender_id, content, media_url, "
        "client_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT (room_id, sender_id, client_id) DO NOTHING",
    [STMT_MSG_BY_CLIENT] = "SELECT id FROM messages WHERE room_id = ?1 "
                           "AND sender_id = ?2 AND client_id = ?3",
    [STMT_MSG_BY_ID] = MSG_COLS "WHERE m.id = ?1",
    [STMT_MSGS_NEWEST] = MSG_COLS "WHERE m.room_id = ?1 "
                                  "ORDER BY m.id DESC LIMIT ?2",
    [STMT_MSGS_BEFORE] = MSG_COLS "WHERE m.room_id = ?1 AND m.id < ?3 "
                                  "ORDER BY m.id DESC LIMIT ?2",
    [STMT_MSGS_AFTER] = MSG_COLS "WHERE m.room_id = ?1 AND m.id > ?3 "
                                 "ORDER BY m.id LIMIT ?2",
    [STMT_MSGS_USER_AFTER] =
        MSG_COLS "WHERE m.id > ?2 AND m.id <= ?4 AND m.room_id IN "
                 "(SELECT room_id FROM members WHERE user_id = ?1) "
                 "ORDER BY m.id LIMIT ?3",
    [STMT_MSGS_ALL_AFTER] = MSG_COLS "WHERE m.id > ?1 ORDER BY m.id LIMIT ?2",
    [STMT_MSG_LAST_ID] = "SELECT max(id) FROM messages",
    [STMT_ROOM_LAST_ID] = "SELECT max(id) FROM rooms",
    [STMT_MEDIA_INSERT] =
        "INSERT INTO media (name, uploader_id, size, content_type, "
        "original_name, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STMT_MEDIA_EXISTS] = "SELECT 1 FROM media WHERE name = ?1",
    [STMT_RATE_GET] = "SELECT tokens, updated_ms FROM ratelimit "
                      "WHERE key = ?1",
    [STMT_RATE_PUT] =
        "INSERT INTO ratelimit (key, tokens, updated_ms) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, "
        "updated_ms = excluded.updated_ms",
};

struct db {
	sqlite3 *h;
	sqlite3_stmt *st[STMT__MAX];
	int depth;   /* db_begin() nesting level, 0 outside transactions */
	int aborted; /* rolled back below the outermost level */
};

/*
 * Map the SQLite result "rc" of a failed call to a chat_err and log it once
 * for "func". Busy and locked become CHAT_ERR_BUSY (503), full disk or
 * database CHAT_ERR_FULL (507), anything else CHAT_ERR_DB.
 */
static enum chat_err
db_error(struct db *db, int rc, const char *func)
{
	log_warnx("%s: %s (%d)", func, sqlite3_errmsg(db->h), rc);
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return CHAT_ERR_BUSY;
	case SQLITE_FULL:
		return CHAT_ERR_FULL;
	default:
		return CHAT_ERR_DB;
	}
}

/* Make cached statement "st" ready for its next use. */
static void
db_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/*
 * Run the constant SQL text "sql", which may hold several statements,
 * discarding any rows. Only for schema and pragmas at open time. Returns 0,
 * or -1 after logging.
 */
static int
db_script(struct db *db, const char *sql)
{
	sqlite3_stmt *st;
	const char *tail = sql;
	int rc;

	while (*tail != '\0') {
		st = NULL;
		rc = sqlite3_prepare_v2(db->h, tail, -1, &st, &tail);
		if (rc != SQLITE_OK) {
			db_error(db, rc, __func__);
			return -1;
		}
		if (st == NULL) /* only blanks or comments were left */
			break;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			continue;
		if (rc != SQLITE_DONE)
			db_error(db, rc, __func__);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

/*
 * Run the one-row pragma "sql" (constant) and store its first column in
 * "*v" as an integer, or copy it as text into "txt" of "txtsz" bytes when
 * "txt" is not NULL. Returns 0, or -1 after logging.
 */
static int
db_pragma(struct db *db, const char *sql, int64_t *v, char *txt, size_t txtsz)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *s;
	int rc, ret = -1;

	if ((rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		db_error(db, rc, __func__);
		goto out;
	}
	if (txt != NULL) {
		s = sqlite3_column_text(st, 0);
		if (s == NULL || strlen((const char *)s) >= txtsz) {
			log_warnx("%s: unexpected answer to %s", __func__, sql);
			goto out;
		}
		memcpy(txt, s, strlen((const char *)s) + 1);
	} else
		*v = sqlite3_column_int64(st, 0);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/*
 * Create or migrate the schema to DB_SCHEMA_VERSION in one BEGIN IMMEDIATE
 * transaction, so that processes opening a new file at once do not race.
 * Refuses a database written by a newer schema. Returns 0, or -1 after
 * logging with nothing changed.
 */
static int
db_migrate(struct db *db)
{
	int64_t v;

	if (db_script(db, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (db_pragma(db, "PRAGMA user_version", &v, NULL, 0) == -1)
		goto fail;
	if (v < 0 || v > DB_SCHEMA_VERSION) {
		log_warnx("%s: schema version %lld is not one this program "
		          "knows (at most %d): refusing the database",
		    __func__, (long long)v, DB_SCHEMA_VERSION);
		goto fail;
	}
	for (; v < DB_SCHEMA_VERSION; v++) {
		log_info("%s: migrating schema to version %lld", __func__,
		    (long long)v + 1);
		if (db_script(db, db_migrations[v]) == -1)
			goto fail;
	}
	if (db_pragma(db, "PRAGMA user_version", &v, NULL, 0) == -1)
		goto fail;
	if (v != DB_SCHEMA_VERSION) {
		log_warnx("%s: migrations ended at version %lld", __func__,
		    (long long)v);
		goto fail;
	}
	if (db_script(db, "COMMIT") == -1)
		goto fail;
	return 0;
fail:
	if (!sqlite3_get_autocommit(db->h))
		db_script(db, "ROLLBACK");
	return -1;
}

/*
 * Open the database at "path" as described in db.h. The handle belongs to
 * this process: a child of fork() opens its own.
 *
 * WAL with synchronous=NORMAL: a commit reaches the WAL file with write()
 * before COMMIT returns, so it survives kill -9 of any process; only a power
 * loss or kernel crash can drop the last commits (never corrupt the file),
 * so FULL's fsync on every commit is not needed for our durability goal.
 * The busy timeout is set with sqlite3_busy_timeout(), which is what
 * PRAGMA busy_timeout does, without formatting a number into SQL.
 */
struct db *
db_open(const char *path, int busy_ms)
{
	struct db *db;
	char mode[16];
	int i, rc;

	db = xcalloc(1, sizeof(*db));
	rc = sqlite3_open_v2(path, &db->h,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		log_warnx("%s: %s: %s", __func__, path,
		    db->h != NULL ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, busy_ms);
	if (db_pragma(db, "PRAGMA journal_mode = WAL", NULL, mode,
	        sizeof(mode)) == -1)
		goto fail;
	if (strcmp(mode, "wal") != 0) {
		log_warnx("%s: %s: journal mode is %s, not wal", __func__, path,
		    mode);
		goto fail;
	}
	if (db_script(db,
	        "PRAGMA synchronous = NORMAL;"
	        "PRAGMA foreign_keys = ON;") == -1 ||
	    db_migrate(db) == -1)
		goto fail;
	for (i = 0; i < STMT__MAX; i++) {
		rc = sqlite3_prepare_v3(db->h, db_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &db->st[i], NULL);
		if (rc != SQLITE_OK) {
			db_error(db, rc, __func__);
			goto fail;
		}
	}
	return db;
fail:
	db_free(db);
	return NULL;
}

/* Roll back what is still open, finalize the statements and close. */
void
db_free(struct db *db)
{
	int i;

	if (db == NULL)
		return;
	if (db->h != NULL && !sqlite3_get_autocommit(db->h))
		db_script(db, "ROLLBACK");
	for (i = 0; i < STMT__MAX; i++)
		sqlite3_finalize(db->st[i]);
	if (db->h != NULL && sqlite3_close(db->h) != SQLITE_OK)
		log_warnx("%s: %s", __func__, sqlite3_errmsg(db->h));
	free(db);
}

/* Step the argument-less cached statement "s" to its end. */
static enum chat_err
db_run(struct db *db, enum db_stmt s, const char *func)
{
	sqlite3_stmt *st = db->st[s];
	enum chat_err e = CHAT_OK;
	int rc;

	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		e = db_error(db, rc, func);
	db_done(st);
	return e;
}

/*
 * Open a write transaction (BEGIN IMMEDIATE: the write lock is taken now,
 * waiting up to the busy timeout, so that no transaction ever has to
 * upgrade a read lock and fail), or enter one more level of the open one.
 * Fails when an inner level has already rolled the transaction back.
 */
enum chat_err
db_begin(struct db *db)
{
	enum chat_err e;

	if (db->depth > 0) {
		if (db->aborted) {
			log_warnx(
			    "%s: the transaction was rolled back", __func__);
			return CHAT_ERR_DB;
		}
		db->depth++;
		return CHAT_OK;
	}
	if ((e = db_run(db, STMT_BEGIN, __func__)) != CHAT_OK)
		return e;
	db->depth = 1;
	return CHAT_OK;
}

/*
 * Leave one level; at the outermost one, COMMIT (rolling back if that
 * fails). Returns CHAT_ERR_DB when an inner level rolled back.
 */
enum chat_err
db_commit(struct db *db)
{
	enum chat_err e;

	if (db->depth == 0) {
		log_warnx("%s: no transaction is open", __func__);
		return CHAT_ERR_DB;
	}
	if (--db->depth > 0)
		return db->aborted ? CHAT_ERR_DB : CHAT_OK;
	if (db->aborted) {
		db->aborted = 0;
		log_warnx("%s: the transaction was rolled back", __func__);
		return CHAT_ERR_DB;
	}
	if ((e = db_run(db, STMT_COMMIT, __func__)) != CHAT_OK &&
	    !sqlite3_get_autocommit(db->h))
		db_run(db, STMT_ROLLBACK, __func__);
	return e;
}

/*
 * Roll the whole transaction back (unless SQLite already did, after an I/O
 * or full-disk error) and leave one level; outer levels then fail.
 */
void
db_rollback(struct db *db)
{
	if (db->depth == 0)
		return;
	if (!db->aborted && !sqlite3_get_autocommit(db->h))
		db_run(db, STMT_ROLLBACK, __func__);
	db->aborted = --db->depth > 0;
}

int
db_in_txn(const struct db *db)
{
	return db->depth > 0;
}

/*
 * Close the level a write function opened with db_begin(): a storage
 * failure "e" rolls the whole transaction back; any other outcome (a
 * refusal such as CHAT_ERR_RATE writes nothing) commits the level. Returns
 * "e", or the commit's error.
 */
static enum chat_err
db_end(struct db *db, enum chat_err e)
{
	enum chat_err ce;

	if (e == CHAT_ERR_BUSY || e == CHAT_ERR_FULL || e == CHAT_ERR_DB) {
		db_rollback(db);
		return e;
	}
	if ((ce = db_commit(db)) != CHAT_OK)
		return ce;
	return e;
}

/*
 * Column "i" of the current row of "st" as a new JSON string, or JSON null
 * for SQL NULL. Returns NULL after logging when the text is not UTF-8.
 */
static json_t *
db_col_json(sqlite3_stmt *st, int i)
{
	const unsigned char *s;
	json_t *v;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return json_null();
	if ((s = sqlite3_column_text(st, i)) == NULL)
		fatalx("%s: out of memory", __func__);
	v = json_stringn((const char *)s, (size_t)sqlite3_column_bytes(st, i));
	if (v == NULL)
		log_warnx("%s: %s is not valid UTF-8", __func__,
		    sqlite3_column_name(st, i));
	return v;
}

/* A heap copy of text column "i" of "st", NULL for SQL NULL. */
static char *
db_col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *s;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	if ((s = sqlite3_column_text(st, i)) == NULL)
		fatalx("%s: out of memory", __func__);
	return xstrdup((const char *)s);
}

/* "ms" as a new RFC 3339 JSON string, or JSON null when "ms" is 0. */
static json_t *
db_time_json(int64_t ms, int zero_is_null)
{
	char buf[CHAT_TIME_LEN];

	if (ms == 0 && zero_is_null)
		return json_null();
	return json_string(chat_time_fmt(ms, buf));
}

/*
 * Run "st" (bound by the caller) expecting one int64 column, and return
 * its values as a new array in "*ids" of "*n" entries. The statement is
 * reset. Outputs are written only on success.
 */
static enum chat_err
db_ids(
    struct db *db, sqlite3_stmt *st, int64_t **ids, size_t *n, const char *func)
{
	int64_t *v = NULL;
	size_t nv = 0, cap = 0;
	enum chat_err e = CHAT_OK;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nv == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[nv++] = sqlite3_column_int64(st, 0);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		e = db_error(db, rc, func);
		free(v);
		return e;
	}
	*ids = v;
	*n = nv;
	return CHAT_OK;
}

/* Run the cached one-parameter id list query "s" for "key". */
static enum chat_err
db_ids_by(struct db *db, enum db_stmt s, int64_t key, int64_t **ids, size_t *n,
    const char *func)
{
	sqlite3_stmt *st = db->st[s];
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, key)) != SQLITE_OK) {
		db_done(st);
		return db_error(db, rc, func);
	}
	return db_ids(db, st, ids, n, func);
}

/*
 * Run the write "st" (bound by the caller) in the caller's transaction or
 * one of its own, and reset it. CHAT_ERR_NOTFOUND when "need_change" is set
 * and no row changed; "unique" is returned for a UNIQUE conflict.
 */
static enum chat_err
db_write(struct db *db, sqlite3_stmt *st, int need_change, enum chat_err unique,
    const char *func)
{
	enum chat_err e;
	int rc;

	if ((e = db_begin(db)) != CHAT_OK) {
		db_done(st);
		return e;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		e = need_change && sqlite3_changes(db->h) == 0
		    ? CHAT_ERR_NOTFOUND
		    : CHAT_OK;
	else if (rc == SQLITE_CONSTRAINT_UNIQUE && unique != CHAT_OK) {
		log_debug("%s: %s", func, sqlite3_errmsg(db->h));
		e = unique;
	} else
		e = db_error(db, rc, func);
	db_done(st);
	return db_end(db, e);
}

void
db_user_finish(struct db_user *u)
{
	free(u->username);
	free(u->email);
	free(u->full_name);
	free(u->pass_hash);
	memset(u, 0, sizeof(*u));
}

/*
 * Insert a user; "email" is stored as given (the caller lower-cases it) and
 * compared case-insensitively. A taken e-mail or username is told apart by
 * the constraint SQLite names.
 */
enum chat_err
db_user_insert(struct db *db, const char *username, const char *email,
    const char *full_name, const char *pass_hash, int64_t now_ms, int64_t *id)
{
	sqlite3_stmt *st = db->st[STMT_USER_INSERT];
	const char *msg;
	enum chat_err e;
	int rc;

	if ((e = db_begin(db)) != CHAT_OK)
		return e;
	if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_text(st, 2, email, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_text(st, 3, full_name, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_text(st, 4, pass_hash, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_int64(st, 5, now_ms)) ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE) {
		if (rc != SQLITE_CONSTRAINT_UNIQUE) {
			e = db_error(db, rc, __func__);
			goto out;
		}
		/* "UNIQUE constraint failed: users.email" */
		msg = sqlite3_errmsg(db->h);
		log_debug("%s: %s", __func__, msg);
		if (strstr(msg, "users.email") != NULL)
			e = CHAT_ERR_EMAIL_TAKEN;
		else if (strstr(msg, "users.username") != NULL)
			e = CHAT_ERR_USERNAME_TAKEN;
		else
			e = CHAT_ERR_EXISTS;
		goto out;
	}
	*id = sqlite3_last_insert_rowid(db->h);
out:
	db_done(st);
	return db_end(db, e);
}

/* Run the bound user query "st" and fill "*u" from its row. */
static enum chat_err
db_user_get(
    struct db *db, sqlite3_stmt *st, struct db_user *u, const char *func)
{
	enum chat_err e = CHAT_OK;
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		u->id = sqlite3_column_int64(st, 0);
		u->username = db_col_str(st, 1);
		u->email = db_col_str(st, 2);
		u->full_name = db_col_str(st, 3);
		u->pass_hash = db_col_str(st, 4);
		u->tokens_valid_after = sqlite3_column_int64(st, 5);
		u->last_seen = sqlite3_column_int64(st, 6);
	} else if (rc == SQLITE_DONE)
		e = CHAT_ERR_NOTFOUND;
	else
		e = db_error(db, rc, func);
	db_done(st);
	return e;
}

enum chat_err
db_user_by_id(struct db *db, int64_t id, struct db_user *u)
{
	sqlite3_stmt *st = db->st[STMT_USER_BY_ID];
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, id)) != SQLITE_OK) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_user_get(db, st, u, __func__);
}

/*
 * Usernames cannot hold '@' and e-mails must, so "login" is looked up as an
 * e-mail (NOCASE column) when it has one and as a username otherwise.
 */
enum chat_err
db_user_by_login(struct db *db, const char *login, struct db_user *u)
{
	sqlite3_stmt *st;
	int rc;

	st = db->st[strchr(login, '@') != NULL ? STMT_USER_BY_EMAIL
	                                       : STMT_USER_BY_USERNAME];
	if ((rc = sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC)) !=
	    SQLITE_OK) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_user_get(db, st, u, __func__);
}

enum chat_err
db_user_set_hash(struct db *db, int64_t id, const char *hash)
{
	sqlite3_stmt *st = db->st[STMT_USER_SET_HASH];
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, id)) ||
	    (rc = sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC))) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_write(db, st, 1, CHAT_OK, __func__);
}

enum chat_err
db_user_set_last_seen(struct db *db, int64_t id, int64_t ms)
{
	sqlite3_stmt *st = db->st[STMT_USER_SET_LAST_SEEN];
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, id)) ||
	    (rc = sqlite3_bind_int64(st, 2, ms))) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_write(db, st, 1, CHAT_OK, __func__);
}

/* The public user object; NULL after logging on bad UTF-8. */
json_t *
db_user_json(const struct db_user *u)
{
	json_t *o = json_object();
	int bad = 0;

	bad |= json_object_set_new(o, "id", chat_id_json(u->id));
	bad |= json_object_set_new(o, "username", json_string(u->username));
	bad |= json_object_set_new(o, "email", json_string(u->email));
	bad |= json_object_set_new(o, "full_name",
	    u->full_name != NULL ? json_string(u->full_name) : json_null());
	if (bad) {
		log_warnx("%s: user %lld has a field that is not UTF-8",
		    __func__, (long long)u->id);
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * Create a room with "creator" and "members" (duplicates and the creator
 * folded, by the ON CONFLICT of the member insert), room and members in one
 * transaction. A private room needs exactly one other user: its pair is
 * stored ordered, and an existing pair answers CHAT_ERR_EXISTS with
 * "*room" set to that room.
 */
enum chat_err
db_room_create(struct db *db, const char *name, int is_private, int64_t creator,
    const int64_t *members, size_t nmembers, int64_t now_ms, int64_t *room)
{
	sqlite3_stmt *st;
	int64_t other = 0, id = 0;
	enum chat_err e;
	size_t i;
	int rc;

	for (i = 0; is_private && i < nmembers; i++) {
		if (members[i] == creator || members[i] == other)
			continue;
		if (other != 0)
			return CHAT_ERR_INVALID;
		other = members[i];
	}
	if (is_private && other == 0)
		return CHAT_ERR_INVALID;
	if ((e = db_begin(db)) != CHAT_OK)
		return e;

	st = db->st[STMT_ROOM_INSERT];
	if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_int(st, 2, is_private ? 1 : 0)) ||
	    (rc = sqlite3_bind_int64(st, 3, creator)) ||
	    (rc = sqlite3_bind_int64(st, 4, now_ms)) ||
	    (is_private &&
	        ((rc = sqlite3_bind_int64(
	              st, 5, creator < other ? creator : other)) ||
	            (rc = sqlite3_bind_int64(
	                 st, 6, creator < other ? other : creator)))) ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE) {
		e = db_error(db, rc, __func__);
		db_done(st);
		goto out;
	}
	db_done(st);
	if (sqlite3_changes(db->h) == 0) {
		/* Only the pair can conflict, and it is ours to look up. */
		if ((e = db_room_private_find(db, creator, other, &id)) ==
		    CHAT_ERR_NOTFOUND)
			e = CHAT_ERR_DB;
		if (e == CHAT_OK)
			e = CHAT_ERR_EXISTS;
		goto out;
	}
	id = sqlite3_last_insert_rowid(db->h);

	st = db->st[STMT_MEMBER_INSERT];
	for (i = 0; i <= nmembers; i++) {
		if ((rc = sqlite3_bind_int64(st, 1, id)) ||
		    (rc = sqlite3_bind_int64(
		         st, 2, i == 0 ? creator : members[i - 1])) ||
		    (rc = sqlite3_bind_int64(st, 3, now_ms)) ||
		    (rc = sqlite3_step(st)) != SQLITE_DONE) {
			e = db_error(db, rc, __func__);
			db_done(st);
			goto out;
		}
		db_done(st);
	}
out:
	e = db_end(db, e);
	if (e == CHAT_OK || e == CHAT_ERR_EXISTS)
		*room = id;
	return e;
}

enum chat_err
db_room_private_find(struct db *db, int64_t a, int64_t b, int64_t *room)
{
	sqlite3_stmt *st = db->st[STMT_ROOM_BY_PAIR];
	enum chat_err e = CHAT_OK;
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, a < b ? a : b)) ||
	    (rc = sqlite3_bind_int64(st, 2, a < b ? b : a)) ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		e = rc == SQLITE_DONE ? CHAT_ERR_NOTFOUND
		                      : db_error(db, rc, __func__);
		goto out;
	}
	*room = sqlite3_column_int64(st, 0);
out:
	db_done(st);
	return e;
}

enum chat_err
db_room_is_member(struct db *db, int64_t room, int64_t user)
{
	sqlite3_stmt *st = db->st[STMT_MEMBER_IS];
	enum chat_err e = CHAT_OK;
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, room)) ||
	    (rc = sqlite3_bind_int64(st, 2, user)) ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW)
		e = rc == SQLITE_DONE ? CHAT_ERR_NOTFOUND
		                      : db_error(db, rc, __func__);
	db_done(st);
	return e;
}

/*
 * Member e-mails of "room" as a new array, ordered by join time then user
 * id. Returns NULL after logging.
 */
static json_t *
db_room_emails(struct db *db, int64_t room, enum chat_err *e)
{
	sqlite3_stmt *st = db->st[STMT_MEMBER_EMAILS];
	json_t *a = json_array();
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, room)) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (json_array_append_new(a, db_col_json(st, 0)) == -1) {
			rc = SQLITE_MISMATCH;
			goto fail;
		}
	if (rc != SQLITE_DONE)
		goto fail;
	db_done(st);
	return a;
fail:
	*e = db_error(db, rc, __func__);
	db_done(st);
	json_decref(a);
	return NULL;
}

/*
 * The room object of API.md. "messages" is present (possibly empty) when
 * "nmsg" > 0 and absent when it is 0.
 */
enum chat_err
db_room_json(struct db *db, int64_t room, int nmsg, json_t **out)
{
	sqlite3_stmt *st = db->st[STMT_ROOM_GET];
	json_t *o = NULL, *v;
	enum chat_err e = CHAT_ERR_DB;
	int rc, bad = 0;

	if ((rc = sqlite3_bind_int64(st, 1, room)) ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		e = rc == SQLITE_DONE ? CHAT_ERR_NOTFOUND
		                      : db_error(db, rc, __func__);
		db_done(st);
		goto out;
	}
	o = json_object();
	bad |= json_object_set_new(
	    o, "id", chat_id_json(sqlite3_column_int64(st, 0)));
	bad |= json_object_set_new(o, "name", db_col_json(st, 1));
	bad |= json_object_set_new(
	    o, "is_private", json_boolean(sqlite3_column_int(st, 2)));
	bad |= json_object_set_new(o, "members", db_room_emails(db, room, &e));
	bad |= json_object_set_new(
	    o, "created_at", db_time_json(sqlite3_column_int64(st, 3), 0));
	db_done(st);
	if (bad)
		goto out;
	if (nmsg > 0) {
		if ((e = db_msgs_json(db, room, nmsg, 0, 0, &v)) != CHAT_OK)
			goto out;
		json_object_set_new(o, "messages", v);
	}
	*out = o;
	o = NULL;
	e = CHAT_OK;
out:
	json_decref(o);
	return e;
}

/* The rooms of "user" as room objects without messages, newest first. */
enum chat_err
db_rooms_json(struct db *db, int64_t user, json_t **out)
{
	json_t *a = NULL, *v;
	int64_t *ids = NULL;
	enum chat_err e;
	size_t i, n;

	e = db_ids_by(db, STMT_USER_ROOMS_NEWEST, user, &ids, &n, __func__);
	if (e != CHAT_OK)
		return e;
	a = json_array();
	for (i = 0; i < n; i++) {
		if ((e = db_room_json(db, ids[i], 0, &v)) != CHAT_OK)
			goto out;
		json_array_append_new(a, v);
	}
	*out = a;
	a = NULL;
out:
	json_decref(a);
	free(ids);
	return e;
}

/*
 * The private chats of "user" as in db.h. The other user of a chat is the
 * end of the pair that is not "user"; its last message is the highest id.
 */
enum chat_err
db_private_chats_json(struct db *db, int64_t user, json_t **out,
    int64_t **others, size_t *nothers)
{
	sqlite3_stmt *st = db->st[STMT_PRIVATE_CHATS];
	json_t *a = json_array(), *o, *ou, *last;
	int64_t *ids = NULL, mid;
	size_t n = 0, cap = 0;
	enum chat_err e = CHAT_OK;
	int rc, bad;

	if ((rc = sqlite3_bind_int64(st, 1, user)) != SQLITE_OK) {
		e = db_error(db, rc, __func__);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		last = json_null();
		mid = sqlite3_column_int64(st, 5); /* 0 for NULL: none */
		if (mid > 0 && (e = db_msg_json(db, mid, &last)) != CHAT_OK)
			goto out;
		ou = json_object();
		bad = json_object_set_new(
		    ou, "id", chat_id_json(sqlite3_column_int64(st, 1)));
		bad |= json_object_set_new(ou, "username", db_col_json(st, 2));
		bad |= json_object_set_new(ou, "email", db_col_json(st, 3));
		o = json_object();
		bad |= json_object_set_new(
		    o, "id", chat_id_json(sqlite3_column_int64(st, 0)));
		bad |= json_object_set_new(
		    o, "other_user_email", db_col_json(st, 3));
		bad |= json_object_set_new(o, "other_user", ou);
		bad |= json_object_set_new(o, "is_online", json_false());
		bad |= json_object_set_new(o, "last_seen",
		    db_time_json(sqlite3_column_int64(st, 4), 1));
		bad |= json_object_set_new(o, "last_message", last);
		bad |= json_array_append_new(a, o);
		if (bad) {
			e = CHAT_ERR_DB;
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			ids = xreallocarray(ids, cap, sizeof(*ids));
		}
		ids[n++] = sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE) {
		e = db_error(db, rc, __func__);
		goto out;
	}
	*out = a;
	*others = ids;
	*nothers = n;
	a = NULL;
	ids = NULL;
out:
	db_done(st);
	json_decref(a);
	free(ids);
	return e;
}

enum chat_err
db_room_members(struct db *db, int64_t room, int64_t **ids, size_t *n)
{
	return db_ids_by(db, STMT_MEMBER_IDS, room, ids, n, __func__);
}

enum chat_err
db_user_rooms(struct db *db, int64_t user, int64_t **ids, size_t *n)
{
	return db_ids_by(db, STMT_USER_ROOMS, user, ids, n, __func__);
}

enum chat_err
db_user_peers(struct db *db, int64_t user, int64_t **ids, size_t *n)
{
	return db_ids_by(db, STMT_USER_PEERS, user, ids, n, __func__);
}

/*
 * Insert a message idempotently on (room, sender, client_id) and move the
 * room's last activity to "now_ms". SQLite never finds two NULL client_ids
 * equal, so messages without one never conflict.
 */
enum chat_err
db_msg_insert(struct db *db, int64_t room, int64_t sender, const char *content,
    const char *media_url, const char *client_id, int64_t now_ms, int64_t *id,
    int *created)
{
	sqlite3_stmt *st;
	int64_t mid = 0;
	enum chat_err e;
	int rc, made = 0;

	if ((e = db_begin(db)) != CHAT_OK)
		return e;
	st = db->st[STMT_MSG_INSERT];
	if ((rc = sqlite3_bind_int64(st, 1, room)) ||
	    (rc = sqlite3_bind_int64(st, 2, sender)) ||
	    (rc = sqlite3_bind_text(
	         st, 3, content != NULL ? content : "", -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_text(st, 4, media_url, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_text(st, 5, client_id, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_int64(st, 6, now_ms)) ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE)
		goto fail;
	db_done(st);

	if (sqlite3_changes(db->h) == 1) {
		mid = sqlite3_last_insert_rowid(db->h);
		made = 1;
		st = db->st[STMT_ROOM_TOUCH];
		if ((rc = sqlite3_bind_int64(st, 1, room)) ||
		    (rc = sqlite3_bind_int64(st, 2, now_ms)) ||
		    (rc = sqlite3_step(st)) != SQLITE_DONE)
			goto fail;
	} else {
		st = db->st[STMT_MSG_BY_CLIENT];
		if ((rc = sqlite3_bind_int64(st, 1, room)) ||
		    (rc = sqlite3_bind_int64(st, 2, sender)) ||
		    (rc = sqlite3_bind_text(
		         st, 3, client_id, -1, SQLITE_STATIC)) ||
		    (rc = sqlite3_step(st)) != SQLITE_ROW)
			goto fail;
		mid = sqlite3_column_int64(st, 0);
	}
	db_done(st);
	if ((e = db_end(db, CHAT_OK)) == CHAT_OK) {
		*id = mid;
		*created = made;
	}
	return e;
fail:
	e = db_error(db, rc, __func__);
	db_done(st);
	return db_end(db, e);
}

/*
 * The message object of the current row of "st" (MSG_COLS) as a new
 * reference, or NULL after logging.
 */
static json_t *
db_msg_row(sqlite3_stmt *st)
{
	json_t *o = json_object();
	int bad = 0;

	bad |= json_object_set_new(
	    o, "id", chat_id_json(sqlite3_column_int64(st, 0)));
	bad |= json_object_set_new(
	    o, "room_id", chat_id_json(sqlite3_column_int64(st, 1)));
	bad |= json_object_set_new(o, "sender", db_col_json(st, 2));
	bad |= json_object_set_new(
	    o, "sender_id", chat_id_json(sqlite3_column_int64(st, 3)));
	bad |= json_object_set_new(o, "sender_username", db_col_json(st, 4));
	bad |= json_object_set_new(o, "content", db_col_json(st, 5));
	bad |= json_object_set_new(o, "media_url", db_col_json(st, 6));
	bad |= json_object_set_new(o, "client_id", db_col_json(st, 7));
	bad |= json_object_set_new(
	    o, "timestamp", db_time_json(sqlite3_column_int64(st, 8), 0));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * Run the bound message query "st" into a new array "*out", keeping at most
 * "max" rows; "*more" (when not NULL) tells whether a further row exists.
 * "reverse" turns a newest-first query into oldest-first output.
 */
static enum chat_err
db_msgs_run(struct db *db, sqlite3_stmt *st, int reverse, int max, json_t **out,
    int *more, const char *func)
{
	json_t *a = json_array(), *m;
	enum chat_err e = CHAT_OK;
	int rc, n = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
		if ((m = db_msg_row(st)) == NULL) {
			e = CHAT_ERR_DB;
			goto out;
		}
		if (reverse)
			json_array_insert_new(a, 0, m);
		else
			json_array_append_new(a, m);
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		e = db_error(db, rc, func);
		goto out;
	}
	if (more != NULL)
		*more = rc == SQLITE_ROW;
	*out = a;
	a = NULL;
out:
	db_done(st);
	json_decref(a);
	return e;
}

enum chat_err
db_msg_json(struct db *db, int64_t id, json_t **out)
{
	sqlite3_stmt *st = db->st[STMT_MSG_BY_ID];
	enum chat_err e = CHAT_OK;
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, id)) ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		e = rc == SQLITE_DONE ? CHAT_ERR_NOTFOUND
		                      : db_error(db, rc, __func__);
		goto out;
	}
	if ((*out = db_msg_row(st)) == NULL)
		e = CHAT_ERR_DB;
out:
	db_done(st);
	return e;
}

/*
 * A page of "room" as in db.h. The newest page and "before" pages are read
 * newest first (so LIMIT keeps the right end) and then reversed. Both
 * cursors at once, or a "limit" below 1, are CHAT_ERR_INVALID.
 */
enum chat_err
db_msgs_json(struct db *db, int64_t room, int limit, int64_t before,
    int64_t after, json_t **out)
{
	sqlite3_stmt *st;
	int rc;

	if (limit < 1 || (before > 0 && after > 0))
		return CHAT_ERR_INVALID;
	st = db->st[before > 0 ? STMT_MSGS_BEFORE
	        : after > 0    ? STMT_MSGS_AFTER
	                       : STMT_MSGS_NEWEST];
	if ((rc = sqlite3_bind_int64(st, 1, room)) ||
	    (rc = sqlite3_bind_int64(st, 2, limit)) ||
	    ((before > 0 || after > 0) &&
	        (rc = sqlite3_bind_int64(
	             st, 3, before > 0 ? before : after)))) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_msgs_run(db, st, after <= 0, limit, out, NULL, __func__);
}

/*
 * Catch-up: messages newer than "after" in the rooms of "user", in id
 * (commit) order. One row past "limit" is asked for to set "*more".
 */
enum chat_err
db_msgs_for_user_after(struct db *db, int64_t user, int64_t after, int limit,
    json_t **out, int *more)
{
	return db_msgs_for_user_between(
	    db, user, after, INT64_MAX, limit, out, more);
}

/* The same, bounded above by "upto" (the push daemon's cursor). */
enum chat_err
db_msgs_for_user_between(struct db *db, int64_t user, int64_t after,
    int64_t upto, int limit, json_t **out, int *more)
{
	sqlite3_stmt *st = db->st[STMT_MSGS_USER_AFTER];
	int rc;

	if (limit < 1)
		return CHAT_ERR_INVALID;
	if ((rc = sqlite3_bind_int64(st, 1, user)) ||
	    (rc = sqlite3_bind_int64(st, 2, after)) ||
	    (rc = sqlite3_bind_int64(st, 3, (int64_t)limit + 1)) ||
	    (rc = sqlite3_bind_int64(st, 4, upto))) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_msgs_run(db, st, 0, limit, out, more, __func__);
}

/*
 * The push daemon's read: messages of every room newer than "after", in
 * id (commit) order, at most "limit", "*more" set when more remain.
 */
enum chat_err
db_msgs_after(struct db *db, int64_t after, int limit, json_t **out, int *more)
{
	sqlite3_stmt *st = db->st[STMT_MSGS_ALL_AFTER];
	int rc;

	if (limit < 1)
		return CHAT_ERR_INVALID;
	if ((rc = sqlite3_bind_int64(st, 1, after)) ||
	    (rc = sqlite3_bind_int64(st, 2, (int64_t)limit + 1))) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_msgs_run(db, st, 0, limit, out, more, __func__);
}

/* The one-integer query "s" into "*id" (a NULL result reads as 0). */
static enum chat_err
db_max_id(struct db *db, enum db_stmt s, int64_t *id, const char *func)
{
	sqlite3_stmt *st = db->st[s];
	enum chat_err e = CHAT_OK;
	int rc;

	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		e = db_error(db, rc, func);
	db_done(st);
	return e;
}

enum chat_err
db_msg_last_id(struct db *db, int64_t *id)
{
	return db_max_id(db, STMT_MSG_LAST_ID, id, __func__);
}

enum chat_err
db_room_last_id(struct db *db, int64_t *id)
{
	return db_max_id(db, STMT_ROOM_LAST_ID, id, __func__);
}

/* Record a stored upload; a name already used is CHAT_ERR_EXISTS. */
enum chat_err
db_media_insert(struct db *db, const char *name, int64_t uploader, int64_t size,
    const char *content_type, const char *original_name, int64_t now_ms)
{
	sqlite3_stmt *st = db->st[STMT_MEDIA_INSERT];
	int rc;

	if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_int64(st, 2, uploader)) ||
	    (rc = sqlite3_bind_int64(st, 3, size)) ||
	    (rc = sqlite3_bind_text(st, 4, content_type, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_text(st, 5, original_name, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_int64(st, 6, now_ms))) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_write(db, st, 0, CHAT_ERR_EXISTS, __func__);
}

enum chat_err
db_media_exists(struct db *db, const char *name)
{
	sqlite3_stmt *st = db->st[STMT_MEDIA_EXISTS];
	enum chat_err e = CHAT_OK;
	int rc;

	if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW)
		e = rc == SQLITE_DONE ? CHAT_ERR_NOTFOUND
		                      : db_error(db, rc, __func__);
	db_done(st);
	return e;
}

/*
 * Token bucket: the stored level is refilled by "rate" per second since it
 * was written, capped at "burst"; a new key starts full. Taking "cost"
 * tokens writes the new level; a refusal or a check ("cost" 0, which needs
 * one token) writes nothing. The stored time never moves backwards, so a
 * process with a slower clock cannot mint tokens.
 */
enum chat_err
db_rate_take(struct db *db, const char *key, double burst, double rate,
    double cost, int64_t now_ms, double *retry_after)
{
	sqlite3_stmt *st = db->st[STMT_RATE_GET];
	double tokens = burst, need = cost > 1 ? cost : 1;
	int64_t then = now_ms;
	enum chat_err e;
	int rc;

	assert(rate > 0 && cost >= 0);
	if ((e = db_begin(db)) != CHAT_OK)
		return e;
	if ((rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC)) ||
	    ((rc = sqlite3_step(st)) != SQLITE_ROW && rc != SQLITE_DONE))
		goto fail;
	if (rc == SQLITE_ROW) {
		tokens = sqlite3_column_double(st, 0);
		then = sqlite3_column_int64(st, 1);
		if (now_ms > then)
			tokens += rate * (double)(now_ms - then) / 1000.0;
		if (tokens > burst)
			tokens = burst;
	}
	db_done(st);

	if (tokens < (cost > 0 ? cost : 1)) {
		*retry_after = (need - tokens) / rate;
		return db_end(db, CHAT_ERR_RATE);
	}
	if (cost > 0) {
		st = db->st[STMT_RATE_PUT];
		if ((rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC)) ||
		    (rc = sqlite3_bind_double(st, 2, tokens - cost)) ||
		    (rc = sqlite3_bind_int64(
		         st, 3, now_ms > then ? now_ms : then)) ||
		    (rc = sqlite3_step(st)) != SQLITE_DONE)
			goto fail;
		db_done(st);
	}
	return db_end(db, CHAT_OK);
fail:
	e = db_error(db, rc, __func__);
	db_done(st);
	return db_end(db, e);
}
