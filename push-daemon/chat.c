/* SPDX-License-Identifier: ISC */
/*
 * The chat application of the push daemon: who may connect (the JWT of
 * the CONNECT), which rooms a socket is in, chat_message stored through
 * lib/chat exactly as REST stores it (group commit per loop turn), pushes
 * read from SQLite in id order behind one cursor, catch-up, presence and
 * user_status. SQLite stays the source of truth: nothing here trusts a
 * ZeroMQ hint's content or keeps a message in memory past its turn.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <uv.h>

#include "../lib/chat.h"
#include "bus.h"
#include "chat.h"
#include "conf.h"
#include "db.h"
#include "form.h"
#include "log.h"
#include "token.h"
#include "xmalloc.h"

#define CHAT_APP_BATCH_MAX    4096 /* chat_message events stored per commit */
#define CHAT_APP_PUSH_BATCH   256  /* messages read per push query */
#define CHAT_APP_PUSH_ROUNDS  16   /* push queries per loop turn */
#define CHAT_APP_TICK_MS      1000 /* safety-net push when hints are lost */
#define CHAT_APP_DETAIL_MAX   512  /* bytes of a joined validation detail */
#define CHAT_APP_MSG_OVERHEAD 1024 /* bytes of a chat_response but content */

static const char chat_app_denied[] = "Chat room not found or access denied";

/*
 * A user with at least one accepted socket, shared by those sockets
 * (sio_socket_data): what presence answers need without a query.
 */
struct chat_user {
	struct chat_user *next; /* hash chain */
	int64_t id;
	uint32_t nsock;   /* accepted sockets */
	uint32_t pending; /* chat_message events of theirs still queued */
	int online;       /* user_status is_online:true was sent */
	char *email;      /* points into name[] */
	char name[];      /* username, NUL, email, NUL */
};

/* A chat_message waiting for the turn's commit. */
struct chat_pend {
	struct sio_socket *s; /* NULL once the socket left */
	int64_t uid, room, ack;
	json_t *data; /* reference to the event's object: owns in's strings */
	struct chat_msg_in in;
	struct chat_msg_out out;
	enum chat_err e;
};

/* A last_seen to write. */
struct chat_seen {
	int64_t uid, ms;
};

struct chat_app {
	uv_loop_t *loop;
	const struct conf *cf;
	struct db *db;
	const struct token_key *key;
	struct sio *sio;
	struct sio_nsp *nsp;
	struct bus_srv *bus;
	uv_timer_t tick;          /* safety-net push every CHAT_APP_TICK_MS */
	uv_timer_t again;         /* the push stopped at its budget: go on */
	struct chat_user **users; /* hash table of online users */
	size_t nb, nusers;
	struct chat_pend *pend; /* this turn's chat_message events */
	size_t npend, cpend;
	struct chat_seen *seen; /* this turn's last disconnects */
	size_t nseen, cseen;
	int64_t last_pushed; /* every message up to it was pushed */
	int64_t known_room;  /* every room up to it has its sockets joined */
	int want_push;       /* a hint came: read past last_pushed */
	int stopping;
};

/* Bucket of user "id" in a table of "nb" (a power of two) buckets. */
static size_t
chat_app_slot(int64_t id, size_t nb)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;

	return (size_t)(h ^ h >> 29) & (nb - 1);
}

static struct chat_user *
chat_app_user_find(const struct chat_app *a, int64_t id)
{
	struct chat_user *u;

	if (a->nb == 0)
		return NULL;
	for (u = a->users[chat_app_slot(id, a->nb)]; u != NULL; u = u->next)
		if (u->id == id)
			return u;
	return NULL;
}

/*
 * The online entry of "du" with one more socket, created (and the table
 * doubled when full) on its first socket.
 */
static struct chat_user *
chat_app_user_ref(struct chat_app *a, const struct db_user *du)
{
	struct chat_user *u, **nt, *next;
	size_t i, nlen, elen, nnb;

	if ((u = chat_app_user_find(a, du->id)) != NULL) {
		u->nsock++;
		return u;
	}
	if (a->nusers >= a->nb) {
		nnb = a->nb == 0 ? 256 : a->nb * 2;
		nt = xcalloc(nnb, sizeof(*nt));
		for (i = 0; i < a->nb; i++)
			for (u = a->users[i]; u != NULL; u = next) {
				next = u->next;
				u->next = nt[chat_app_slot(u->id, nnb)];
				nt[chat_app_slot(u->id, nnb)] = u;
			}
		free(a->users);
		a->users = nt;
		a->nb = nnb;
	}
	nlen = strlen(du->username);
	elen = strlen(du->email);
	u = xcalloc(1, sizeof(*u) + nlen + elen + 2);
	u->id = du->id;
	u->nsock = 1;
	memcpy(u->name, du->username, nlen + 1);
	u->email = u->name + nlen + 1;
	memcpy(u->email, du->email, elen + 1);
	i = chat_app_slot(u->id, a->nb);
	u->next = a->users[i];
	a->users[i] = u;
	a->nusers++;
	return u;
}

/* Remove "u" from the table and free it. */
static void
chat_app_user_del(struct chat_app *a, struct chat_user *u)
{
	struct chat_user **pp = &a->users[chat_app_slot(u->id, a->nb)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			a->nusers--;
			break;
		}
	free(u);
}

/*
 * Answer "s": through acknowledgement "ack" when the client asked for one,
 * else as event "event". Steals "res".
 */
static void
chat_app_reply(
    struct sio_socket *s, int64_t ack, const char *event, json_t *res)
{
	json_t *args;

	if (ack >= 0) {
		args = json_pack("[o]", res);
		sio_ack(s, ack, args, NULL, 0);
	} else {
		args = json_pack("[so]", event, res);
		sio_emit(s, args, NULL, 0);
	}
	json_decref(args);
}

/*
 * Refuse a request of "s": {"status":"error","detail"} through the
 * acknowledgement, or the "error" event {"message"} without one.
 */
static void
chat_app_fail(struct sio_socket *s, int64_t ack, const char *detail)
{
	if (ack >= 0)
		chat_app_reply(s, ack, NULL,
		    json_pack(
		        "{s:s,s:s}", "status", "error", "detail", detail));
	else
		chat_app_reply(
		    s, -1, "error", json_pack("{s:s}", "message", detail));
}

/* Append "field: msg" to the detail "buf" of "sz" bytes, "; "-separated. */
static void
chat_app_detail_add(char *buf, size_t sz, const char *field, const char *msg)
{
	size_t len = strlen(buf);

	if (len + 1 >= sz)
		return;
	snprintf(
	    buf + len, sz - len, "%s%s: %s", len > 0 ? "; " : "", field, msg);
}

/*
 * The "detail" string of a failed chat_msg_post(): the 422 errors of REST
 * become "field: msg" joined by "; ", the rest a fixed sentence.
 */
static void
chat_app_detail(const struct chat_pend *p, char *buf, size_t sz)
{
	const char *field, *msg;
	json_t *item;
	size_t i;

	buf[0] = '\0';
	switch (p->e) {
	case CHAT_ERR_NOTFOUND:
		snprintf(buf, sz, "%s", chat_app_denied);
		break;
	case CHAT_ERR_RATE:
		snprintf(buf, sz, "rate limited");
		break;
	case CHAT_ERR_INVALID:
		json_array_foreach(p->out.detail, i, item)
		{
			field = json_string_value(
			    json_array_get(json_object_get(item, "loc"), 1));
			msg = json_string_value(json_object_get(item, "msg"));
			chat_app_detail_add(buf, sz,
			    field != NULL ? field : "data",
			    msg != NULL ? msg : "invalid");
		}
		break;
	case CHAT_ERR_BUSY:
		snprintf(buf, sz, "Service temporarily unavailable");
		break;
	case CHAT_ERR_FULL:
		snprintf(buf, sz, "Insufficient storage");
		break;
	default:
		snprintf(buf, sz, "Internal Server Error");
		break;
	}
}

/*
 * Send user_status for "u" once to every connected socket of the users who
 * share a room with it (a peer in several rooms hears it once; "u"'s own
 * sockets are not told about themselves). One encoding for all.
 */
static void
chat_app_status(
    struct chat_app *a, const struct chat_user *u, int online, int64_t now_ms)
{
	struct sio_socket *ps;
	struct sio_msg *m = NULL;
	char ts[CHAT_TIME_LEN];
	int64_t *peers = NULL;
	size_t n = 0, i;
	json_t *args;

	if (db_user_peers(a->db, u->id, &peers, &n) != CHAT_OK)
		return;
	for (i = 0; i < n; i++)
		for (ps = sio_user_first(a->sio, peers[i]); ps != NULL;
		     ps = sio_user_next(ps)) {
			if (m == NULL) {
				args = json_pack("[s{s:o,s:s,s:b,s:s}]",
				    "user_status", "user_id",
				    chat_id_json(u->id), "email", u->email,
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
 * Join the connected sockets of the members of every room created since
 * the last call. Rooms are never deleted and their ids are rowids taken
 * under the write lock, so they increase in commit order and leave no
 * gap; members are fixed when a room is created. Hence a room at or below
 * known_room had its members' sockets joined when it was synced, and
 * sockets that connect later read their rooms themselves.
 */
static void
chat_app_rooms_sync(struct chat_app *a)
{
	struct sio_socket *s;
	int64_t last, r, *ids;
	size_t n, i;

	if (db_room_last_id(a->db, &last) != CHAT_OK)
		return;
	for (r = a->known_room + 1; r <= last; r++) {
		if (db_room_members(a->db, r, &ids, &n) != CHAT_OK)
			return; /* the next hint or tick goes on from r */
		for (i = 0; i < n; i++)
			for (s = sio_user_first(a->sio, ids[i]); s != NULL;
			     s = sio_user_next(s))
				sio_room_join(s, r);
		free(ids);
		a->known_room = r;
	}
}

/* ["chat_response", {"room_id", "message": "m"}]; new reference. */
static json_t *
chat_app_response(json_t *m)
{
	return json_pack("[s{s:O,s:O}]", "chat_response", "room_id",
	    json_object_get(m, "room_id"), "message", m);
}

static void
chat_app_again_cb(uv_timer_t *t)
{
	struct chat_app *a = t->data;

	a->want_push = 1;
}

/*
 * Push every message newer than last_pushed, in id order, to the sockets
 * of its room: encoded once per message, queued by reference. Rooms newer
 * than known_room are synced first, so a room whose hint is late or lost
 * still reaches its members. At most CHAT_APP_PUSH_ROUNDS queries per
 * call; the rest goes on in the next turn. A failed read is retried by the
 * next hint or tick, from the same cursor.
 */
static void
chat_app_push(struct chat_app *a)
{
	struct sio_msg *msg;
	json_t *arr, *m, *args;
	int64_t id, room;
	size_t i;
	int round, more = 0;

	for (round = 0; round < CHAT_APP_PUSH_ROUNDS; round++) {
		arr = NULL;
		if (db_msgs_after(a->db, a->last_pushed, CHAT_APP_PUSH_BATCH,
		        &arr, &more) != CHAT_OK)
			return;
		json_array_foreach(arr, i, m)
		{
			if (chat_id_from_json(json_object_get(m, "id"), &id) ||
			    chat_id_from_json(
			        json_object_get(m, "room_id"), &room))
				abort(); /* db_msg_row() wrote them */
			if (room > a->known_room)
				chat_app_rooms_sync(a);
			if (sio_room_count(a->nsp, room) > 0) {
				args = chat_app_response(m);
				msg = sio_msg_event(a->nsp, args);
				sio_room_send(a->nsp, room, msg, NULL);
				sio_msg_free(msg);
				json_decref(args);
			}
			a->last_pushed = id;
		}
		json_decref(arr);
		if (!more)
			return;
	}
	uv_timer_start(&a->again, chat_app_again_cb, 0, 0);
}

/*
 * Store the turn's chat_message events. Normally one BEGIN IMMEDIATE
 * around them all, each chat_msg_post() nested in it (its refusals write
 * nothing and leave the batch intact). When a storage error rolls the
 * batch back, or the COMMIT fails, every message is stored again alone,
 * so that one bad message cannot fail the others; a database that is
 * busy or full answers the rest with the same error without more waits.
 */
static void
chat_app_store(struct chat_app *a)
{
	const struct conf *cf = a->cf;
	int64_t now = chat_now_ms();
	struct chat_pend *p;
	enum chat_err e, stuck = CHAT_OK;
	size_t i;

	if (a->npend > 1) {
		if ((e = db_begin(a->db)) != CHAT_OK) {
			if (e == CHAT_ERR_BUSY || e == CHAT_ERR_FULL)
				stuck = e;
		} else {
			for (i = 0; i < a->npend; i++) {
				p = &a->pend[i];
				p->e = chat_msg_post(a->db, cf, p->uid, p->room,
				    &p->in, "data", now, &p->out);
				if (p->e == CHAT_ERR_BUSY ||
				    p->e == CHAT_ERR_FULL ||
				    p->e == CHAT_ERR_DB)
					break;
			}
			if (i == a->npend) {
				if (db_commit(a->db) == CHAT_OK)
					goto out;
			} else
				db_rollback(a->db); /* maybe done already */
			for (i = 0; i < a->npend; i++)
				chat_msg_out_finish(&a->pend[i].out);
			log_warnx("%s: batch of %zu failed, storing one by one",
			    __func__, a->npend);
		}
	}
	for (i = 0; i < a->npend; i++) {
		p = &a->pend[i];
		memset(&p->out, 0, sizeof(p->out));
		if ((p->e = stuck) != CHAT_OK)
			continue;
		p->e = chat_msg_post(
		    a->db, cf, p->uid, p->room, &p->in, "data", now, &p->out);
		if (p->e == CHAT_ERR_BUSY || p->e == CHAT_ERR_FULL)
			stuck = p->e;
	}
out:
	a->want_push = 1;
}

/*
 * Answer every stored chat_message whose socket is still connected: the
 * acknowledgement {"status":"received","message"} when asked, errors as
 * chat_app_fail() sends them. Then empty the queue.
 */
static void
chat_app_answer(struct chat_app *a)
{
	char detail[CHAT_APP_DETAIL_MAX];
	struct chat_user *u;
	struct chat_pend *p;
	size_t i;

	for (i = 0; i < a->npend; i++) {
		p = &a->pend[i];
		if (p->s != NULL) {
			u = sio_socket_data(p->s);
			u->pending--;
			if (p->e == CHAT_OK && p->ack >= 0)
				chat_app_reply(p->s, p->ack, NULL,
				    json_pack("{s:s,s:O}", "status", "received",
				        "message", p->out.msg));
			else if (p->e != CHAT_OK) {
				chat_app_detail(p, detail, sizeof(detail));
				chat_app_fail(p->s, p->ack, detail);
			}
		}
		chat_msg_out_finish(&p->out);
		json_decref(p->data);
	}
	a->npend = 0;
}

/* Write the last_seen of the users who left, in one transaction. */
static void
chat_app_seen_flush(struct chat_app *a)
{
	size_t i;

	if (db_begin(a->db) == CHAT_OK) {
		for (i = 0; i < a->nseen; i++)
			if (db_user_set_last_seen(a->db, a->seen[i].uid,
			        a->seen[i].ms) != CHAT_OK)
				break; /* a deleted user reads NOTFOUND: fine */
		db_commit(a->db);
	}
	a->nseen = 0;
}

/*
 * The end of every loop turn (sio's turn, before output is written):
 * store the turn's messages in one transaction, push everything new in id
 * order, then send the acknowledgements, so that an ack never precedes
 * the commit and a pushed message never precedes an older one.
 */
static void
chat_app_turn(void *app)
{
	struct chat_app *a = app;

	if (a->npend > 0)
		chat_app_store(a);
	if (a->want_push) {
		a->want_push = 0;
		chat_app_rooms_sync(a);
		chat_app_push(a);
	}
	if (a->npend > 0)
		chat_app_answer(a);
	if (a->nseen > 0)
		chat_app_seen_flush(a);
}

/*
 * The token of a CONNECT, from the first place that has one: auth.token,
 * the handshake's ?token=, its Authorization: Bearer header. Returns a
 * new string, or NULL (none, or a token of the wrong type).
 */
static char *
chat_app_token(json_t *auth, const struct sio_handshake *hs)
{
	struct form f = {NULL, 0};
	const char *h, *v;
	json_t *t;
	char *tok = NULL;
	size_t n;

	if ((t = json_object_get(auth, "token")) != NULL)
		return json_is_string(t) ? xstrdup(json_string_value(t)) : NULL;
	if (form_parse(&f, hs->query, strlen(hs->query)) == FORM_OK &&
	    (v = form_get(&f, "token")) != NULL) {
		tok = xstrdup(v);
		goto out;
	}
	if ((h = hs->authorization) == NULL)
		goto out;
	h += strspn(h, " \t");
	if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		goto out;
	h += 6;
	h += strspn(h, " \t");
	n = strlen(h);
	while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	tok = xstrndup(h, n);
out:
	form_finish(&f);
	return tok;
}

/*
 * sio: may "s" connect? The token must pass token_check() (length cap
 * before decoding, signature, HS256, exp/nbf/iat), name an existing user,
 * and be issued at or after that user's tokens_valid_after. Anything else
 * is refused with {"message":"unauthorized"}; a database failure with
 * "Service temporarily unavailable". The socket then holds its user entry.
 */
static int
chat_app_connect(void *app, struct sio_socket *s, json_t *auth,
    const struct sio_handshake *hs, json_t **refusal)
{
	struct chat_app *a = app;
	struct db_user du;
	int64_t uid, iat;
	enum chat_err e;
	char *tok = NULL;
	int rc = -1;

	memset(&du, 0, sizeof(du));
	if (!json_is_object(auth) || (tok = chat_app_token(auth, hs)) == NULL)
		goto out;
	if (token_check(a->key, tok, chat_now_ms() / 1000, a->cf->token_leeway,
	        &uid, &iat) != CHAT_OK)
		goto out;
	if ((e = db_user_by_id(a->db, uid, &du)) != CHAT_OK) {
		if (e != CHAT_ERR_NOTFOUND)
			*refusal = json_pack("{s:s}", "message",
			    "Service temporarily unavailable");
		goto out;
	}
	if (iat < du.tokens_valid_after)
		goto out;
	sio_socket_set_data(s, chat_app_user_ref(a, &du));
	rc = 0;
out:
	if (rc == -1 && *refusal == NULL)
		*refusal = json_pack("{s:s}", "message", "unauthorized");
	if (tok != NULL) {
		explicit_bzero(tok, strlen(tok));
		free(tok);
	}
	db_user_finish(&du);
	return rc;
}

/*
 * Replay to "s" every message of its user's rooms with after < id <=
 * last_pushed, oldest first, at most catchup_max, then "catch_up". Ids
 * above last_pushed are not sent: the push path delivers them to "s",
 * which is in its rooms already, so each message arrives exactly once.
 * The replay also stops at half the send queue (a catch-up must not get
 * its own socket cut off as a slow reader). Cut short, or after a failed
 * read, it says "complete": false and the client pages over REST.
 */
static void
chat_app_catchup(struct chat_app *a, struct sio_socket *s, int64_t after)
{
	json_t *arr = NULL, *m, *args;
	uint64_t budget = (uint64_t)a->cf->send_queue_max / 2, bytes = 0;
	int64_t last = after;
	size_t i;
	int more = 0;

	if (after < a->last_pushed &&
	    db_msgs_for_user_between(a->db, sio_socket_user(s), after,
	        a->last_pushed, (int)a->cf->catchup_max, &arr,
	        &more) != CHAT_OK)
		more = 1;
	json_array_foreach(arr, i, m)
	{
		/* Escaping may double the text: keep within the send queue. */
		bytes += CHAT_APP_MSG_OVERHEAD +
		    2 * json_string_length(json_object_get(m, "content"));
		if (bytes > budget) {
			more = 1;
			break;
		}
		args = chat_app_response(m);
		sio_emit(s, args, NULL, 0);
		json_decref(args);
		chat_id_from_json(json_object_get(m, "id"), &last);
	}
	json_decref(arr);
	args = json_pack("[s{s:b,s:o}]", "catch_up", "complete", !more,
	    "last_message_id", chat_id_json(last));
	sio_emit(s, args, NULL, 0);
	json_decref(args);
}

/*
 * auth.last_message_id into "*after": an id string or integer, or 0 / "0"
 * for "from the start". Returns 1 when given, 0 when absent or null, -1
 * when malformed.
 */
static int
chat_app_after(json_t *auth, int64_t *after)
{
	json_t *v = json_object_get(auth, "last_message_id");

	if (v == NULL || json_is_null(v))
		return 0;
	if ((json_is_integer(v) && json_integer_value(v) == 0) ||
	    (json_is_string(v) && strcmp(json_string_value(v), "0") == 0)) {
		*after = 0;
		return 1;
	}
	return chat_id_from_json(v, after) == 0 ? 1 : -1;
}

/*
 * sio: "s" is connected. It joins its user's rooms; a user's first socket
 * announces user_status online; then catch-up when asked. A client that
 * saw ids past last_pushed (over REST) first has the push cursor moved up
 * to them, while its socket is in no room yet, so it gets no repeats.
 */
static void
chat_app_connected(void *app, struct sio_socket *s, json_t *auth)
{
	struct chat_app *a = app;
	struct chat_user *u = sio_socket_data(s);
	int64_t after = 0, *rooms = NULL;
	size_t n = 0, i;
	int given;

	if ((given = chat_app_after(auth, &after)) == 1 &&
	    after > a->last_pushed) {
		chat_app_rooms_sync(a);
		chat_app_push(a);
	}
	sio_socket_set_user(s, u->id);
	if (db_user_rooms(a->db, u->id, &rooms, &n) != CHAT_OK) {
		sio_socket_disconnect(s);
		return;
	}
	for (i = 0; i < n; i++)
		sio_room_join(s, rooms[i]);
	free(rooms);
	if (!u->online) {
		u->online = 1;
		chat_app_status(a, u, 1, chat_now_ms());
	}
	if (given == -1)
		chat_app_fail(
		    s, -1, "last_message_id: Input should be a valid id");
	else if (given == 1)
		chat_app_catchup(a, s, after);
}

/*
 * sio: "s" left (its rooms and user list already). Its queued messages
 * are still stored but not answered. The user's last socket sends
 * user_status offline and queues last_seen for the turn's write.
 */
static void
chat_app_disconnect(void *app, struct sio_socket *s, const char *reason)
{
	struct chat_app *a = app;
	struct chat_user *u = sio_socket_data(s);
	int64_t now;
	size_t i;

	(void)reason;
	if (u == NULL)
		return;
	for (i = 0; u->pending > 0 && i < a->npend; i++)
		if (a->pend[i].s == s) {
			a->pend[i].s = NULL;
			u->pending--;
		}
	if (--u->nsock > 0)
		return;
	if (!u->online) { /* refused after connect: never announced */
		chat_app_user_del(a, u);
		return;
	}
	now = chat_now_ms();
	if (!a->stopping)
		chat_app_status(a, u, 0, now);
	if (a->nseen == a->cseen) {
		a->cseen = a->cseen == 0 ? 64 : a->cseen * 2;
		a->seen = xreallocarray(a->seen, a->cseen, sizeof(*a->seen));
	}
	a->seen[a->nseen].uid = u->id;
	a->seen[a->nseen++].ms = now;
	chat_app_user_del(a, u);
}

/*
 * An optional string field "name" of "o" into "*out" (NULL when absent or
 * null). Returns 0, or -1 after adding its error to "buf".
 */
static int
chat_app_field_str(json_t *o, const char *name, const char *alias,
    const char **out, char *buf, size_t sz)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL && alias != NULL)
		v = json_object_get(o, alias);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		chat_app_detail_add(
		    buf, sz, name, "Input should be a valid string");
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/*
 * "chat_message" from "s": check the shapes here (types and room id),
 * then queue it for the turn's commit, where chat_msg_post() validates
 * and stores it as REST does. A full queue is stored at once.
 */
static void
chat_app_message(
    struct chat_app *a, struct sio_socket *s, json_t *data, int64_t ack)
{
	char detail[CHAT_APP_DETAIL_MAX] = "";
	struct chat_user *u = sio_socket_data(s);
	struct chat_pend *p;
	struct chat_msg_in in;
	int64_t room = 0;
	json_t *v;
	int bad = 0;

	if (!json_is_object(data)) {
		chat_app_fail(s, ack, "Input should be an object");
		return;
	}
	if ((v = json_object_get(data, "room_id")) == NULL)
		v = json_object_get(data, "room");
	if (v == NULL) {
		chat_app_detail_add(
		    detail, sizeof(detail), "room_id", "Field required");
		bad = 1;
	} else if (chat_id_from_json(v, &room) != 0) {
		chat_app_detail_add(detail, sizeof(detail), "room_id",
		    "Input should be a valid id");
		bad = 1;
	}
	bad |= chat_app_field_str(data, "content", "message", &in.content,
	           detail, sizeof(detail)) != 0;
	bad |= chat_app_field_str(data, "media_url", NULL, &in.media_url,
	           detail, sizeof(detail)) != 0;
	bad |= chat_app_field_str(data, "client_id", NULL, &in.client_id,
	           detail, sizeof(detail)) != 0;
	if (bad) {
		chat_app_fail(s, ack, detail);
		return;
	}
	if (a->npend == a->cpend) {
		a->cpend = a->cpend == 0 ? 64 : a->cpend * 2;
		a->pend = xreallocarray(a->pend, a->cpend, sizeof(*a->pend));
	}
	p = &a->pend[a->npend++];
	memset(p, 0, sizeof(*p));
	p->s = s;
	p->uid = u->id;
	p->room = room;
	p->ack = ack;
	p->data = json_incref(data);
	p->in = in;
	u->pending++;
	if (a->npend == CHAT_APP_BATCH_MAX)
		chat_app_turn(a);
}

static int
chat_app_id_cmp(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

/* Append {"id","username","email"} of online user "id" to "arr". */
static void
chat_app_online_add(struct chat_app *a, json_t *arr, int64_t id)
{
	struct chat_user *u = chat_app_user_find(a, id);

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
static void
chat_app_online(
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
			qsort(ids, n, sizeof(*ids), chat_app_id_cmp);
		self = 1; /* a member is in the list */
	} else
		e = db_user_peers(a->db, uid, &ids, &n);
	if (e != CHAT_OK) {
		chat_app_fail(s, ack,
		    e == CHAT_ERR_NOTFOUND ? chat_app_denied
		                           : "Service temporarily unavailable");
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		if (!self && ids[i] > uid) {
			chat_app_online_add(a, arr, uid);
			self = 1;
		}
		chat_app_online_add(a, arr, ids[i]);
	}
	if (!self)
		chat_app_online_add(a, arr, uid);
	free(ids);
	chat_app_reply(s, ack, "online_users", arr);
}

/* sio: an event from "s"; unknown events and attachments are ignored. */
static void
chat_app_event(void *app, struct sio_socket *s, json_t *args, int64_t ack,
    const struct sio_bin *bins, size_t nbins)
{
	const char *name = json_string_value(json_array_get(args, 0));

	(void)bins;
	(void)nbins;
	if (name == NULL)
		return;
	if (strcmp(name, "chat_message") == 0)
		chat_app_message(app, s, json_array_get(args, 1), ack);
	else if (strcmp(name, "get_online_users") == 0)
		chat_app_online(app, s, json_array_get(args, 1), ack);
}

/*
 * bus: an event hint. Its content is not trusted nor needed: any hint
 * means "look at the database" (new rooms, then new messages).
 */
static void
chat_app_hint(void *arg, const char *data, size_t len)
{
	struct chat_app *a = arg;

	(void)data;
	(void)len;
	a->want_push = 1;
}

/*
 * bus: a presence query {"type":"online","users":["1",...]}; the reply
 * {"online":[...]} lists those with a connected socket. Anything else is
 * answered {"online":[]}. Returns a new string.
 */
static char *
chat_app_query(void *arg, const char *data, size_t len)
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

static void
chat_app_tick_cb(uv_timer_t *t)
{
	struct chat_app *a = t->data;

	a->want_push = 1;
}

struct chat_app *
chat_app_new(uv_loop_t *loop, const struct conf *cf, struct db *db,
    const struct token_key *key, const struct eio_conf *ec)
{
	static const struct sio_ops ops = {chat_app_connect, chat_app_connected,
	    chat_app_event, chat_app_disconnect, chat_app_turn};
	struct chat_app *a = xcalloc(1, sizeof(*a));
	struct bus_srv_cb cb = {chat_app_hint, chat_app_query, a};

	a->loop = loop;
	a->cf = cf;
	a->db = db;
	a->key = key;
	if (db_msg_last_id(db, &a->last_pushed) != CHAT_OK ||
	    db_room_last_id(db, &a->known_room) != CHAT_OK) {
		free(a);
		return NULL;
	}
	log_info("push cursor at message %" PRId64 ", room %" PRId64,
	    a->last_pushed, a->known_room);
	a->sio = sio_new(loop, ec, &ops, a);
	a->nsp = sio_nsp_find(a->sio, "/");
	uv_timer_init(loop, &a->tick);
	uv_timer_init(loop, &a->again);
	a->tick.data = a->again.data = a;
	uv_timer_start(
	    &a->tick, chat_app_tick_cb, CHAT_APP_TICK_MS, CHAT_APP_TICK_MS);
	if ((a->bus = bus_srv_new(loop, cf->bus_events, cf->bus_query, &cb)) ==
	    NULL) {
		/* Nothing else is in the loop yet: close what was opened. */
		chat_app_stop(a);
		uv_run(loop, UV_RUN_DEFAULT);
		chat_app_free(a);
		return NULL;
	}
	return a;
}

struct sio *
chat_app_sio(struct chat_app *a)
{
	return a->sio;
}

void
chat_app_stop(struct chat_app *a)
{
	if (a->stopping)
		return;
	chat_app_turn(a);
	a->stopping = 1;
	bus_srv_free(a->bus);
	sio_stop(a->sio);
	if (a->nseen > 0)
		chat_app_seen_flush(a);
	uv_close((uv_handle_t *)&a->tick, NULL);
	uv_close((uv_handle_t *)&a->again, NULL);
}

void
chat_app_free(struct chat_app *a)
{
	struct chat_user *u, *next;
	size_t i;

	if (a == NULL)
		return;
	sio_free(a->sio);
	for (i = 0; i < a->nb; i++)
		for (u = a->users[i]; u != NULL; u = next) {
			next = u->next;
			free(u);
		}
	free(a->users);
	free(a->pend);
	free(a->seen);
	free(a);
}
