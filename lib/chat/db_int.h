/* SPDX-License-Identifier: ISC */
/*
 * Private to lib/chat/db*.c: NOT part of the public contract, which is
 * lib/chat/db.h alone; nothing outside lib/chat/db*.c may include this file. It
 * declares the handle, the statement numbers and the helpers that lib/chat/db.c
 * (open, migration, transactions, the statement table, error mapping) shares
 * with the query files db_user.c, db_room.c, db_msg.c, db_media.c and
 * db_rate.c.
 */
#ifndef DB_INT_H
#define DB_INT_H

#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "chat/chat.h"
#include "chat/db.h"

/*
 * The cached statements, one per entry of db_sql[] in db.c. All the SQL
 * text stays in that one table, next to the schema it queries, rather than
 * in a section per query file: a reader checks a query against its tables
 * and indexes on one screen, tools/sqllint and a reviewer find every SQL
 * string in one place, and db_open() prepares the whole table in one loop.
 * A query file names its statements by these numbers only.
 */
enum db_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_BEGIN_READ,
	STMT_USER_INSERT,
	STMT_USER_BY_ID,
	STMT_USER_BY_EMAIL,
	STMT_USER_BY_USERNAME,
	STMT_USER_SET_HASH,
	STMT_USER_SET_LAST_SEEN,
	STMT_USER_CLASHES,
	STMT_USER_NAMED,
	STMT_USER_NAME_OTHER,
	STMT_USER_RENAME,
	STMT_USER_ROOMS,
	STMT_USER_ROOMS_NEWEST,
	STMT_USER_PEERS,
	STMT_USER_ROOM_COUNT,
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
	STMT_RATE_PRUNE,
	STMT_LOGIN_ADDR_IS,
	STMT_LOGIN_ADDR_PUT,
	STMT_LOGIN_ADDR_TRIM,
	STMT__MAX
};

/* One connection of this process and its prepared statements. */
struct db {
	sqlite3 *h;
	sqlite3_stmt *st[STMT__MAX];
	int depth;   /* db_begin() nesting level, 0 outside transactions */
	int aborted; /* rolled back below the outermost level */
	int64_t page_size; /* bytes of a database page (and of a WAL frame's) */
	int busy_ms;       /* the busy timeout db_open() set */
	int wal_pages; /* WAL frames after our last commit (db_wal_manual) */
	int ckpt_next; /* WAL frames at which db_wal_backstop() checkpoints */
	unsigned rate_puts; /* db_rate_take() writes, for db_rate_prune() */
	int reading;        /* in db_read_begin()'s read transaction */
};

/*
 * Helpers of lib/chat/db.c for the query files, each described at its
 * definition there. They log with the "func" they are given, so a failure
 * is reported once, under the public function that met it.
 */
enum chat_err db_error(struct db *db, int rc, const char *func);
void db_done(sqlite3_stmt *st);
enum chat_err db_end(struct db *db, enum chat_err e);
enum chat_err db_write(struct db *db, sqlite3_stmt *st, int need_change,
    enum chat_err unique, const char *func);
enum chat_err db_max_id(
    struct db *db, enum db_stmt s, int64_t *id, const char *func);
json_t *db_col_json(sqlite3_stmt *st, int i);
json_t *db_time_json(int64_t ms, int zero_is_null);
/* db_user_clashes() on the STMT_USER_CLASHES query "st" (db_user.c). */
enum chat_err db_user_clash_each(struct db *db, sqlite3_stmt *st,
    void (*fn)(void *arg, int64_t id, const char *username), void *arg,
    const char *func);

/*
 * The JSON text twins of db_col_json() and db_msg_json(), in db_msg.c for
 * the routes that write their answer as text (lib/common/jsonw.h): each appends
 * to "w" the bytes json_dumps() writes for the jansson value.
 */
struct jsonw;
int db_col_text_add(sqlite3_stmt *st, int i, struct jsonw *w);
void db_time_text_add(struct jsonw *w, int64_t ms, int zero_is_null);
enum chat_err db_msg_text_add(struct db *db, int64_t id, struct jsonw *w);

#endif
