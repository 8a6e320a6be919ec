/* SPDX-License-Identifier: ISC */
/*
 * Validation of REST request bodies and query strings into FastAPI's 422
 * "detail" arrays, with no I/O, so that the workers and the fuzz harness
 * run the very same code: the JSON body rules (Content-Type, empty body,
 * duplicate keys, an object at the top) and the field checks of signup,
 * login, room creation, message posting and the history query.
 */
#ifndef REQVAL_H
#define REQVAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "chat/chat.h"
#include "common/form.h"

#define REQVAL_MSG_LIMIT     50  /* history page size by default */
#define REQVAL_MSG_LIMIT_MAX 100 /* largest history page */

/*
 * Append a FastAPI validation error {"loc", "msg", "type"[, "ctx"]} to the
 * array "errs"; "loc" and "ctx" (or NULL) are stolen.
 */
void reqval_verr_add(
    json_t *errs, json_t *loc, const char *msg, const char *type, json_t *ctx);
/* The location [loc0, field] as a new array ("field" NULL: [loc0]). */
json_t *reqval_loc(const char *loc0, const char *field);

/*
 * Look up the optional string member "field" of "obj" (loc ["body",
 * field]). Returns 1 with "*s" and "*len" set when it is a string, 0 when
 * absent or null ("*s" NULL), -1 after adding "string_type" to "errs".
 * With "required", absence adds "missing" and returns -1 instead.
 */
int reqval_field_string(json_t *errs, json_t *obj, const char *field,
    int required, const char **s, size_t *len);

/*
 * Add "string_too_short" or "string_too_long" at "loc" (stolen) to "errs"
 * for a string of "n" units outside "min".."max"; "unit" is "character"
 * or "byte", made plural as needed. Returns 0 when in range, else -1.
 */
int reqval_check_length(json_t *errs, json_t *loc, size_t n, size_t min,
    size_t max, const char *unit);

/* 1 when "ctype" is application/x-www-form-urlencoded (any params). */
int reqval_ctype_is_form(const char *ctype);

/*
 * Parse the "len" bytes of "body" sent with Content-Type "ctype" (NULL
 * when absent) as a JSON object under FastAPI's rules. Returns a new
 * reference, or NULL after adding the 422 errors to "errs".
 */
json_t *reqval_body_object(
    json_t *errs, const char *ctype, const char *body, size_t len);

/* Check a signup body, adding every problem to "errs". */
void reqval_signup(json_t *errs, json_t *body);

/*
 * Read the login and password of a login request: an OAuth2 password
 * form when "ctype" says so (parsed into "f"), else a JSON object (into
 * "*obj", "email" or else "username"). "*login" and "*password" are
 * borrowed from "f" or "*obj", which the caller releases either way.
 * Returns 0, or -1 after adding the 422 errors to "errs".
 */
int reqval_login(json_t *errs, const char *ctype, const char *body, size_t len,
    struct form *f, json_t **obj, const char **login, const char **password);

/*
 * Check a room creation body, adding every problem to "errs" in the order
 * of the fields; "members" may list at most "members_max" entries.
 * "*is_private" tells whether it asks for a private chat.
 */
void reqval_room(
    json_t *errs, json_t *body, int64_t members_max, int *is_private);

/*
 * Check the field types of a message body into "in" (strings borrowed
 * from "body"); their values are chat_msg_post()'s to check.
 */
void reqval_msg(json_t *errs, json_t *body, struct chat_msg_in *in);

/*
 * Parse the history query string "q" of "len" bytes: limit (1..
 * REQVAL_MSG_LIMIT_MAX, REQVAL_MSG_LIMIT by default) and either before or
 * after (message ids, 0 when absent). Returns 0, or -1 after adding the
 * 422 errors to "errs".
 */
int reqval_msg_query(json_t *errs, const char *q, size_t len, int64_t *limit,
    int64_t *before, int64_t *after);

#endif
