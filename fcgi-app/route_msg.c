/* SPDX-License-Identifier: ISC */
/*
 * The message routes of a room: the paged history and posting. Posting
 * goes through chat_msg_post(), the one code path the push daemon shares,
 * and the bus hint is published only after the commit. Query strings are
 * parsed by lib/form, never by hand.
 */
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "chat.h"
#include "db.h"
#include "form.h"
#include "req.h"
#include "route.h"

#define ROUTE_MSG_LIMIT     50
#define ROUTE_MSG_LIMIT_MAX 100

/*
 * Parse the integer query parameter "name" of "f" into "*v" within
 * "min".."max", adding a FastAPI error to "errs" when it is not one.
 * "*v" is untouched when the parameter is absent.
 */
static void
route_msg_query_int(json_t *errs, const struct form *f, const char *name,
    int64_t min, int64_t max, int64_t *v)
{
	const char *s = form_get(f, name), *p;
	char msg[80];
	int64_t n = 0;
	int neg;

	if (s == NULL)
		return;
	p = s;
	if ((neg = *p == '-') || *p == '+')
		p++;
	if (*p == '\0')
		goto bad;
	for (; *p != '\0'; p++)
		if (*p < '0' || *p > '9' || n > (INT64_MAX - (*p - '0')) / 10)
			goto bad;
		else
			n = n * 10 + (*p - '0');
	if (neg)
		n = -n;
	if (n < min) {
		snprintf(msg, sizeof(msg),
		    "Input should be greater than or equal to %lld",
		    (long long)min);
		req_verr_add(errs, req_loc("query", name), msg,
		    "greater_than_equal",
		    json_pack("{s:I}", "ge", (json_int_t)min));
	} else if (n > max) {
		snprintf(msg, sizeof(msg),
		    "Input should be less than or equal to %lld",
		    (long long)max);
		req_verr_add(errs, req_loc("query", name), msg,
		    "less_than_equal",
		    json_pack("{s:I}", "le", (json_int_t)max));
	} else
		*v = n;
	return;
bad:
	req_verr_add(errs, req_loc("query", name),
	    "Input should be a valid integer, unable to parse string as an "
	    "integer",
	    "int_parsing", NULL);
}

/*
 * GET /chat/chat_rooms/{id}/messages?limit=&before=|after=: one page of
 * the history, oldest first. Parameters are validated before membership,
 * as FastAPI validates before the handler runs.
 */
void
route_msg_list(struct req *r)
{
	struct form f = {NULL, 0};
	json_t *errs = json_array(), *out = NULL;
	int64_t limit = ROUTE_MSG_LIMIT, before = 0, after = 0;
	enum form_err fe;
	enum chat_err e;

	if ((fe = form_parse(&f, r->query, strlen(r->query))) != FORM_OK)
		req_verr_add(errs, req_loc("query", NULL), form_strerror(fe),
		    "value_error", NULL);
	else {
		route_msg_query_int(
		    errs, &f, "limit", 1, ROUTE_MSG_LIMIT_MAX, &limit);
		route_msg_query_int(errs, &f, "before", 1, INT64_MAX, &before);
		route_msg_query_int(errs, &f, "after", 1, INT64_MAX, &after);
		if (json_array_size(errs) == 0 && before > 0 && after > 0)
			req_verr_add(errs, req_loc("query", NULL),
			    "Use either before or after, not both",
			    "value_error", NULL);
	}
	if (json_array_size(errs) > 0) {
		req_invalid(r, errs);
		errs = NULL;
		goto out;
	}
	e = db_room_is_member(r->app->db, r->room, r->user.id);
	if (e == CHAT_OK)
		e = db_msgs_json(
		    r->app->db, r->room, (int)limit, before, after, &out);
	if (e == CHAT_OK)
		req_reply(r, 200, out);
	else if (e == CHAT_ERR_NOTFOUND)
		req_error(r, 404, ROUTE_ROOM_NOTFOUND);
	else
		req_fail(r, e);
out:
	json_decref(errs);
	form_finish(&f);
}

/*
 * POST /chat/chat_rooms/{id}/messages: 201 with the new message, or 200
 * with the earlier one of a repeated client_id. Field types are checked
 * here, their values by chat_msg_post().
 */
void
route_msg_post(struct req *r)
{
	struct chat_msg_out out;
	struct chat_msg_in in;
	json_t *body = NULL, *errs = NULL;
	enum chat_err e;
	size_t len;

	memset(&out, 0, sizeof(out));
	if (req_json_object(r, &body) == -1)
		goto out;
	errs = json_array();
	req_field_string(errs, body, "content", 0, &in.content, &len);
	req_field_string(errs, body, "media_url", 0, &in.media_url, &len);
	req_field_string(errs, body, "client_id", 0, &in.client_id, &len);
	if (json_array_size(errs) > 0) {
		req_invalid(r, errs);
		errs = NULL;
		goto out;
	}
	e = chat_msg_post(r->app->db, &r->app->conf, r->user.id, r->room, &in,
	    "body", r->now_ms, &out);
	switch (e) {
	case CHAT_OK:
		if (out.created)
			bus_publish_message(r->app->bus, r->room, out.id);
		req_reply(r, out.created ? 201 : 200, json_incref(out.msg));
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
