/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for lib/chat/reqval.c, the REST request validation: the
 * input is a request body run through the JSON body rules and the checks
 * of signup, login (JSON and form), room creation and message posting, and
 * also taken as the history query string. Every string met in the body
 * goes through lib/common/valid.c and chat_id_parse(). Besides memory safety it
 * checks that each outcome is either a value or a well-formed, printable
 * 422 detail, never both and never neither.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chat/chat.h"
#include "chat/reqval.h"
#include "common/form.h"
#include "common/valid.h"

#define FUZZ_MEMBERS_MAX 1000 /* room_members_max by default */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Abort unless "errs" is an array of "n" FastAPI errors, each with a
 * non-empty "loc" array starting with "body" or "query", a "msg" and a
 * "type" string, and the whole serialisable (req_send() needs it).
 */
static void
fuzz_detail(json_t *errs, int want_errors)
{
	json_t *e, *loc;
	const char *l0;
	char *s;
	size_t i;

	if (!json_is_array(errs) || (json_array_size(errs) > 0) != want_errors)
		abort();
	json_array_foreach(errs, i, e)
	{
		loc = json_object_get(e, "loc");
		l0 = json_string_value(json_array_get(loc, 0));
		if (l0 == NULL ||
		    (strcmp(l0, "body") != 0 && strcmp(l0, "query") != 0) ||
		    !json_is_string(json_object_get(e, "msg")) ||
		    !json_is_string(json_object_get(e, "type")))
			abort();
		if (strcmp(json_string_value(json_object_get(e, "type")),
		        "json_invalid") == 0 &&
		    !json_is_string(
		        json_object_get(json_object_get(e, "ctx"), "error")))
			abort();
	}
	if ((s = json_dumps(errs, JSON_COMPACT)) == NULL)
		abort();
	free(s);
}

/* Run the pure validators over every string inside "v", recursively. */
static void
fuzz_strings(json_t *v)
{
	const char *k, *s;
	json_t *m;
	size_t i, len, n;
	int64_t id;

	if (json_is_string(v)) {
		s = json_string_value(v);
		len = json_string_length(v);
		if (!valid_utf8(s, len))
			abort(); /* jansson gave us what it validated */
		n = valid_utf8_chars(s, len);
		if (n > len ||
		    valid_text(s, len, 0, SIZE_MAX) != valid_text(s, len, 0, n))
			abort();
		if (valid_username(s) &&
		    (strlen(s) < VALID_USERNAME_MIN ||
		        strlen(s) > VALID_USERNAME_MAX))
			abort();
		(void)valid_email(s);
		if (chat_id_parse(s, &id) == 0 && id <= 0)
			abort();
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m) fuzz_strings(m);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, m)
		{
			if (chat_id_parse(k, &id) == 0 && id <= 0)
				abort();
			fuzz_strings(m);
		}
	}
	if (chat_id_from_json(v, &id) == 0 && id <= 0)
		abort();
}

/* The validators of the routes that take a JSON object. */
static void
fuzz_routes(json_t *body)
{
	struct chat_msg_in in;
	json_t *errs;
	int priv;

	errs = json_array();
	reqval_signup(errs, body);
	fuzz_detail(errs, json_array_size(errs) > 0);
	json_decref(errs);

	errs = json_array();
	reqval_room(errs, body, FUZZ_MEMBERS_MAX, &priv);
	if (json_array_size(errs) == 0 &&
	    (!json_is_array(json_object_get(body, "members")) ||
	        (!priv && !json_is_string(json_object_get(body, "name")))))
		abort();
	fuzz_detail(errs, json_array_size(errs) > 0);
	json_decref(errs);

	errs = json_array();
	memset(&in, 0, sizeof(in));
	reqval_msg(errs, body, &in);
	if (json_array_size(errs) == 0 && in.content != NULL &&
	    !json_is_string(json_object_get(body, "content")))
		abort();
	fuzz_detail(errs, json_array_size(errs) > 0);
	json_decref(errs);
}

/* Login with Content-Type "ctype": a value or errors, not both. */
static void
fuzz_login(const char *ctype, const char *body, size_t len)
{
	struct form f = {NULL, 0};
	const char *login, *password;
	json_t *errs = json_array(), *obj = NULL;
	int rc;

	rc = reqval_login(errs, ctype, body, len, &f, &obj, &login, &password);
	if (rc == 0 &&
	    (login == NULL || password == NULL ||
	        strlen(login) > VALID_EMAIL_MAX))
		abort();
	fuzz_detail(errs, rc != 0);
	json_decref(obj);
	json_decref(errs);
	form_finish(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body;
	char *copy;
	json_t *errs, *obj;
	int64_t limit, before, after, id;
	int rc;

	/* A C string copy, as the worker keeps bodies and query strings. */
	copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	body = copy;

	errs = json_array();
	obj = reqval_body_object(errs, NULL, body, size);
	fuzz_detail(errs, obj == NULL);
	if (obj != NULL) {
		fuzz_strings(obj);
		fuzz_routes(obj);
	}
	json_decref(obj);
	json_decref(errs);

	fuzz_login("application/json", body, size);
	fuzz_login("application/x-www-form-urlencoded", body, size);

	errs = json_array();
	rc =
	    reqval_msg_query(errs, body, strlen(body), &limit, &before, &after);
	if (rc == 0 &&
	    (limit < 1 || limit > REQVAL_MSG_LIMIT_MAX || before < 0 ||
	        after < 0 || (before > 0 && after > 0)))
		abort();
	fuzz_detail(errs, rc != 0);
	json_decref(errs);

	if (chat_id_parse(body, &id) == 0 && id <= 0)
		abort();
	free(copy);
	return 0;
}
