/* SPDX-License-Identifier: ISC */
/*
 * One FastCGI request of the worker: its parameters, body, caller and
 * response, all owned by struct req and released by req_free() after every
 * request. Also the helpers every route shares to answer in FastAPI's
 * shapes (errors, 422 detail arrays, 401 with WWW-Authenticate). Nothing
 * here logs a body, a password or a token.
 */
#ifndef REQ_H
#define REQ_H

#include <stddef.h>
#include <stdint.h>
#include <fcgiapp.h>
#include <jansson.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "chat/token.h"
#include "common/conf.h"

struct bus;

/* What the worker holds for its whole life, acquired before serving. */
struct app {
	struct conf conf;
	struct db *db;
	struct token_key key;
	struct bus *bus;
};

#define REQ_HEADERS_MAX 8

struct req {
	FCGX_Request *fr;   /* borrowed */
	struct app *app;    /* borrowed */
	const char *method; /* borrowed from the params, never NULL */
	char *path;         /* the path of REQUEST_URI, without the query */
	const char *query;  /* borrowed; "" when absent */
	const char *ctype;  /* borrowed CONTENT_TYPE; NULL when absent */
	const char *remote; /* borrowed REMOTE_ADDR; "" when absent */
	char *body;         /* NUL-terminated, after req_body_read() */
	size_t bodylen;
	int64_t now_ms;      /* when the request was accepted */
	int64_t room;        /* the {id} of the path, 0 when none */
	int authed;          /* "user" is filled */
	struct db_user user; /* the caller, after req_auth() */
	int status;          /* 0 until a response is set */
	json_t *out;         /* response body, or: */
	char *text;          /* response body as JSON text */
	size_t textlen;
	char *headers[REQ_HEADERS_MAX]; /* extra "Name: value" lines */
	size_t nheaders;
};

/* A new request reading its parameters from the accepted "fr". */
struct req *req_new(struct app *app, FCGX_Request *fr);
/* Release "r" and everything it owns (NULL-safe). */
void req_free(struct req *r);

/*
 * Parse CONTENT_LENGTH into "*len" (-1 when absent). Returns 0, or -1
 * after answering 400 when it is anything but plain digits in int64_t.
 */
int req_content_length(struct req *r, int64_t *len);

/*
 * Read the body, at most conf.body_max bytes, into r->body. Returns 0, or
 * -1 with a 400 or 413 response set.
 */
int req_body_read(struct req *r);

/*
 * Authenticate the caller from "Authorization: Bearer <token>" into
 * r->user. Returns 0, or -1 with a 401 (or 5xx) response set.
 */
int req_auth(struct req *r);

/*
 * Parse the body as a JSON object (FastAPI's rules on Content-Type and
 * empty bodies, lib/chat/reqval) into "*obj" (new reference). Returns 0, or -1
 * with a 422 response set.
 */
int req_json_object(struct req *r, json_t **obj);

/* Set the response: "status" with "body" (stolen). Only once a request. */
void req_reply(struct req *r, int status, json_t *body);
/*
 * Set the response: "status" with the JSON text "text" of "len" bytes
 * (stolen), written as is: for bodies built without jansson.
 */
void req_reply_text(struct req *r, int status, char *text, size_t len);
/* 1 when "r" is a CORS preflight (OPTIONS, Access-Control-Request-Method). */
int req_is_preflight(const struct req *r);
/* Set the response {"detail": "<detail>"}. */
void req_error(struct req *r, int status, const char *detail);
/* 401 with WWW-Authenticate: Bearer and {"detail": "<detail>"}. */
void req_unauthorized(struct req *r, const char *detail);
/* 429 {"detail":"Too many requests"} with Retry-After: ceil(s), >= 1. */
void req_rate_limited(struct req *r, double retry_after);
/*
 * Take "cost" tokens of the bucket "key" (db_rate_take(), joining an open
 * transaction). Returns CHAT_OK, CHAT_ERR_RATE with the 429 set, or a
 * storage error with nothing set.
 */
enum chat_err req_rate_take(
    struct req *r, const char *key, double burst, double rate, double cost);
/* The response for storage and generic errors: 404, 429, 503, 507, 500. */
void req_fail(struct req *r, enum chat_err e);
/* 422 {"detail": <errs>} ("errs" stolen). */
void req_invalid(struct req *r, json_t *errs);
/* Add the response header line "Name: value" (formatted). */
void req_header(struct req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Write the response set on "r" (a 500 when none was). */
void req_send(struct req *r);

/*
 * Append a FastAPI validation error to "errs" and make a location, as
 * reqval_verr_add() and reqval_loc() do ("loc" and "ctx" are stolen).
 */
void req_verr_add(
    json_t *errs, json_t *loc, const char *msg, const char *type, json_t *ctx);
json_t *req_loc(const char *loc0, const char *field);

#endif
