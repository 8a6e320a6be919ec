/* SPDX-License-Identifier: ISC */
/*
 * What the REST workers and the push daemon must do identically: the error
 * codes both map to HTTP statuses or Socket.IO errors, and the posting of a
 * message (validation, membership, rate limit, idempotent insert, the
 * message JSON). Nothing here does I/O but through lib/chat/db.
 */
#ifndef CHAT_H
#define CHAT_H

#include <stdint.h>
#include <jansson.h>

struct db;
struct conf;

enum chat_err {
	CHAT_OK = 0,
	CHAT_ERR_NOTFOUND,       /* no such row, or not a member: 404 */
	CHAT_ERR_INVALID,        /* validation failed: 422 */
	CHAT_ERR_EXISTS,         /* unique conflict: 400 or "return existing" */
	CHAT_ERR_EMAIL_TAKEN,    /* 400 Email already registered */
	CHAT_ERR_USERNAME_TAKEN, /* 400 Username already registered */
	CHAT_ERR_AUTH,           /* bad credentials or token: 401 */
	CHAT_ERR_RATE,           /* rate limited: 429 */
	CHAT_ERR_LIMIT,          /* a user is in too many rooms: 422 */
	CHAT_ERR_BUSY,           /* database locked past busy_timeout: 503 */
	CHAT_ERR_FULL,           /* disk or database full: 507 */
	CHAT_ERR_DB,             /* any other storage failure: 500 */
	CHAT_ERR__MAX
};

/* A short English description of "e", for logs and error details. */
const char *chat_strerror(enum chat_err e);

/* The fields of a message a client asks to post (borrowed strings). */
struct chat_msg_in {
	const char *content;   /* may be NULL: treated as "" */
	const char *media_url; /* NULL when absent */
	const char *client_id; /* NULL when absent */
};

/* The outcome of chat_msg_post(). */
struct chat_msg_out {
	json_t *msg;        /* new: the message JSON, on CHAT_OK */
	char *text;         /* new: instead of "msg", chat_msg_post_text() */
	size_t textlen;     /* bytes of "text" */
	json_t *detail;     /* new: 422 detail array, on CHAT_ERR_INVALID */
	int created;        /* 1 new row, 0 returned an earlier client_id */
	int64_t id;         /* message id, on CHAT_OK */
	double retry_after; /* seconds, on CHAT_ERR_RATE */
};

/*
 * Store a message from "user" in "room" as both REST and Socket.IO must:
 * validate "in" (detail locations use "loc0", "body" for REST), check
 * membership (CHAT_ERR_NOTFOUND hides it), take one token from the user's
 * message bucket, insert idempotently on client_id, and build the message
 * JSON into "out". Opens and commits its own BEGIN IMMEDIATE transaction
 * unless one is already open (group commit in the daemon). The caller owns
 * out->msg and out->detail and publishes the bus event after the commit.
 */
enum chat_err chat_msg_post(struct db *db, const struct conf *cf, int64_t user,
    int64_t room, const struct chat_msg_in *in, const char *loc0,
    int64_t now_ms, struct chat_msg_out *out);

/*
 * The same, with the message written as JSON text into out->text (the
 * bytes json_dumps() writes for out->msg with JSON_COMPACT) and out->msg
 * left NULL: the REST route, which sends it as it is.
 */
enum chat_err chat_msg_post_text(struct db *db, const struct conf *cf,
    int64_t user, int64_t room, const struct chat_msg_in *in, const char *loc0,
    int64_t now_ms, struct chat_msg_out *out);

/* Release what chat_msg_post() put in "out" (NULL-safe members). */
void chat_msg_out_finish(struct chat_msg_out *out);

/* Current wall-clock time in milliseconds since the epoch. */
int64_t chat_now_ms(void);

/*
 * Format "ms" since the epoch as RFC 3339 UTC with milliseconds into "buf"
 * (at least CHAT_TIME_LEN bytes), e.g. "2026-11-28T05:43:43.123Z".
 */
#define CHAT_TIME_LEN 32
char *chat_time_fmt(int64_t ms, char buf[CHAT_TIME_LEN]);

/*
 * Format "id" in decimal (a "-" when negative) at the end of "buf" and
 * return where it starts: the text of an id as clients see it.
 */
#define CHAT_ID_LEN 21
char *chat_id_fmt(int64_t id, char buf[CHAT_ID_LEN]);

/* Format an id as the JSON string clients see ("ids are strings"). */
json_t *chat_id_json(int64_t id);

/*
 * Parse a client id string (or JSON integer) into "*id": decimal digits
 * only, 1..INT64_MAX. Returns 0, or -1 with "*id" untouched.
 */
int chat_id_parse(const char *s, int64_t *id);
int chat_id_from_json(const json_t *v, int64_t *id);

#endif
