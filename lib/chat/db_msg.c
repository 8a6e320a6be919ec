/* SPDX-License-Identifier: ISC */
/*
 * Messages: the idempotent insert, the message object of docs/api.md, room
 * pages, per-user catch-up and the push daemon's cursor reads, all in id
 * (commit) order. It runs only the statements of db_sql[] in db.c, writes
 * through db_begin()/db_end(), and never builds SQL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "chat/db_int.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "common/xmalloc.h"

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

enum chat_err
db_msg_text(struct db *db, int64_t id, char **out, size_t *len)
{
	struct jsonw w;
	enum chat_err e;

	jsonw_init(&w);
	if ((e = db_msg_text_add(db, id, &w)) == CHAT_OK)
		*out = jsonw_steal(&w, len);
	jsonw_finish(&w);
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
 * Text column "i" of "st" as a JSON string, or null for SQL NULL, appended
 * to "w" as db_col_json() would serialise it. Returns 0, or -1 after
 * logging when the text is not UTF-8.
 */
int
db_col_text_add(sqlite3_stmt *st, int i, struct jsonw *w)
{
	const unsigned char *s;

	if (sqlite3_column_type(st, i) == SQLITE_NULL) {
		JSONW_LIT(w, "null");
		return 0;
	}
	if ((s = sqlite3_column_text(st, i)) == NULL)
		fatalx("%s: out of memory", __func__);
	if (jsonw_string_add(w, (const char *)s,
	        (size_t)sqlite3_column_bytes(st, i)) == -1) {
		log_warnx("%s: %s is not valid UTF-8", __func__,
		    sqlite3_column_name(st, i));
		return -1;
	}
	return 0;
}

/*
 * The message object of the current row of "st" (MSG_COLS) appended to
 * "w" as JSON text, the same bytes as json_dumps() of db_msg_row() with
 * JSON_COMPACT. Returns 0, or -1 after logging.
 */
static int
db_msg_row_text(sqlite3_stmt *st, struct jsonw *w)
{
	int bad = 0;

	JSONW_LIT(w, "{\"id\":");
	jsonw_id_add(w, sqlite3_column_int64(st, 0));
	JSONW_LIT(w, ",\"room_id\":");
	jsonw_id_add(w, sqlite3_column_int64(st, 1));
	JSONW_LIT(w, ",\"sender\":");
	bad |= db_col_text_add(st, 2, w);
	JSONW_LIT(w, ",\"sender_id\":");
	jsonw_id_add(w, sqlite3_column_int64(st, 3));
	JSONW_LIT(w, ",\"sender_username\":");
	bad |= db_col_text_add(st, 4, w);
	JSONW_LIT(w, ",\"content\":");
	bad |= db_col_text_add(st, 5, w);
	JSONW_LIT(w, ",\"media_url\":");
	bad |= db_col_text_add(st, 6, w);
	JSONW_LIT(w, ",\"client_id\":");
	bad |= db_col_text_add(st, 7, w);
	JSONW_LIT(w, ",\"timestamp\":");
	db_time_text_add(w, sqlite3_column_int64(st, 8), 0);
	JSONW_LIT(w, "}");
	return bad ? -1 : 0;
}

/* "ms" appended as db_time_json() would serialise it. */
void
db_time_text_add(struct jsonw *w, int64_t ms, int zero_is_null)
{
	char when[CHAT_TIME_LEN + 1];

	if (ms == 0 && zero_is_null) {
		JSONW_LIT(w, "null");
		return;
	}
	when[0] = '"';
	chat_time_fmt(ms, when + 1);
	/* chat_time_fmt() always writes 24 characters. */
	when[25] = '"';
	jsonw_raw_add(w, when, 26);
}

/* db_msg_json() written as text: the message "id" appended to "w". */
enum chat_err
db_msg_text_add(struct db *db, int64_t id, struct jsonw *w)
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
	if (db_msg_row_text(st, w) == -1)
		e = CHAT_ERR_DB;
out:
	db_done(st);
	return e;
}

/*
 * db_msgs_json() written as text: the rows of the bound query "st" are
 * appended one after the other, their offsets kept, and the array is then
 * put together in output order ("reverse" for newest-first queries).
 */
enum chat_err
db_msgs_text(struct db *db, int64_t room, int limit, int64_t before,
    int64_t after, char **out, size_t *outlen)
{
	struct jsonw rows, a;
	sqlite3_stmt *st;
	size_t *off = NULL, n = 0, i, k;
	enum chat_err e = CHAT_OK;
	int rc, reverse = after <= 0;

	if (limit < 1 || (before > 0 && after > 0))
		return CHAT_ERR_INVALID;
	jsonw_init(&rows);
	jsonw_init(&a);
	st = db->st[before > 0 ? STMT_MSGS_BEFORE
	        : after > 0    ? STMT_MSGS_AFTER
	                       : STMT_MSGS_NEWEST];
	if ((rc = sqlite3_bind_int64(st, 1, room)) ||
	    (rc = sqlite3_bind_int64(st, 2, limit)) ||
	    ((before > 0 || after > 0) &&
	        (rc = sqlite3_bind_int64(
	             st, 3, before > 0 ? before : after)))) {
		e = db_error(db, rc, __func__);
		goto out;
	}
	off = xcalloc((size_t)limit + 1, sizeof(*off));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < (size_t)limit) {
		if (db_msg_row_text(st, &rows) == -1) {
			e = CHAT_ERR_DB;
			goto out;
		}
		off[++n] = rows.len;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		e = db_error(db, rc, __func__);
		goto out;
	}
	JSONW_LIT(&a, "[");
	for (i = 0; i < n; i++) {
		k = reverse ? n - 1 - i : i;
		if (i > 0)
			JSONW_LIT(&a, ",");
		jsonw_raw_add(&a, rows.s + off[k], off[k + 1] - off[k]);
	}
	JSONW_LIT(&a, "]");
	*out = jsonw_steal(&a, outlen);
out:
	db_done(st);
	free(off);
	jsonw_finish(&rows);
	jsonw_finish(&a);
	return e;
}

/*
 * Catch-up: messages newer than "after" and at most "upto" (the push
 * daemon's cursor) in the rooms of "user", in id (commit) order. One row
 * past "limit" is asked for to set "*more".
 */
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
