/* SPDX-License-Identifier: ISC */
/*
 * The SQLite store: one connection per process, every statement prepared
 * once from the constant table below and run with bound parameters, so no
 * client text ever becomes SQL. This file opens and migrates the database,
 * runs the transactions (BEGIN IMMEDIATE, which serialises the writers of
 * all processes) and maps SQLite errors; the queries live in db_user.c,
 * db_room.c, db_msg.c, db_media.c and db_rate.c. No db file may build SQL
 * at run time, or share a handle across fork() or use it in two threads
 * at once (the daemon's checkpoint handle is used by one thread-pool
 * thread at a time).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "chat/db_int.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define DB_STR_(x) #x
#define DB_STR(x)  DB_STR_(x) /* a constant number as SQL text */

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
    /*
     * 2: when each token bucket is full again, so that full buckets, which
     * say no more than a missing row, can be pruned through an index.
     * Rows of version 1 are kept for a day.
     */
    "ALTER TABLE ratelimit ADD COLUMN full_ms INTEGER NOT NULL DEFAULT 0;\n"
    "UPDATE ratelimit SET full_ms = updated_ms + 86400000;\n"
    "CREATE INDEX ratelimit_full ON ratelimit (full_ms);\n"
    "PRAGMA user_version = 2;\n",
    /*
     * 3: user and room ids are never used again, even after a deletion of
     * the newest rows (AUTOINCREMENT, as for messages: a deleted user's
     * token would otherwise name the next user to sign up), and usernames
     * are unique regardless of case (NOCASE, as for e-mails; ASCII only, as
     * valid_username() allows), while each keeps the spelling it was given.
     * SQLite gives a table AUTOINCREMENT only by building it again: new
     * table, copy with every id, drop, rename, with foreign keys off
     * (db_migrate()). db_migrate() first refuses a database whose usernames
     * clash. Each sequence starts above every id of the table still named
     * anywhere, so that the rows a deleted user or room left behind can
     * never be taken over.
     */
    "CREATE TABLE users_new (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  username TEXT NOT NULL UNIQUE COLLATE NOCASE,\n"
    "  email TEXT NOT NULL UNIQUE COLLATE NOCASE,\n"
    "  full_name TEXT,\n"
    "  pass_hash TEXT NOT NULL,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  last_seen INTEGER NOT NULL DEFAULT 0,\n"
    "  tokens_valid_after INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "INSERT INTO users_new (id, username, email, full_name, pass_hash, "
    "created_at, last_seen, tokens_valid_after) SELECT id, username, "
    "email, full_name, pass_hash, created_at, last_seen, "
    "tokens_valid_after FROM users;\n"
    "DROP TABLE users;\n"
    "ALTER TABLE users_new RENAME TO users;\n"
    "CREATE TABLE rooms_new (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  name TEXT NOT NULL,\n"
    "  is_private INTEGER NOT NULL CHECK (is_private IN (0, 1)),\n"
    "  created_by INTEGER REFERENCES users(id),\n"
    "  created_at INTEGER NOT NULL,\n"
    "  last_activity INTEGER NOT NULL,\n"
    "  pair_lo INTEGER,\n"
    "  pair_hi INTEGER,\n"
    "  UNIQUE (pair_lo, pair_hi)\n"
    ");\n"
    "INSERT INTO rooms_new (id, name, is_private, created_by, created_at, "
    "last_activity, pair_lo, pair_hi) SELECT id, name, is_private, "
    "created_by, created_at, last_activity, pair_lo, pair_hi FROM rooms;\n"
    "DROP TABLE rooms;\n"
    "ALTER TABLE rooms_new RENAME TO rooms;\n"
    "DELETE FROM sqlite_sequence WHERE name IN ('users', 'rooms');\n"
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'users', max("
    "(SELECT ifnull(max(id), 0) FROM users), "
    "(SELECT ifnull(max(user_id), 0) FROM members), "
    "(SELECT ifnull(max(sender_id), 0) FROM messages), "
    "(SELECT ifnull(max(uploader_id), 0) FROM media), "
    "(SELECT ifnull(max(max(ifnull(created_by, 0), ifnull(pair_hi, 0))), 0) "
    "FROM rooms));\n"
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'rooms', max("
    "(SELECT ifnull(max(id), 0) FROM rooms), "
    "(SELECT ifnull(max(room_id), 0) FROM members), "
    "(SELECT ifnull(max(room_id), 0) FROM messages));\n"
    "PRAGMA user_version = 3;\n",
    /*
     * 4: the client addresses (IPv4, or an IPv6 /64) that logged in to
     * each account, which the failed-login limit of the account spares.
     */
    "CREATE TABLE login_addrs (\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id),\n"
    "  addr TEXT NOT NULL,\n"
    "  last_ms INTEGER NOT NULL,\n"
    "  PRIMARY KEY (user_id, addr)\n"
    ") WITHOUT ROWID;\n"
    "PRAGMA user_version = 4;\n",
};

/*
 * The first schema version whose usernames are unique regardless of case:
 * db_migrate() checks for clashes before migrating a database below it.
 */
#define DB_VERSION_NOCASE 3
_Static_assert(
    sizeof(db_migrations) / sizeof(db_migrations[0]) == DB_SCHEMA_VERSION,
    "one migration per schema version");

/* The columns every message query returns, in db_msg_row() order. */
#define MSG_COLS                                                               \
	"SELECT m.id, m.room_id, u.email, m.sender_id, u.username, "           \
	"m.content, m.media_url, m.client_id, m.created_at "                   \
	"FROM messages m JOIN users u ON u.id = m.sender_id "
#define USER_COLS                                                              \
	"SELECT id, username, email, full_name, pass_hash, "                   \
	"tokens_valid_after, last_seen FROM users "

/* The SQL of each cached statement, by its enum db_stmt (db_int.h). */
static const char *const db_sql[STMT__MAX] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_BEGIN_READ] = "BEGIN DEFERRED",
    [STMT_USER_INSERT] = "INSERT INTO users (username, email, full_name, "
                         "pass_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [STMT_USER_BY_ID] = USER_COLS "WHERE id = ?1",
    [STMT_USER_BY_EMAIL] = USER_COLS "WHERE email = ?1",
    /* The column's NOCASE: any case finds the name. */
    [STMT_USER_BY_USERNAME] = USER_COLS "WHERE username = ?1",
    [STMT_USER_SET_HASH] = "UPDATE users SET pass_hash = ?2 WHERE id = ?1",
    [STMT_USER_SET_LAST_SEEN] = "UPDATE users SET last_seen = ?2 WHERE id = ?1",
    /*
     * The statements of db_open_admin() too, whose schema may be older than
     * DB_VERSION_NOCASE: they name only users.id and users.username, and
     * spell out every collation. Names that are one name regardless of
     * case: each account, by name then id.
     */
    [STMT_USER_CLASHES] =
        "SELECT id, username FROM users WHERE username COLLATE NOCASE IN "
        "(SELECT username FROM users GROUP BY username COLLATE NOCASE "
        "HAVING count(*) > 1) ORDER BY username COLLATE NOCASE, id",
    /* The exact spelling first, then any other case. */
    [STMT_USER_NAMED] = "SELECT id, username FROM users "
                        "WHERE username = ?1 COLLATE NOCASE "
                        "ORDER BY username = ?1 COLLATE BINARY DESC, id",
    [STMT_USER_NAME_OTHER] = "SELECT id, username FROM users "
                             "WHERE username = ?1 COLLATE NOCASE "
                             "AND id <> ?2 ORDER BY id LIMIT 1",
    [STMT_USER_RENAME] = "UPDATE users SET username = ?2 WHERE id = ?1",
    [STMT_USER_ROOMS] = "SELECT room_id FROM members WHERE user_id = ?1 "
                        "ORDER BY room_id",
    [STMT_USER_ROOMS_NEWEST] = "SELECT room_id FROM members "
                               "WHERE user_id = ?1 ORDER BY room_id DESC",
    [STMT_USER_PEERS] =
        "SELECT DISTINCT b.user_id FROM members a "
        "JOIN members b ON b.room_id = a.room_id AND b.user_id <> a.user_id "
        "WHERE a.user_id = ?1 ORDER BY b.user_id",
    /* Counts through members_user, stopping at ?2. */
    [STMT_USER_ROOM_COUNT] = "SELECT count(*) FROM (SELECT 1 FROM members "
                             "WHERE user_id = ?1 LIMIT ?2)",
    [STMT_ROOM_INSERT] =
        "INSERT INTO rooms (name, is_private, created_by, created_at, "
        "last_activity, pair_lo, pair_hi) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
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
        "INSERT INTO ratelimit (key, tokens, updated_ms, full_ms) "
        "VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, "
        "updated_ms = excluded.updated_ms, full_ms = excluded.full_ms",
    [STMT_RATE_PRUNE] =
        "DELETE FROM ratelimit WHERE key IN (SELECT key FROM ratelimit "
        "WHERE full_ms <= ?1 ORDER BY full_ms LIMIT ?2)",
    [STMT_LOGIN_ADDR_IS] = "SELECT 1 FROM login_addrs "
                           "WHERE user_id = ?1 AND addr = ?2",
    [STMT_LOGIN_ADDR_PUT] =
        "INSERT INTO login_addrs (user_id, addr, last_ms) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (user_id, addr) DO UPDATE SET "
        "last_ms = max(last_ms, excluded.last_ms)",
    /* Through the primary key: at most ?2 + 1 rows of one user. */
    [STMT_LOGIN_ADDR_TRIM] =
        "DELETE FROM login_addrs WHERE user_id = ?1 AND addr NOT IN "
        "(SELECT addr FROM login_addrs WHERE user_id = ?1 "
        "ORDER BY last_ms DESC, addr LIMIT ?2)",
};

/*
 * Map the SQLite result "rc" of a failed call to a chat_err and log it once
 * for "func". Busy and locked become CHAT_ERR_BUSY (503), full disk or
 * database CHAT_ERR_FULL (507), anything else CHAT_ERR_DB.
 */
enum chat_err
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
void
db_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/*
 * Run the constant SQL text "sql", which may hold several statements,
 * discarding any rows. Only for schema and pragmas. Returns 0, or -1 after
 * logging.
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
 * Run the one-row pragma "sql" (constant) and store its first column, an
 * integer, in "*v". Returns 0, or -1 after logging.
 */
static int
db_pragma(struct db *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if ((rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		db_error(db, rc, __func__);
		goto out;
	}
	*v = sqlite3_column_int64(st, 0);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int
db_cache_grow(struct db *db)
{
	return db_script(db, "PRAGMA cache_size = -" DB_STR(DB_CACHE_KIB));
}

/*
 * Switch to WAL and copy the resulting mode into "mode". While another
 * process creates or converts the same file, SQLite answers this pragma
 * with SQLITE_BUSY at once instead of waiting for the busy handler, so
 * retry every 10 ms for up to "busy_ms". Returns 0, or -1 after logging.
 */
static int
db_wal(struct db *db, int busy_ms, char *mode, size_t modesz)
{
	const struct timespec pause = {0, 10 * 1000 * 1000};
	const unsigned char *s;
	sqlite3_stmt *st = NULL;
	int rc, waited = 0, ret = -1;

	for (;;) {
		rc = sqlite3_prepare_v2(
		    db->h, "PRAGMA journal_mode = WAL", -1, &st, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc == SQLITE_ROW || (rc & 0xff) != SQLITE_BUSY ||
		    waited >= busy_ms)
			break;
		sqlite3_finalize(st);
		st = NULL;
		nanosleep(&pause, NULL);
		waited += 10;
	}
	if (rc != SQLITE_ROW) {
		db_error(db, rc, __func__);
		goto out;
	}
	s = sqlite3_column_text(st, 0);
	if (s == NULL || strlen((const char *)s) >= modesz) {
		log_warnx(
		    "%s: unexpected answer to PRAGMA journal_mode", __func__);
		goto out;
	}
	memcpy(mode, s, strlen((const char *)s) + 1);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/*
 * Store in "*n" the number of rows PRAGMA foreign_key_check reports: rows
 * naming a parent row that does not exist. Returns 0, or -1 after logging.
 */
static int
db_fk_count(struct db *db, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	rc = sqlite3_prepare_v2(
	    db->h, "PRAGMA foreign_key_check", -1, &st, NULL);
	if (rc == SQLITE_OK)
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			(*n)++;
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_error(db, rc, __func__);
		return -1;
	}
	return 0;
}

#define DB_CLASH_LOG_MAX 200 /* db_migrate_clash(): accounts logged */

/* What db_migrate_clash() counted, and whether it logs what it counts. */
struct db_clash_log {
	size_t n;
	int print;
};

/*
 * db_user_clash_each() callback of db_migrate_clashes(): count one
 * account, and log it (the first DB_CLASH_LOG_MAX) once listing is on.
 */
static void
db_migrate_clash(void *arg, int64_t id, const char *username)
{
	char name[LOG_CLIENT_MAX * 4 + 8];
	struct db_clash_log *cl = arg;

	if (cl->print && cl->n < DB_CLASH_LOG_MAX)
		log_warnx("  user %lld \"%s\"", (long long)id,
		    log_escape(name, sizeof(name), username, strlen(username)));
	cl->n++;
}

/*
 * Refuse a database whose usernames are not unique regardless of case,
 * logging every account that shares its name with another (ids and
 * names, at most DB_CLASH_LOG_MAX) and how to rename them: such a database
 * is never changed without its administrator. The query runs a second
 * time to list what the first found. Returns 0 when no names clash, or -1
 * after logging.
 */
static int
db_migrate_clashes(struct db *db)
{
	struct db_clash_log cl = {0, 0};
	sqlite3_stmt *st = NULL;
	enum chat_err e;
	int rc;

	rc =
	    sqlite3_prepare_v2(db->h, db_sql[STMT_USER_CLASHES], -1, &st, NULL);
	if (rc != SQLITE_OK) {
		db_error(db, rc, __func__);
		return -1;
	}
	e = db_user_clash_each(db, st, db_migrate_clash, &cl, __func__);
	if (e == CHAT_OK && cl.n > 0) {
		log_warnx("%s: usernames must be unique regardless of case, "
		          "and %zu accounts (id, name) share theirs with "
		          "another:",
		    __func__, cl.n);
		cl.n = 0;
		cl.print = 1;
		e = db_user_clash_each(db, st, db_migrate_clash, &cl, __func__);
		if (cl.n > DB_CLASH_LOG_MAX)
			log_warnx("  and %zu more (chat-admin clashes lists "
			          "them all)",
			    cl.n - DB_CLASH_LOG_MAX);
		log_warnx(
		    "%s: rename all but one account of each name with "
		    "chat-admin rename-user OLD NEW (INSTALL), then start "
		    "again; nothing was changed",
		    __func__);
	}
	sqlite3_finalize(st);
	return e == CHAT_OK && cl.n == 0 ? 0 : -1;
}

/*
 * Create or migrate the schema to DB_SCHEMA_VERSION in one BEGIN IMMEDIATE
 * transaction, so that processes opening a new file at once do not race.
 * Refuses a database written by a newer schema, and one below
 * DB_VERSION_NOCASE whose usernames clash regardless of case. Foreign keys
 * are turned off (a table is rebuilt by dropping it while other tables
 * name its rows), and the caller turns them on again; the migration must
 * leave no more rows naming a missing parent than it found. Returns 0, or
 * -1 after logging with nothing changed.
 */
static int
db_migrate(struct db *db)
{
	int64_t v, fk_before = 0, fk_after = 0;
	int ran = 0;

	/* Off whatever SQLite was built with (a no-op in a transaction). */
	if (db_script(db, "PRAGMA foreign_keys = OFF") == -1 ||
	    db_script(db, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (db_pragma(db, "PRAGMA user_version", &v) == -1)
		goto fail;
	if (v < 0 || v > DB_SCHEMA_VERSION) {
		log_warnx("%s: schema version %lld is not one this program "
		          "knows (at most %d): refusing the database",
		    __func__, (long long)v, DB_SCHEMA_VERSION);
		goto fail;
	}
	if (v > 0 && v < DB_VERSION_NOCASE && db_migrate_clashes(db) == -1)
		goto fail;
	if (v > 0 && v < DB_SCHEMA_VERSION && db_fk_count(db, &fk_before) == -1)
		goto fail;
	for (; v < DB_SCHEMA_VERSION; v++) {
		log_info("%s: migrating schema to version %lld", __func__,
		    (long long)v + 1);
		if (db_script(db, db_migrations[v]) == -1)
			goto fail;
		ran = 1;
	}
	if (db_pragma(db, "PRAGMA user_version", &v) == -1)
		goto fail;
	if (v != DB_SCHEMA_VERSION) {
		log_warnx("%s: migrations ended at version %lld", __func__,
		    (long long)v);
		goto fail;
	}
	if (ran && db_fk_count(db, &fk_after) == -1)
		goto fail;
	if (fk_after > fk_before) {
		log_warnx("%s: the migration left %lld rows naming a missing "
		          "row (PRAGMA foreign_key_check), %lld before",
		    __func__, (long long)fk_after, (long long)fk_before);
		goto fail;
	}
	if (fk_before > 0)
		log_warnx("%s: %lld rows name a row that does not exist "
		          "(PRAGMA foreign_key_check); kept as they were",
		    __func__, (long long)fk_before);
	if (db_script(db, "COMMIT") == -1)
		goto fail;
	return 0;
fail:
	if (!sqlite3_get_autocommit(db->h))
		db_script(db, "ROLLBACK");
	return -1;
}

/*
 * sqlite3_wal_hook() of a connection that checkpoints in its own commits,
 * instead of SQLite's autocheckpoint: SQLite's is PASSIVE only, and under
 * writers that never pause (several workers posting) a PASSIVE never
 * catches up, the WAL never restarts from its start and grows without
 * bound while every commit past the threshold pays two fsyncs. This one
 * runs db_checkpoint(), which restarts the WAL, once it reaches ckpt_next
 * pages, and when it could not, again only DB_WAL_CKPT_PAGES later.
 */
static int
db_wal_backstop(void *arg, sqlite3 *h, const char *name, int pages)
{
	struct db *db = arg;
	int left, how;

	(void)h;
	(void)name;
	if (pages < DB_WAL_AUTO_PAGES)
		db->ckpt_next = DB_WAL_AUTO_PAGES;
	if (pages < db->ckpt_next)
		return SQLITE_OK;
	if (db_checkpoint(db, 0, &left, &how, NULL) != CHAT_OK ||
	    how != DB_CKPT_RESTART)
		db->ckpt_next = pages + DB_WAL_CKPT_PAGES;
	return SQLITE_OK;
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
 *
 * Checkpoints: SQLite's own, in the commit that leaves the WAL at 1000
 * pages, would cost whichever request commits then two fsyncs. Here a
 * connection checkpoints itself only past DB_WAL_AUTO_PAGES, a backstop
 * for when the push daemon, which checkpoints in the background (see
 * db_wal_manual()), is down or falls behind (db_wal_backstop()).
 * journal_size_limit makes the writer that restarts the WAL from its start
 * truncate the file to DB_WAL_LIMIT.
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
	if (db_wal(db, busy_ms, mode, sizeof(mode)) == -1)
		goto fail;
	if (strcmp(mode, "wal") != 0) {
		log_warnx("%s: %s: journal mode is %s, not wal", __func__, path,
		    mode);
		goto fail;
	}
	/* Foreign keys on only once migrated: db_migrate(). */
	if (db_script(db,
	        "PRAGMA synchronous = NORMAL;"
	        "PRAGMA journal_size_limit = " DB_STR(DB_WAL_LIMIT) ";") ==
	        -1 ||
	    db_pragma(db, "PRAGMA page_size", &db->page_size) == -1 ||
	    db_migrate(db) == -1 ||
	    db_script(db, "PRAGMA foreign_keys = ON;") == -1)
		goto fail;
	db->busy_ms = busy_ms;
	db->ckpt_next = DB_WAL_AUTO_PAGES;
	sqlite3_wal_hook(db->h, db_wal_backstop, db);
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

/*
 * Open the database at "path" for chat-admin, as db.h says. Only the
 * statements that every schema version runs are prepared; the others stay
 * NULL, which db_free() and any misuse (SQLITE_MISUSE) take harmlessly.
 */
struct db *
db_open_admin(const char *path, int busy_ms)
{
	static const enum db_stmt stable[] = {STMT_BEGIN, STMT_COMMIT,
	    STMT_ROLLBACK, STMT_BEGIN_READ, STMT_USER_CLASHES, STMT_USER_NAMED,
	    STMT_USER_NAME_OTHER, STMT_USER_RENAME};
	struct db *db;
	int64_t v;
	size_t i;
	int rc;

	db = xcalloc(1, sizeof(*db));
	rc = sqlite3_open_v2(
	    path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("%s: %s: %s", __func__, path,
		    db->h != NULL ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, busy_ms);
	db->busy_ms = busy_ms;
	if (db_script(db, "PRAGMA foreign_keys = ON;") == -1 ||
	    db_pragma(db, "PRAGMA user_version", &v) == -1)
		goto fail;
	if (v < 1 || v > DB_SCHEMA_VERSION) {
		log_warnx("%s: %s: schema version %lld: not a database this "
		          "program knows (1 to %d)",
		    __func__, path, (long long)v, DB_SCHEMA_VERSION);
		goto fail;
	}
	for (i = 0; i < sizeof(stable) / sizeof(stable[0]); i++) {
		rc = sqlite3_prepare_v3(db->h, db_sql[stable[i]], -1,
		    SQLITE_PREPARE_PERSISTENT, &db->st[stable[i]], NULL);
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

/* sqlite3_wal_hook(): remember the WAL's size after our commit. */
static int
db_wal_hook(void *arg, sqlite3 *h, const char *name, int pages)
{
	struct db *db = arg;

	(void)h;
	(void)name;
	db->wal_pages = pages;
	return SQLITE_OK;
}

void
db_wal_manual(struct db *db)
{
	sqlite3_wal_hook(db->h, db_wal_hook, db);
}

int
db_wal_pages(const struct db *db)
{
	return db->wal_pages;
}

#define DB_WAL_LOCK_POLL_US 100 /* db_ckpt_busy(): between two looks */
#define DB_WAL_TAIL_PAGES   256 /* db_checkpoint(): a short tail */
#define DB_WAL_TAIL_ROUNDS  4   /* db_checkpoint(): extra PASSIVE rounds */

/*
 * The busy handler of the RESTART step: look again every
 * DB_WAL_LOCK_POLL_US, DB_WAL_LOCK_MS in all. SQLite's own sleeps 1, 2, 5
 * and 10 ms between looks, and five looks nearly always find the write lock
 * held by writers that take it back within microseconds of releasing it
 * (the daemon's loop thread committing turn after turn).
 */
static int
db_ckpt_busy(void *arg, int n)
{
	struct timespec ts = {0, DB_WAL_LOCK_POLL_US * 1000L};

	(void)arg;
	if ((int64_t)n * DB_WAL_LOCK_POLL_US >= DB_WAL_LOCK_MS * 1000L)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

/*
 * Checkpoint as db.h says: PASSIVE, which waits for nobody and copies the
 * frames no reader still needs (it fsyncs the WAL, then the database).
 * Writers go on meanwhile, so under sustained writes a PASSIVE never
 * catches up and the WAL never restarts from its start: when it holds
 * more than DB_WAL_LIMIT, more PASSIVE rounds until one found at most
 * DB_WAL_TAIL_PAGES appended during the one before (DB_WAL_TAIL_ROUNDS at
 * most), then RESTART. When the WAL found is past "wait_past" bytes it
 * has db_ckpt_busy() as the busy handler and waits DB_WAL_LOCK_MS at most
 * for the write lock (which writers that never pause almost always hold
 * when a zero wait looks), copies the short tail the PASSIVE left with the
 * lock held (writers wait that long: the tail, two fsyncs), and gives up
 * within DB_WAL_LOCK_MS if a reader still uses the WAL; below it, it
 * restarts only if nobody holds the lock or reads the WAL at that moment.
 * The next commit then writes from the WAL's start and cuts the file to
 * journal_size_limit. Not TRUNCATE: cutting a WAL of tens of MiB to
 * nothing under the lock took long on ext4, and the writes after it paid
 * for allocating the file's blocks again. Another checkpoint running at
 * the same time is not an error.
 */
enum chat_err
db_checkpoint(struct db *db, int64_t wait_past, int *wal_pages, int *how,
    atomic_int *restarting)
{
	int rc, round, copied, wait, nlog = 0, ncopied = 0;

	*wal_pages = 0;
	*how = DB_CKPT_SMALL;
	/*
	 * The first PASSIVE, then more rounds while writers appended more than
	 * a short tail during the last one, so that the RESTART, which holds
	 * them back, copies and syncs little.
	 */
	for (round = 0; round <= DB_WAL_TAIL_ROUNDS; round++) {
		copied = ncopied;
		rc = sqlite3_wal_checkpoint_v2(
		    db->h, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &ncopied);
		if ((rc & 0xff) == SQLITE_BUSY)
			return CHAT_OK;
		if (rc != SQLITE_OK)
			return db_error(db, rc, __func__);
		if (round == 0) {
			*wal_pages = nlog;
			if ((int64_t)nlog * db->page_size <= DB_WAL_LIMIT)
				return CHAT_OK;
		} else if (nlog < copied || nlog - copied <= DB_WAL_TAIL_PAGES)
			break;
	}
	*how = DB_CKPT_HELD;
	wait = (int64_t)*wal_pages * db->page_size > wait_past;
	if (wait)
		sqlite3_busy_handler(db->h, db_ckpt_busy, NULL);
	else
		sqlite3_busy_timeout(db->h, 0);
	if (wait && restarting != NULL)
		atomic_store(restarting, 1);
	rc = sqlite3_wal_checkpoint_v2(
	    db->h, NULL, SQLITE_CHECKPOINT_RESTART, &nlog, &ncopied);
	if (wait && restarting != NULL)
		atomic_store(restarting, 0);
	sqlite3_busy_timeout(db->h, db->busy_ms);
	if ((rc & 0xff) == SQLITE_BUSY)
		return CHAT_OK;
	if (rc != SQLITE_OK)
		return db_error(db, rc, __func__);
	*how = DB_CKPT_RESTART;
	return CHAT_OK;
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

	if (db->reading) {
		log_warnx("%s: inside a read transaction", __func__);
		return CHAT_ERR_DB;
	}
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

/*
 * A read transaction (BEGIN DEFERRED: the snapshot is taken by the first
 * read) around several reads, so that they share one snapshot and one
 * acquisition of SQLite's locks instead of one each. db_begin() refuses to
 * run inside it, since a deferred transaction would have to upgrade.
 */
enum chat_err
db_read_begin(struct db *db)
{
	enum chat_err e;

	if (db->depth > 0 || db->reading) {
		log_warnx("%s: a transaction is open", __func__);
		return CHAT_ERR_DB;
	}
	if ((e = db_run(db, STMT_BEGIN_READ, __func__)) == CHAT_OK)
		db->reading = 1;
	return e;
}

void
db_read_end(struct db *db)
{
	if (!db->reading)
		return;
	db->reading = 0;
	if (db_run(db, STMT_COMMIT, __func__) != CHAT_OK &&
	    !sqlite3_get_autocommit(db->h))
		db_run(db, STMT_ROLLBACK, __func__);
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
enum chat_err
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
json_t *
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

/* "ms" as a new RFC 3339 JSON string, or JSON null when "ms" is 0. */
json_t *
db_time_json(int64_t ms, int zero_is_null)
{
	char buf[CHAT_TIME_LEN];

	if (ms == 0 && zero_is_null)
		return json_null();
	return json_string(chat_time_fmt(ms, buf));
}

/*
 * Run the write "st" (bound by the caller) in the caller's transaction or
 * one of its own, and reset it. CHAT_ERR_NOTFOUND when "need_change" is set
 * and no row changed; "unique" is returned for a UNIQUE conflict.
 */
enum chat_err
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

/* The one-integer query "s" into "*id" (a NULL result reads as 0). */
enum chat_err
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
