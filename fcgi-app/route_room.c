/* SPDX-License-Identifier: ISC */
/*
 * The chat room routes: create (including the idempotent private chat of
 * two users), list, get with the latest messages, and the private chat
 * list with presence from the push daemon. Membership is checked before
 * anything about a room is read; a room the caller is not in looks absent.
 */
#include <stdlib.h>
#include <string.h>

#include "chat/bus.h"
#include "chat/db.h"
#include "chat/presence.h"
#include "chat/reqval.h"
#include "common/valid.h"
#include "common/xmalloc.h"
#include "req.h"
#include "route.h"

#define ROUTE_ROOM_MSGS 50 /* messages shown with one room */
/*
 * Unknown logins named in a create's 422: naming them all would tell a
 * caller which of a thousand names exist in one request; the
 * members-named bucket bounds how many names a caller can try.
 */
#define ROUTE_ROOM_UNKNOWN_MAX 10

/* The members of a room being created, resolved from logins. */
struct room_members {
	int64_t *ids;        /* other users, without the creator, no repeats */
	const char **logins; /* as sent for each of ids[] (borrowed) */
	size_t n;
	char *other;     /* username of the first other user */
	char *unknown;   /* "a@x, bob": the first unknown logins */
	size_t nunknown; /* logins that match no user, all of them */
};

static void
route_room_members_finish(struct room_members *m)
{
	free(m->ids);
	free(m->logins);
	free(m->other);
	free(m->unknown);
}

/*
 * Resolve the logins of the JSON array "list" into "m", leaving out
 * "self" and repeats, counting unknown logins and collecting the first
 * ROUTE_ROOM_UNKNOWN_MAX of them. Returns CHAT_OK (with m->unknown
 * possibly set) or a storage error.
 */
static enum chat_err
route_room_members_resolve(
    struct db *db, json_t *list, int64_t self, struct room_members *m)
{
	const char *login;
	struct db_user u;
	enum chat_err e;
	size_t i, j;
	json_t *v;
	char *s;

	m->ids = xcalloc(json_array_size(list) + 1, sizeof(*m->ids));
	m->logins = xcalloc(json_array_size(list) + 1, sizeof(*m->logins));
	json_array_foreach(list, i, v)
	{
		login = json_string_value(v);
		if ((e = db_user_by_login(db, login, &u)) ==
		    CHAT_ERR_NOTFOUND) {
			if (m->nunknown++ >= ROUTE_ROOM_UNKNOWN_MAX)
				continue;
			s = xasprintf("%s%s%s", m->unknown ? m->unknown : "",
			    m->unknown ? ", " : "", login);
			free(m->unknown);
			m->unknown = s;
			continue;
		}
		if (e != CHAT_OK)
			return e;
		for (j = 0; j < m->n && m->ids[j] != u.id; j++)
			continue;
		if (u.id != self && j == m->n) {
			if (m->n == 0)
				m->other = xstrdup(u.username);
			m->logins[m->n] = login;
			m->ids[m->n++] = u.id;
		}
		db_user_finish(&u);
	}
	return CHAT_OK;
}

/*
 * The 422 errors of a create that CHAT_ERR_LIMIT refused: "full" flags the
 * creator, then each of m->ids[], as db_room_create() sets it. Members are
 * named as the client sent them, in the order sent.
 */
static void
route_room_full_errors(json_t *errs, const struct room_members *m,
    const unsigned char *full, int64_t rooms_max)
{
	char *names, *s;
	size_t i, len = 0;

	if (full[0]) {
		s = xasprintf("You are already in %lld rooms, the most allowed",
		    (long long)rooms_max);
		req_verr_add(
		    errs, req_loc("body", NULL), s, "value_error", NULL);
		free(s);
	}
	for (i = 0; i < m->n; i++)
		if (full[i + 1])
			len += strlen(m->logins[i]) + 2;
	if (len == 0)
		return;
	names = xmalloc(len + 1);
	len = 0;
	for (i = 0; i < m->n; i++) {
		if (!full[i + 1])
			continue;
		if (len > 0) {
			memcpy(names + len, ", ", 2);
			len += 2;
		}
		memcpy(names + len, m->logins[i], strlen(m->logins[i]));
		len += strlen(m->logins[i]);
	}
	names[len] = '\0';
	s = xasprintf("Users already in %lld rooms, the most allowed: %s",
	    (long long)rooms_max, names);
	req_verr_add(errs, req_loc("body", "members"), s, "value_error", NULL);
	free(s);
	free(names);
}

/*
 * Take "cost" tokens of the caller's bucket "<what>:<user id>" (0 only
 * checks that one is left); a cost above "burst" takes the whole burst,
 * so that a long list needs a full bucket rather than never passing.
 * Inside an open transaction it joins it. Returns CHAT_OK, CHAT_ERR_RATE
 * with the 429 set, or a storage error with nothing set.
 */
static enum chat_err
route_room_take(
    struct req *r, const char *what, int64_t burst, double rate, size_t cost)
{
	double c = (double)cost;
	enum chat_err e;
	char *key;

	if (c > (double)burst)
		c = (double)burst;
	key = xasprintf("%s:%lld", what, (long long)r->user.id);
	e = req_rate_take(r, key, (double)burst, rate, c);
	free(key);
	return e;
}

/*
 * POST /chat/chat_rooms: 201 with a new room and "messages": [], or 200
 * with the existing private chat of the pair and its latest messages.
 * Finding and creating a private chat share one write transaction, so two
 * concurrent requests cannot both create it. A new room of more than
 * room_members_max members, or with a member or creator already in
 * rooms_per_user_max rooms, is 422 (the latter counted in that transaction).
 *
 * Two buckets of the caller bound how fast rooms can be filled and names
 * tried (429): "named:<id>" is charged every entry of "members" before
 * any is looked up, so unknown and repeated names cost too, and
 * "roomnew:<id>" one token per room created, in the create's transaction
 * (a refused create gives it back; finding the existing private chat
 * costs none). A group create checks the latter first, so that a caller
 * out of rooms does not spend names.
 */
void
route_room_create(struct req *r)
{
	struct db *db = r->app->db;
	const struct conf *cf = &r->app->conf;
	struct room_members m = {NULL, NULL, 0, NULL, NULL, 0};
	json_t *body = NULL, *errs = NULL, *out = NULL;
	const char *name;
	char *defname = NULL;
	unsigned char *full = NULL;
	int is_private, existing = 0;
	int64_t room = 0;
	size_t named;
	enum chat_err e;

	if (req_json_object(r, &body) == -1)
		goto out;
	errs = json_array();
	reqval_room(errs, body, cf->room_members_max, &is_private);
	if (json_array_size(errs) == 0) {
		named = json_array_size(json_object_get(body, "members"));
		e = CHAT_OK;
		if (!is_private)
			e = route_room_take(r, "roomnew", cf->room_create_burst,
			    cf->room_create_rate, 0);
		if (e == CHAT_OK && named > 0)
			e = route_room_take(r, "named", cf->members_named_burst,
			    cf->members_named_rate, named);
		if (e == CHAT_OK)
			e = route_room_members_resolve(db,
			    json_object_get(body, "members"), r->user.id, &m);
		if (e != CHAT_OK) {
			if (e != CHAT_ERR_RATE)
				req_fail(r, e);
			goto out;
		}
	}
	if (json_array_size(errs) == 0 && m.unknown != NULL) {
		defname = xasprintf("Unknown users: %s%s", m.unknown,
		    m.nunknown > ROUTE_ROOM_UNKNOWN_MAX ? ", and more" : "");
		req_verr_add(errs, req_loc("body", "members"), defname,
		    "value_error", NULL);
	} else if (json_array_size(errs) == 0 && is_private && m.n != 1)
		req_verr_add(errs, req_loc("body", "members"),
		    "A private chat needs exactly one other member",
		    "value_error", NULL);
	else if (json_array_size(errs) == 0 &&
	    (int64_t)m.n + 1 > cf->room_members_max) {
		defname = xasprintf("A room has at most %lld members, the "
		                    "creator included, not %zu",
		    (long long)cf->room_members_max, m.n + 1);
		req_verr_add(errs, req_loc("body", "members"), defname,
		    "value_error", NULL);
	}
	if (json_array_size(errs) > 0) {
		req_invalid(r, errs);
		errs = NULL;
		goto out;
	}
	name = json_string_value(json_object_get(body, "name"));
	if (name == NULL)
		name = defname =
		    xasprintf("%s & %s", r->user.username, m.other);

	if ((e = db_begin(db)) != CHAT_OK) {
		req_fail(r, e);
		goto out;
	}
	e = CHAT_ERR_NOTFOUND;
	if (is_private &&
	    (e = db_room_private_find(db, r->user.id, m.ids[0], &room)) ==
	        CHAT_OK)
		existing = 1;
	if (e == CHAT_ERR_NOTFOUND &&
	    (e = route_room_take(r, "roomnew", cf->room_create_burst,
	         cf->room_create_rate, 1)) == CHAT_OK) {
		full = xcalloc(m.n + 1, sizeof(*full));
		e = db_room_create(db, name, is_private, r->user.id, m.ids, m.n,
		    cf->rooms_per_user_max, r->now_ms, &room, full);
	}
	if (e == CHAT_OK)
		e = db_commit(db);
	if (e != CHAT_OK) {
		db_rollback(db);
		if (e == CHAT_ERR_LIMIT) {
			route_room_full_errors(
			    errs, &m, full, cf->rooms_per_user_max);
			req_invalid(r, errs);
			errs = NULL;
		} else if (e != CHAT_ERR_RATE) /* its 429 is set */
			req_fail(r, e);
		goto out;
	}
	if (!existing)
		bus_publish_room(r->app->bus, room);
	if ((e = db_room_json(
	         db, room, existing ? ROUTE_ROOM_MSGS : 0, &out)) != CHAT_OK) {
		req_fail(r, e);
		goto out;
	}
	if (!existing)
		json_object_set_new(out, "messages", json_array());
	req_reply(r, existing ? 200 : 201, out);
out:
	route_room_members_finish(&m);
	free(full);
	free(defname);
	json_decref(errs);
	json_decref(body);
}

/* GET /chat/chat_rooms: the caller's rooms, without messages. */
void
route_room_list(struct req *r)
{
	json_t *out = NULL;
	enum chat_err e;

	if ((e = db_rooms_json(r->app->db, r->user.id, &out)) != CHAT_OK)
		req_fail(r, e);
	else
		req_reply(r, 200, out);
}

/* GET /chat/chat_rooms/{id}: one room of the caller, latest messages. */
void
route_room_get(struct req *r)
{
	json_t *out = NULL;
	enum chat_err e;

	e = db_room_is_member(r->app->db, r->room, r->user.id);
	if (e == CHAT_OK)
		e = db_room_json(r->app->db, r->room, ROUTE_ROOM_MSGS, &out);
	if (e == CHAT_OK)
		req_reply(r, 200, out);
	else if (e == CHAT_ERR_NOTFOUND)
		req_error(r, 404, ROUTE_ROOM_NOTFOUND);
	else
		req_fail(r, e);
}

/*
 * GET /chat/private_chats: the caller's private chats, "is_online" asked
 * of the push daemon (offline when it does not answer in time). The
 * answer is written as JSON text from the rows (db_private_chats_text),
 * without a jansson tree.
 */
void
route_room_private_list(struct req *r)
{
	struct db_chats_text t = {NULL, 0, NULL, NULL, 0};
	enum chat_err e;
	size_t len = 0;
	int *online;
	char *out;

	if ((e = db_private_chats_text(r->app->db, r->user.id, &t)) !=
	    CHAT_OK) {
		req_fail(r, e);
		return;
	}
	/* The snapshot is not held across the presence query. */
	db_read_end(r->app->db);
	online = xcalloc(t.n + 1, sizeof(*online));
	if (t.n > 0)
		presence_online(r->app->bus, t.others, t.n, online,
		    (int)r->app->conf.presence_timeout);
	out = db_chats_text_join(&t, online, &len);
	req_reply_text(r, 200, out, len);
	free(online);
	db_chats_text_finish(&t);
}
