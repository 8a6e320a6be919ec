/* SPDX-License-Identifier: ISC */
/*
 * Presence for the chat application: the table of users with a connected
 * socket, user_status to the peers who share a room, get_online_users,
 * the workers' presence query over the bus, and the last_seen of users who
 * left, written once per turn. Who is online comes from the sockets alone;
 * it must not store anything but last_seen, nor trust a query's content.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chat/db.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "chat_int.h"

static struct chat_user *
chat_presence_user_find(const struct chat_app *a, int64_t id)
{
	return (struct chat_user *)htab_get(&a->users, id);
}

/*
 * 1 when user "id" holds "max" accepted sockets or more already: those of
 * every namespace, as each CONNECT accepted takes one until it leaves.
 */
int
chat_presence_user_full(const struct chat_app *a, int64_t id, uint64_t max)
{
	const struct chat_user *u = chat_presence_user_find(a, id);

	return u != NULL && u->nsock >= max;
}

/* The online entry of "du" with one more socket, created on its first. */
struct chat_user *
chat_presence_user_ref(struct chat_app *a, const struct db_user *du)
{
	struct chat_user *u;
	size_t nlen, elen;

	if ((u = chat_presence_user_find(a, du->id)) != NULL) {
		u->nsock++;
		return u;
	}
	nlen = strlen(du->username);
	elen = strlen(du->email);
	u = xcalloc(1, sizeof(*u) + nlen + elen + 2);
	u->h.key = du->id;
	u->nsock = 1;
	memcpy(u->name, du->username, nlen + 1);
	u->email = u->name + nlen + 1;
	memcpy(u->email, du->email, elen + 1);
	htab_put(&a->users, &u->h);
	return u;
}

/* Remove "u" from the table and free it. */
static void
chat_presence_user_del(struct chat_app *a, struct chat_user *u)
{
	htab_del(&a->users, &u->h);
	free(u);
}

/*
 * Send user_status for "u" once to every connected socket of the users who
 * share a room with it (a peer in several rooms hears it once; "u"'s own
 * sockets are not told about themselves). One encoding for all.
 */
static void
chat_presence_status(
    struct chat_app *a, const struct chat_user *u, int online, int64_t now_ms)
{
	struct sio_socket *ps;
	struct sio_msg *m = NULL;
	char ts[CHAT_TIME_LEN];
	int64_t *peers = NULL;
	size_t n = 0, i;
	json_t *args;

	if (db_user_peers(a->db, u->h.key, &peers, &n) != CHAT_OK)
		return;
	for (i = 0; i < n; i++)
		for (ps = sio_user_first(a->sio, peers[i]); ps != NULL;
		     ps = sio_user_next(ps)) {
			if (m == NULL) {
				args = json_pack("[s{s:o,s:s,s:b,s:s}]",
				    "user_status", "user_id",
				    chat_id_json(u->h.key), "email", u->email,
				    "is_online", online, "last_seen",
				    chat_time_fmt(now_ms, ts));
				m = sio_msg_event(a->nsp, args);
				json_decref(args);
			}
			sio_msg_send(ps, m);
		}
	sio_msg_free(m);
	free(peers);
}

/*
 * A socket of "u" joined its rooms: the user's first one announces
 * user_status online, once.
 */
void
chat_presence_announce(struct chat_app *a, struct chat_user *u)
{
	if (!u->online) {
		u->online = 1;
		chat_presence_status(a, u, 1, chat_now_ms());
	}
}

/*
 * A socket of "u" left: "u" loses it, and with its last socket sends
 * user_status offline (unless the daemon is stopping), queues last_seen
 * for the turn's write and leaves the table ("u" is freed then).
 */
void
chat_presence_user_unref(struct chat_app *a, struct chat_user *u)
{
	int64_t now;

	if (--u->nsock > 0)
		return;
	if (!u->online) { /* refused after connect: never announced */
		chat_presence_user_del(a, u);
		return;
	}
	now = chat_now_ms();
	if (!a->stopping)
		chat_presence_status(a, u, 0, now);
	if (a->nseen == a->cseen) {
		a->cseen = a->cseen == 0 ? 64 : a->cseen * 2;
		a->seen = xreallocarray(a->seen, a->cseen, sizeof(*a->seen));
	}
	a->seen[a->nseen].uid = u->h.key;
	a->seen[a->nseen++].ms = now;
	chat_presence_user_del(a, u);
}

static int
chat_presence_id_cmp(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

/* Append {"id","username","email"} of online user "id" to "arr". */
static void
chat_presence_online_add(struct chat_app *a, json_t *arr, int64_t id)
{
	struct chat_user *u = chat_presence_user_find(a, id);

	if (u != NULL && sio_user_count(a->sio, id) > 0)
		json_array_append_new(arr,
		    json_pack("{s:o,s:s,s:s}", "id", chat_id_json(id),
		        "username", u->name, "email", u->email));
}

/*
 * "get_online_users" from "s": with {"room_id"} (the caller must be a
 * member) the online members of that room, without it the online users
 * who share a room with the caller, the caller included; by id.
 */
void
chat_presence_online(
    struct chat_app *a, struct sio_socket *s, json_t *data, int64_t ack)
{
	int64_t uid = sio_socket_user(s), room, *ids = NULL;
	json_t *v = NULL, *arr;
	enum chat_err e;
	size_t n = 0, i;
	int self = 0;

	if (data != NULL && !json_is_null(data) && !json_is_object(data)) {
		chat_app_fail(s, ack, "Input should be an object");
		return;
	}
	if (json_is_object(data) &&
	    (v = json_object_get(data, "room_id")) == NULL)
		v = json_object_get(data, "room");
	if (v != NULL && !json_is_null(v)) {
		if (chat_id_from_json(v, &room) != 0) {
			chat_app_fail(
			    s, ack, "room_id: Input should be a valid id");
			return;
		}
		if ((e = db_room_is_member(a->db, room, uid)) == CHAT_OK &&
		    (e = db_room_members(a->db, room, &ids, &n)) == CHAT_OK)
			qsort(ids, n, sizeof(*ids), chat_presence_id_cmp);
		self = 1; /* a member is in the list */
	} else
		e = db_user_peers(a->db, uid, &ids, &n);
	if (e != CHAT_OK) {
		chat_app_fail(s, ack,
		    e == CHAT_ERR_NOTFOUND ? CHAT_APP_DENIED
		                           : "Service temporarily unavailable");
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		if (!self && ids[i] > uid) {
			chat_presence_online_add(a, arr, uid);
			self = 1;
		}
		chat_presence_online_add(a, arr, ids[i]);
	}
	if (!self)
		chat_presence_online_add(a, arr, uid);
	free(ids);
	chat_app_reply(s, ack, "online_users", arr);
}

/*
 * bus: a presence query {"type":"online","users":["1",...]}; the reply
 * {"online":[...]} lists those with a connected socket. Anything else is
 * answered {"online":[]}. Returns a new string.
 */
char *
chat_presence_query(void *arg, const char *data, size_t len)
{
	struct chat_app *a = arg;
	json_t *q, *users, *v, *online = json_array(), *r;
	const char *type;
	int64_t id;
	size_t i;
	char *out;

	q = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
	type = json_string_value(json_object_get(q, "type"));
	users = json_object_get(q, "users");
	if (type != NULL && strcmp(type, "online") == 0 && json_is_array(users))
		json_array_foreach(users, i, v)
		{
			if (chat_id_from_json(v, &id) == 0 &&
			    sio_user_count(a->sio, id) > 0)
				json_array_append_new(online, chat_id_json(id));
		}
	json_decref(q);
	r = json_pack("{s:o}", "online", online);
	out = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return out;
}

/*
 * Write the last_seen of the users who left, in one transaction. A user
 * deleted meanwhile reads NOTFOUND and is skipped. When the database is
 * busy or full the transaction is rolled back and the whole queue stays,
 * cut to its newest CHAT_SEEN_MAX entries, for a turn after "seen_retry":
 * 1 s later, doubling up to 16 s, so that a lock held by another process
 * does not stall every turn for busy_timeout. Any other storage error
 * drops the queue (logged where it happened).
 */
void
chat_presence_seen_flush(struct chat_app *a)
{
	enum chat_err e;
	size_t i, drop;

	if ((e = db_begin(a->db)) == CHAT_OK) {
		for (i = 0; i < a->nseen && e == CHAT_OK; i++)
			if ((e = db_user_set_last_seen(a->db, a->seen[i].uid,
			         a->seen[i].ms)) == CHAT_ERR_NOTFOUND)
				e = CHAT_OK;
		if (e == CHAT_OK)
			e = db_commit(a->db);
		else
			db_rollback(a->db); /* SQLite may have done it */
	}
	if (e != CHAT_ERR_BUSY && e != CHAT_ERR_FULL) {
		a->nseen = 0;
		a->seen_backoff = 0;
		return;
	}
	if (a->seen_backoff == 0)
		a->seen_backoff = CHAT_SEEN_RETRY_MS;
	else if (a->seen_backoff < CHAT_SEEN_RETRY_MAX)
		a->seen_backoff *= 2;
	a->seen_retry = uv_now(a->loop) + a->seen_backoff;
	if (a->nseen > CHAT_SEEN_MAX) {
		drop = a->nseen - CHAT_SEEN_MAX;
		log_warnx(
		    "%s: %zu last_seen update(s) dropped", __func__, drop);
		memmove(
		    a->seen, a->seen + drop, CHAT_SEEN_MAX * sizeof(*a->seen));
		a->nseen = CHAT_SEEN_MAX;
	}
}

/* htab_finish() callback: free one entry of the user table. */
static void
chat_presence_user_free(struct htab_ent *e)
{
	free(e);
}

/* Free the user table and the last_seen queue (the loop has ended). */
void
chat_presence_finish(struct chat_app *a)
{
	htab_finish(&a->users, chat_presence_user_free);
	free(a->seen);
}
