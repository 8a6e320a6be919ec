/* SPDX-License-Identifier: ISC */
/*
 * The chat application of the push daemon: the object behind chat_app.h, who
 * may connect (the JWT of the CONNECT), which rooms a socket is in, and the
 * Socket.IO events read into typed values; chat_push.c stores and pushes
 * messages, chat_presence.c answers who is online, chat_wal.c checkpoints
 * the WAL off the loop thread. SQLite stays the source of truth: nothing
 * here trusts a ZeroMQ hint's content or keeps a message in memory past
 * its turn.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <uv.h>

#include "chat/db.h"
#include "chat/token.h"
#include "common/conf.h"
#include "common/form.h"
#include "common/xmalloc.h"
#include "bus_srv.h"
#include "chat_app.h"
#include "chat_int.h"

/*
 * Answer "s": through acknowledgement "ack" when the client asked for one,
 * else as event "event". Steals "res".
 */
void
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
void
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
void
chat_app_detail_add(char *buf, size_t sz, const char *field, const char *msg)
{
	size_t len = strlen(buf);

	if (len + 1 >= sz)
		return;
	snprintf(
	    buf + len, sz - len, "%s%s: %s", len > 0 ? "; " : "", field, msg);
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
 * "Service temporarily unavailable"; a user who holds sockets_per_user_max
 * sockets already, whatever their addresses, with "too many connections"
 * (after the token checks, so a revoked token still reads "unauthorized").
 * The socket then holds its user entry, until chat_app_disconnect().
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
	if (chat_presence_user_full(
	        a, uid, (uint64_t)a->cf->sockets_per_user_max)) {
		*refusal =
		    json_pack("{s:s}", "message", "too many connections");
		goto out;
	}
	sio_socket_set_data(s, chat_presence_user_ref(a, &du));
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
	    after > a->last_pushed)
		chat_push_run(a);
	sio_socket_set_user(s, u->h.key);
	if (db_user_rooms(a->db, u->h.key, &rooms, &n) != CHAT_OK) {
		sio_socket_disconnect(s);
		return;
	}
	for (i = 0; i < n; i++)
		sio_room_join(s, rooms[i]);
	free(rooms);
	chat_presence_announce(a, u);
	if (given == -1)
		chat_app_fail(
		    s, -1, "last_message_id: Input should be a valid id");
	else if (given == 1)
		chat_push_catchup(a, s, after);
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

	(void)reason;
	if (u == NULL)
		return;
	chat_push_drop(a, s);
	chat_presence_user_unref(a, u);
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
	chat_push_queue(a, s, room, data, &in, ack);
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
		chat_presence_online(app, s, json_array_get(args, 1), ack);
}

struct chat_app *
chat_app_new(uv_loop_t *loop, const struct conf *cf, struct db *db,
    const struct token_key *key, const struct eio_conf *ec)
{
	static const struct sio_ops ops = {chat_app_connect, chat_app_connected,
	    chat_app_event, chat_app_disconnect, chat_push_turn};
	struct chat_app *a = xcalloc(1, sizeof(*a));
	struct bus_srv_cb cb = {chat_push_hint, chat_presence_query, a};

	a->loop = loop;
	a->cf = cf;
	a->db = db;
	a->key = key;
	if (chat_push_init(a) == -1 || chat_wal_init(a) == -1) {
		chat_wal_finish(a);
		free(a);
		return NULL;
	}
	a->sio = sio_new(loop, ec, &ops, a);
	a->nsp = sio_nsp_find(a->sio, "/");
	chat_push_start(a);
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
	chat_push_flush(a);
	a->stopping = 1;
	bus_srv_free(a->bus);
	sio_stop(a->sio);
	if (a->nseen > 0)
		chat_presence_seen_flush(a);
	chat_push_stop(a);
}

void
chat_app_free(struct chat_app *a)
{
	if (a == NULL)
		return;
	sio_free(a->sio);
	chat_presence_finish(a);
	chat_wal_finish(a);
	free(a->pend);
	free(a);
}
