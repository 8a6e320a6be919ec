/* SPDX-License-Identifier: ISC */
/*
 * Messages: the idempotent insert, the message object of API.md, room
 * pages, per-user catch-up and the push daemon's cursor reads, all in id
 * (commit) order. It runs only the statements of db_sql[] in db.c, writes
 * through db_begin()/db_end(), and never builds SQL.
 */
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "chat.h"
#include "db.h"
#include "db_int.h"

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

enum chat_err
db_msg_last_id(struct db *db, int64_t *id)
{
	return db_max_id(db, STMT_MSG_LAST_ID, id, __func__);
}
