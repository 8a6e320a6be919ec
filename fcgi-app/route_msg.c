/* SPDX-License-Identifier: ISC */
/*
 * The message routes of a room: the paged history and posting. Posting
 * goes through chat_msg_post(), the one code path the push daemon shares,
 * and the bus hint is published only after the commit. Query strings and
 * bodies are checked by lib/chat/reqval (over lib/common/form), never by hand.
 */
#include <stdlib.h>
#include <string.h>

#include "chat/bus.h"
#include "chat/chat.h"
#include "chat/db.h"
#include "chat/reqval.h"
#include "common/fault.h"
#include "req.h"
#include "route.h"

/*
 * GET /chat/chat_rooms/{id}/messages?limit=&before=|after=: one page of
 * the history, oldest first. Parameters are validated before membership,
 * as FastAPI validates before the handler runs. The page is written as
 * JSON text straight from the rows (db_msgs_text), without a jansson tree.
 */
void
route_msg_list(struct req *r)
{
	json_t *errs = json_array();
	int64_t limit, before, after;
	enum chat_err e;
	char *out = NULL;
	size_t len = 0;

	if (reqval_msg_query(errs, r->query, strlen(r->query), &limit, &before,
	        &after) == -1) {
		req_invalid(r, errs);
		errs = NULL;
		goto out;
	}
	e = db_room_is_member(r->app->db, r->room, r->user.id);
	if (e == CHAT_OK)
		e = db_msgs_text(
		    r->app->db, r->room, (int)limit, before, after, &out, &len);
	if (e == CHAT_OK)
		req_reply_text(r, 200, out, len);
	else if (e == CHAT_ERR_NOTFOUND)
		req_error(r, 404, ROUTE_ROOM_NOTFOUND);
	else
		req_fail(r, e);
out:
	json_decref(errs);
}

/*
 * POST /chat/chat_rooms/{id}/messages: 201 with the new message, or 200
 * with the earlier one of a repeated client_id, written as JSON text.
 * Field types are checked here, their values by chat_msg_post_text().
 */
void
route_msg_post(struct req *r)
{
	struct chat_msg_out out;
	struct chat_msg_in in;
	json_t *body = NULL, *errs = NULL;
	enum chat_err e;

	memset(&out, 0, sizeof(out));
	if (req_json_object(r, &body) == -1)
		goto out;
	errs = json_array();
	reqval_msg(errs, body, &in);
	if (json_array_size(errs) > 0) {
		req_invalid(r, errs);
		errs = NULL;
		goto out;
	}
	e = chat_msg_post_text(r->app->db, &r->app->conf, r->user.id, r->room,
	    &in, "body", r->now_ms, &out);
	switch (e) {
	case CHAT_OK:
		fault_hit("msg_after_commit");
		if (out.created)
			bus_publish_message(r->app->bus, r->room, out.id);
		req_reply_text(
		    r, out.created ? 201 : 200, out.text, out.textlen);
		out.text = NULL;
		break;
	case CHAT_ERR_INVALID:
		req_invalid(r, json_incref(out.detail));
		break;
	case CHAT_ERR_NOTFOUND:
		req_error(r, 404, ROUTE_ROOM_NOTFOUND);
		break;
	case CHAT_ERR_RATE:
		req_rate_limited(r, out.retry_after);
		break;
	default:
		req_fail(r, e);
		break;
	}
	chat_msg_out_finish(&out);
out:
	json_decref(errs);
	json_decref(body);
}
