/* SPDX-License-Identifier: ISC */
/*
 * The REST routes of the worker: one static table of {method, pattern,
 * handler, flags} that drives matching, 404/405 answers and the -r listing,
 * and the handlers of route_auth.c, route_room.c and route_msg.c. A
 * handler runs only after its route matched, its body was read within the
 * limit and, for ROUTE_AUTH routes, the caller and the {id} were checked.
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stddef.h>
#include <stdio.h>

struct req;

#define ROUTE_AUTH   0x1 /* needs a bearer token */
#define ROUTE_STREAM 0x2 /* the handler reads the body itself */
#define ROUTE_READ                                                             \
	0x4 /* only reads: the token's user and the handler's                  \
	       queries share one read transaction */

struct route {
	const char *method;
	const char *pattern; /* "{id}" matches one path segment */
	void (*handler)(struct req *);
	int flags;
};

extern const struct route route_table[];
extern const size_t route_count;

/*
 * Find the route of r->method and r->path and run it, or set the 404, 405
 * or 422 answer. A response is always set on return.
 */
void route_dispatch(struct req *r);

/* Print "METHOD PATTERN" lines of the route table to "fp". */
void route_list(FILE *fp);

/* route_auth.c */
void route_auth_signup(struct req *r);
void route_auth_login(struct req *r);
void route_auth_me(struct req *r);

/* route_room.c */
void route_room_create(struct req *r);
void route_room_list(struct req *r);
void route_room_get(struct req *r);
void route_room_private_list(struct req *r);

/* route_msg.c */
void route_msg_list(struct req *r);
void route_msg_post(struct req *r);

/* The 404 answer for a room that is absent or not the caller's. */
#define ROUTE_ROOM_NOTFOUND "Chat room not found or access denied"

#endif
