/* SPDX-License-Identifier: ISC */
/*
 * The message path of the chat application: the turn's chat_message
 * events stored through lib/chat in one transaction (group commit) and
 * answered after it, the push cursor that sends every stored message in id
 * order, catch-up on connect, and the timers that keep the push going when
 * hints are lost (the tick also starts chat_wal.c's checkpoints). Messages
 * always come from SQLite: it must not push from a hint's content or keep a
 * message in memory past its turn.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "chat/db.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "chat_int.h"

#define CHAT_PUSH_BATCH_MAX    4096 /* chat_message events stored per commit */
#define CHAT_PUSH_BATCH        256  /* messages read per push query */
#define CHAT_PUSH_ROUNDS       16   /* push queries per loop turn */
#define CHAT_PUSH_TICK_MS      1000 /* safety-net push when hints are lost */
#define CHAT_PUSH_MSG_OVERHEAD 1024 /* bytes of a chat_response but content */

/*
 * Join the connected sockets of the members of every room created since
 * the last call. Rooms are never deleted and their ids are rowids taken
 * under the write lock, so they increase in commit order and leave no
 * gap; members are fixed when a room is created. Hence a room at or below
 * known_room had its members' sockets joined when it was synced, and
 * sockets that connect later read their rooms themselves.
 */
static void
chat_push_rooms_sync(struct chat_app *a)
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
chat_push_response(json_t *m)
{
	return json_pack("[s{s:O,s:O}]", "chat_response", "room_id",
	    json_object_get(m, "room_id"), "message", m);
}

static void
chat_push_again_cb(uv_timer_t *t)
{
	struct chat_app *a = t->data;

	a->want_push = 1;
}

/*
 * Push every message newer than last_pushed, in id order, to the sockets
 * of its room: encoded once per message, queued by reference. Rooms newer
 * than known_room are synced first, so a room whose hint is late or lost
 * still reaches its members. At most CHAT_PUSH_ROUNDS queries per call;
 * the rest goes on in the next turn. A failed read is retried by the next
 * hint or tick, from the same cursor.
 */
static void
chat_push_advance(struct chat_app *a)
{
	struct sio_msg *msg;
	json_t *arr, *m, *args;
	int64_t id, room;
	size_t i;
	int round, more = 0;

	for (round = 0; round < CHAT_PUSH_ROUNDS; round++) {
		arr = NULL;
		if (db_msgs_after(a->db, a->last_pushed, CHAT_PUSH_BATCH, &arr,
		        &more) != CHAT_OK)
			return;
		json_array_foreach(arr, i, m)
		{
			if (chat_id_from_json(json_object_get(m, "id"), &id) ||
			    chat_id_from_json(
			        json_object_get(m, "room_id"), &room))
				abort(); /* db_msg_row() wrote them */
			if (room > a->known_room)
				chat_push_rooms_sync(a);
			if (sio_room_count(a->nsp, room) > 0) {
				args = chat_push_response(m);
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
	uv_timer_start(&a->again, chat_push_again_cb, 0, 0);
}

/*
 * Sync the rooms created since the last call, then push what is newer
 * than last_pushed (chat_push_advance(), within its budget).
 */
void
chat_push_run(struct chat_app *a)
{
	chat_push_rooms_sync(a);
	chat_push_advance(a);
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
chat_push_store(struct chat_app *a)
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
				if (db_commit(a->db) == CHAT_OK) {
					log_debug("%s: %zu message(s) in 1 "
					          "commit",
					    __func__, a->npend);
					goto out;
				}
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
	log_debug("%s: %zu message(s), each stored alone", __func__, a->npend);
out:
	a->want_push = 1;
}

/*
 * The "detail" string of a failed chat_msg_post(): the 422 errors of REST
 * become "field: msg" joined by "; ", the rest a fixed sentence.
 */
static void
chat_push_detail(const struct chat_pend *p, char *buf, size_t sz)
{
	const char *field, *msg;
	json_t *item;
	size_t i;

	buf[0] = '\0';
	switch (p->e) {
	case CHAT_ERR_NOTFOUND:
		snprintf(buf, sz, "%s", CHAT_APP_DENIED);
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
 * Answer every stored chat_message whose socket is still connected: the
 * acknowledgement {"status":"received","message"} when asked, errors as
 * chat_app_fail() sends them. Then empty the queue.
 */
static void
chat_push_answer(struct chat_app *a)
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
				chat_push_detail(p, detail, sizeof(detail));
				chat_app_fail(p->s, p->ack, detail);
			}
		}
		chat_msg_out_finish(&p->out);
		json_decref(p->data);
	}
	a->npend = 0;
}

/*
 * The end of every loop turn (sio's turn, before output is written):
 * store the turn's messages in one transaction, push everything new in id
 * order, then send the acknowledgements, so that an ack never precedes
 * the commit and a pushed message never precedes an older one. While the
 * WAL checkpoint waits for the write lock to restart the WAL (at most
 * DB_WAL_LOCK_MS, then the copy of a short tail), the messages wait in
 * the queue for a later turn: a loop that commits turn after turn would
 * otherwise keep the lock from it, and the WAL would grow for as long as
 * the load lasts. The checkpoint's end is an event, so a turn follows it.
 */
static void
chat_push_turn_as(struct chat_app *a, int force)
{
	int store =
	    a->npend > 0 && (force || !atomic_load(&a->ckpt_restarting));

	if (store)
		chat_push_store(a);
	if (a->want_push) {
		a->want_push = 0;
		chat_push_run(a);
		chat_wal_poke(a, CHAT_WAL_HINT);
	}
	if (store)
		chat_push_answer(a);
	if (a->nseen > 0 && uv_now(a->loop) >= a->seen_retry)
		chat_presence_seen_flush(a);
	chat_wal_poke(a, CHAT_WAL_OWN);
}

void
chat_push_turn(void *app)
{
	chat_push_turn_as(app, 0);
}

/* A turn that stores the queue whatever the checkpoint does. */
void
chat_push_flush(struct chat_app *a)
{
	chat_push_turn_as(a, 1);
}

/*
 * Queue a chat_message of "s" (which holds a user entry) for room "room"
 * until the turn's commit. "in" is copied; its strings point into "data",
 * the event's object, of which a reference is kept. A full queue is stored
 * at once.
 */
void
chat_push_queue(struct chat_app *a, struct sio_socket *s, int64_t room,
    json_t *data, const struct chat_msg_in *in, int64_t ack)
{
	struct chat_user *u = sio_socket_data(s);
	struct chat_pend *p;

	if (a->npend == a->cpend) {
		a->cpend = a->cpend == 0 ? 64 : a->cpend * 2;
		a->pend = xreallocarray(a->pend, a->cpend, sizeof(*a->pend));
	}
	p = &a->pend[a->npend++];
	memset(p, 0, sizeof(*p));
	p->s = s;
	p->uid = u->h.key;
	p->room = room;
	p->ack = ack;
	p->data = json_incref(data);
	p->in = *in;
	u->pending++;
	if (a->npend >= CHAT_PUSH_BATCH_MAX)
		chat_push_flush(a);
}

/*
 * "s" (which holds a user entry) is leaving: its queued messages are
 * still stored but no longer answered.
 */
void
chat_push_drop(struct chat_app *a, struct sio_socket *s)
{
	struct chat_user *u = sio_socket_data(s);
	size_t i;

	for (i = 0; u->pending > 0 && i < a->npend; i++)
		if (a->pend[i].s == s) {
			a->pend[i].s = NULL;
			u->pending--;
		}
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
void
chat_push_catchup(struct chat_app *a, struct sio_socket *s, int64_t after)
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
		bytes += CHAT_PUSH_MSG_OVERHEAD +
		    2 * json_string_length(json_object_get(m, "content"));
		if (bytes > budget) {
			more = 1;
			break;
		}
		args = chat_push_response(m);
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
 * bus: an event hint. Its content is not trusted nor needed: any hint
 * means "look at the database" (new rooms, then new messages).
 */
void
chat_push_hint(void *arg, const char *data, size_t len)
{
	struct chat_app *a = arg;

	(void)data;
	(void)len;
	a->want_push = 1;
	a->hints++;
}

/*
 * The tick: push in case a hint was lost, and checkpoint the WAL. With -v
 * it logs how many hints came since the last tick (the tests count them).
 */
static void
chat_push_tick_cb(uv_timer_t *t)
{
	struct chat_app *a = t->data;

	if (a->hints > 0) {
		log_debug("%s: %" PRIu64 " hint(s)", __func__, a->hints);
		a->hints = 0;
	}
	a->want_push = 1;
	chat_wal_poke(a, CHAT_WAL_TICK);
}

/*
 * Set the push cursor at the newest stored message and room. Returns 0,
 * or -1 (logged by db).
 */
int
chat_push_init(struct chat_app *a)
{
	if (db_msg_last_id(a->db, &a->last_pushed) != CHAT_OK ||
	    db_room_last_id(a->db, &a->known_room) != CHAT_OK)
		return -1;
	log_info("push cursor at message %" PRId64 ", room %" PRId64,
	    a->last_pushed, a->known_room);
	return 0;
}

/* Add the two timers to the loop and start the safety-net tick. */
void
chat_push_start(struct chat_app *a)
{
	uv_timer_init(a->loop, &a->tick);
	uv_timer_init(a->loop, &a->again);
	a->tick.data = a->again.data = a;
	uv_timer_start(
	    &a->tick, chat_push_tick_cb, CHAT_PUSH_TICK_MS, CHAT_PUSH_TICK_MS);
}

/* Close the timers; they finish closing in the loop. */
void
chat_push_stop(struct chat_app *a)
{
	uv_close((uv_handle_t *)&a->tick, NULL);
	uv_close((uv_handle_t *)&a->again, NULL);
}
