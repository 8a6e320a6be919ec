/* SPDX-License-Identifier: ISC */
/*
 * The route table and the dispatcher. Matching is on the raw path: one
 * trailing slash is ignored, "{id}" matches one non-empty segment, and
 * nothing else is normalised. A path that matches no pattern is a 404,
 * one that matches with another method a 405 with the table's Allow list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "common/xmalloc.h"
#include "req.h"
#include "route.h"
#include "route_media.h"

const struct route route_table[] = {
    {"POST", "/auth/signup", route_auth_signup, 0},
    {"POST", "/auth/login", route_auth_login, 0},
    {"POST", "/auth/token", route_auth_login, 0},
    {"GET", "/auth/users/me", route_auth_me, ROUTE_AUTH | ROUTE_READ},
    {"GET", "/chat/private_chats", route_room_private_list,
        ROUTE_AUTH | ROUTE_READ},
    {"GET", "/chat/chat_rooms", route_room_list, ROUTE_AUTH | ROUTE_READ},
    {"POST", "/chat/chat_rooms", route_room_create, ROUTE_AUTH},
    {"GET", "/chat/chat_rooms/{id}", route_room_get, ROUTE_AUTH | ROUTE_READ},
    {"GET", "/chat/chat_rooms/{id}/messages", route_msg_list,
        ROUTE_AUTH | ROUTE_READ},
    {"POST", "/chat/chat_rooms/{id}/messages", route_msg_post, ROUTE_AUTH},
    {"POST", "/chat/upload_media", route_media_upload,
        ROUTE_AUTH | ROUTE_STREAM},
};
const size_t route_count = sizeof(route_table) / sizeof(route_table[0]);

void
route_list(FILE *fp)
{
	size_t i;

	for (i = 0; i < route_count; i++)
		fprintf(fp, "%s %s\n", route_table[i].method,
		    route_table[i].pattern);
}

/*
 * 1 when the "len" bytes of "path" match "pattern"; then "*id" and
 * "*idlen" locate the segment "{id}" matched (NULL when none).
 */
static int
route_match(const char *pattern, const char *path, size_t len, const char **id,
    size_t *idlen)
{
	const char *end = path + len;
	size_t seg;

	*id = NULL;
	*idlen = 0;
	while (*pattern != '\0') {
		if (strncmp(pattern, "{id}", 4) == 0) {
			seg = strcspn(path, "/");
			if (path + seg > end)
				seg = (size_t)(end - path);
			if (seg == 0)
				return 0;
			*id = path;
			*idlen = seg;
			path += seg;
			pattern += 4;
			continue;
		}
		if (path == end || *pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return path == end;
}

/* The 405 answer for a path whose methods are those of "allowed". */
static void
route_not_allowed(struct req *r, const int *allowed)
{
	char allow[64] = "";
	size_t i, j, off = 0;
	int dup;

	for (i = 0; i < route_count; i++) {
		if (!allowed[i])
			continue;
		for (dup = 0, j = 0; j < i; j++)
			if (allowed[j] &&
			    strcmp(route_table[i].method,
			        route_table[j].method) == 0)
				dup = 1;
		if (dup)
			continue;
		/* The table's few short methods always fit. */
		off += (size_t)snprintf(allow + off, sizeof(allow) - off,
		    "%s%s", off > 0 ? ", " : "", route_table[i].method);
	}
	req_header(r, "Allow: %s", allow);
	req_error(r, 405, "Method Not Allowed");
}

void
route_dispatch(struct req *r)
{
	int allowed[sizeof(route_table) / sizeof(route_table[0])] = {0};
	const struct route *rt = NULL;
	const char *id = NULL, *seg;
	size_t len = strlen(r->path), i, idlen = 0, seglen;
	char *idstr = NULL;
	enum chat_err e;
	json_t *errs;
	int any = 0;

	/* The web server adds the Access-Control-* headers (lighttpd). */
	if (req_is_preflight(r)) {
		req_reply_text(r, 204, xstrdup(""), 0);
		goto out;
	}
	if (len > 1 && r->path[len - 1] == '/')
		len--;
	for (i = 0; i < route_count; i++) {
		if (!route_match(
		        route_table[i].pattern, r->path, len, &seg, &seglen))
			continue;
		allowed[i] = any = 1;
		if (rt == NULL &&
		    strcmp(route_table[i].method, r->method) == 0) {
			rt = &route_table[i];
			id = seg;
			idlen = seglen;
		}
	}
	if (!any) {
		req_error(r, 404, "Not Found");
		goto out;
	}
	if (rt == NULL) {
		route_not_allowed(r, allowed);
		goto out;
	}
	if (strcmp(r->method, "POST") == 0 && !(rt->flags & ROUTE_STREAM) &&
	    req_body_read(r) == -1)
		goto out;
	if ((rt->flags & ROUTE_READ) &&
	    (e = db_read_begin(r->app->db)) != CHAT_OK) {
		req_fail(r, e);
		goto out;
	}
	if ((rt->flags & ROUTE_AUTH) && req_auth(r) == -1)
		goto out;
	if (id != NULL) {
		idstr = xstrndup(id, idlen);
		if (chat_id_parse(idstr, &r->room) == -1) {
			errs = json_array();
			req_verr_add(errs,
			    json_pack("[s,s]", "path", "room_id"),
			    "Input should be a valid integer, unable to parse "
			    "string as an integer",
			    "int_parsing", NULL);
			req_invalid(r, errs);
			goto out;
		}
	}
	rt->handler(r);
out:
	db_read_end(r->app->db);
	free(idstr);
}
