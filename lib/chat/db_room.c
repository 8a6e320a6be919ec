/* SPDX-License-Identifier: ISC */
/*
 * Rooms and their members: creation (private pairs folded to one room),
 * membership tests and id lists, and the room and private-chat objects of
 * docs/api.md. It runs only the statements of db_sql[] in db.c, writes through
 * db_begin()/db_end(), and never builds SQL.
 */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>
#include <sqlite3.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "chat/db_int.h"
#include "common/jsonw.h"
#include "common/xmalloc.h"

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
 * Whether "creator" or any of "members" is already in "rooms_max" rooms,
 * counted through the members_user index and at most "rooms_max" entries
 * each. With "full" not NULL, full[0] tells it of the creator and
 * full[i + 1] of members[i]. Returns CHAT_ERR_LIMIT when anyone is full.
 */
static enum chat_err
db_room_full(struct db *db, int64_t creator, const int64_t *members,
    size_t nmembers, int64_t rooms_max, unsigned char *full)
{
	sqlite3_stmt *st = db->st[STMT_USER_ROOM_COUNT];
	enum chat_err e = CHAT_OK;
	size_t i;
	int rc, over;

	for (i = 0; i <= nmembers; i++) {
		if ((rc = sqlite3_bind_int64(
		         st, 1, i == 0 ? creator : members[i - 1])) ||
		    (rc = sqlite3_bind_int64(st, 2, rooms_max)) ||
		    (rc = sqlite3_step(st)) != SQLITE_ROW) {
			db_done(st);
			return db_error(db, rc, __func__);
		}
		over = sqlite3_column_int64(st, 0) >= rooms_max;
		db_done(st);
		if (full != NULL)
			full[i] = (unsigned char)over;
		if (over)
			e = CHAT_ERR_LIMIT;
	}
	return e;
}

/*
 * Create a room with "creator" and "members" (duplicates and the creator
 * folded, by the ON CONFLICT of the member insert), room and members in one
 * transaction. A private room needs exactly one other user: its pair is
 * stored ordered, and an existing pair answers CHAT_ERR_EXISTS with
 * "*room" set to that room, whatever the room counts. Otherwise, when the
 * creator or a member is already in "rooms_max" rooms, nothing is written
 * and the answer is CHAT_ERR_LIMIT with "full" set as db_room_full() says.
 * The count and the inserts share the write lock, so concurrent creates
 * cannot go past the bound.
 */
enum chat_err
db_room_create(struct db *db, const char *name, int is_private, int64_t creator,
    const int64_t *members, size_t nmembers, int64_t rooms_max, int64_t now_ms,
    int64_t *room, unsigned char *full)
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
	if (is_private &&
	    (e = db_room_private_find(db, creator, other, &id)) !=
	        CHAT_ERR_NOTFOUND) {
		if (e == CHAT_OK)
			e = CHAT_ERR_EXISTS;
		goto out;
	}
	e = db_room_full(db, creator, members, nmembers, rooms_max, full);
	if (e != CHAT_OK)
		goto out;

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
 * The room object of docs/api.md. "messages" is present (possibly empty) when
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
 * The private chat of the current row of "st" (STMT_PRIVATE_CHATS)
 * appended to "w", up to and after the "is_online" value, whose offset
 * goes to "*at". The other user of a chat is the end of the pair that is
 * not the caller; its last message is the highest id.
 */
static enum chat_err
db_private_chat_text(
    struct db *db, sqlite3_stmt *st, struct jsonw *w, size_t *at)
{
	int64_t mid = sqlite3_column_int64(st, 5); /* 0 for NULL: none */
	enum chat_err e;
	int bad;

	JSONW_LIT(w, "{\"id\":");
	jsonw_id_add(w, sqlite3_column_int64(st, 0));
	JSONW_LIT(w, ",\"other_user_email\":");
	bad = db_col_text_add(st, 3, w);
	JSONW_LIT(w, ",\"other_user\":{\"id\":");
	jsonw_id_add(w, sqlite3_column_int64(st, 1));
	JSONW_LIT(w, ",\"username\":");
	bad |= db_col_text_add(st, 2, w);
	JSONW_LIT(w, ",\"email\":");
	bad |= db_col_text_add(st, 3, w);
	JSONW_LIT(w, "},\"is_online\":");
	*at = w->len;
	JSONW_LIT(w, ",\"last_seen\":");
	db_time_text_add(w, sqlite3_column_int64(st, 4), 1);
	JSONW_LIT(w, ",\"last_message\":");
	if (bad)
		return CHAT_ERR_DB;
	if (mid <= 0)
		JSONW_LIT(w, "null");
	else if ((e = db_msg_text_add(db, mid, w)) != CHAT_OK)
		return e;
	JSONW_LIT(w, "}");
	return CHAT_OK;
}

/*
 * The private chats as in db.h: they follow one another in "w" with their
 * commas, and each one's "is_online" offset is kept.
 */
enum chat_err
db_private_chats_text(struct db *db, int64_t user, struct db_chats_text *out)
{
	sqlite3_stmt *st = db->st[STMT_PRIVATE_CHATS];
	struct db_chats_text t = {NULL, 0, NULL, NULL, 0};
	struct jsonw w;
	size_t cap = 0;
	enum chat_err e = CHAT_OK;
	int rc;

	jsonw_init(&w);
	if ((rc = sqlite3_bind_int64(st, 1, user)) != SQLITE_OK) {
		e = db_error(db, rc, __func__);
		goto out;
	}
	JSONW_LIT(&w, "[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (t.n == cap) {
			cap = cap ? cap * 2 : 16;
			t.at = xreallocarray(t.at, cap, sizeof(*t.at));
			t.others =
			    xreallocarray(t.others, cap, sizeof(*t.others));
		}
		if (t.n > 0)
			JSONW_LIT(&w, ",");
		if ((e = db_private_chat_text(db, st, &w, &t.at[t.n])) !=
		    CHAT_OK)
			goto out;
		t.others[t.n++] = sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE) {
		e = db_error(db, rc, __func__);
		goto out;
	}
	JSONW_LIT(&w, "]");
	t.s = jsonw_steal(&w, &t.len);
	*out = t;
	t.at = NULL;
	t.others = NULL;
out:
	db_done(st);
	jsonw_finish(&w);
	free(t.at);
	free(t.others);
	return e;
}

char *
db_chats_text_join(
    const struct db_chats_text *t, const int *online, size_t *len)
{
	struct jsonw w;
	size_t i, from = 0;

	jsonw_init(&w);
	for (i = 0; i < t->n; i++) {
		jsonw_raw_add(&w, t->s + from, t->at[i] - from);
		if (online[i])
			JSONW_LIT(&w, "true");
		else
			JSONW_LIT(&w, "false");
		from = t->at[i];
	}
	jsonw_raw_add(&w, t->s + from, t->len - from);
	return jsonw_steal(&w, len);
}

void
db_chats_text_finish(struct db_chats_text *t)
{
	free(t->s);
	free(t->at);
	free(t->others);
	t->s = NULL;
	t->at = NULL;
	t->others = NULL;
	t->len = t->n = 0;
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

enum chat_err
db_room_last_id(struct db *db, int64_t *id)
{
	return db_max_id(db, STMT_ROOM_LAST_ID, id, __func__);
}
