/* SPDX-License-Identifier: ISC */
/*
 * The pure half of the REST routes: a request body becomes a JSON object
 * or a FastAPI 422 detail, and each route's fields are checked in the
 * order and with the messages pydantic v2 gives. Nothing here touches the
 * database or the network; tests/fuzz/fuzz-json.c feeds it arbitrary bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat/passwd.h"
#include "chat/reqval.h"
#include "common/utf8.h"
#include "common/valid.h"

void
reqval_verr_add(
    json_t *errs, json_t *loc, const char *msg, const char *type, json_t *ctx)
{
	json_t *e = json_object();

	json_object_set_new(e, "loc", loc);
	json_object_set_new(e, "msg", json_string(msg));
	json_object_set_new(e, "type", json_string(type));
	if (ctx != NULL)
		json_object_set_new(e, "ctx", ctx);
	json_array_append_new(errs, e);
}

json_t *
reqval_loc(const char *loc0, const char *field)
{
	json_t *loc = json_array();

	json_array_append_new(loc, json_string(loc0));
	if (field != NULL)
		json_array_append_new(loc, json_string(field));
	return loc;
}

int
reqval_field_string(json_t *errs, json_t *obj, const char *field, int required,
    const char **s, size_t *len)
{
	json_t *v = json_object_get(obj, field);

	*s = NULL;
	*len = 0;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		if (v == NULL) {
			reqval_verr_add(errs, reqval_loc("body", field),
			    "Field required", "missing", NULL);
			return -1;
		}
	}
	if (!json_is_string(v)) {
		reqval_verr_add(errs, reqval_loc("body", field),
		    "Input should be a valid string", "string_type", NULL);
		return -1;
	}
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 1;
}

int
reqval_check_length(json_t *errs, json_t *loc, size_t n, size_t min, size_t max,
    const char *unit)
{
	char msg[96];

	if (n < min) {
		snprintf(msg, sizeof(msg),
		    "String should have at least %zu %s%s", min, unit,
		    min == 1 ? "" : "s");
		reqval_verr_add(errs, loc, msg, "string_too_short",
		    json_pack("{s:I}", "min_length", (json_int_t)min));
		return -1;
	}
	if (n > max) {
		snprintf(msg, sizeof(msg),
		    "String should have at most %zu %s%s", max, unit,
		    max == 1 ? "" : "s");
		reqval_verr_add(errs, loc, msg, "string_too_long",
		    json_pack("{s:I}", "max_length", (json_int_t)max));
		return -1;
	}
	json_decref(loc);
	return 0;
}

int
reqval_ctype_is_form(const char *ctype)
{
	static const char form[] = "application/x-www-form-urlencoded";
	size_t n = sizeof(form) - 1;
	const char *s = ctype;

	if (s == NULL)
		return 0;
	s += strspn(s, " \t");
	if (strncasecmp(s, form, n) != 0)
		return 0;
	s += n;
	s += strspn(s, " \t");
	return *s == '\0' || *s == ';';
}

/*
 * 1 when "ctype" is absent, application/json or application/<x>+json, with
 * any parameters, case-insensitively (FastAPI's test).
 */
static int
reqval_ctype_is_json(const char *ctype)
{
	size_t n;

	if (ctype == NULL)
		return 1;
	ctype += strspn(ctype, " \t");
	if (strncasecmp(ctype, "application/", 12) != 0)
		return 0;
	ctype += 12;
	n = strcspn(ctype, ";");
	while (n > 0 && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
		n--;
	if (n == 4 && strncasecmp(ctype, "json", 4) == 0)
		return 1;
	return n > 5 && strncasecmp(ctype + n - 5, "+json", 5) == 0 &&
	    memchr(ctype, '/', n) == NULL;
}

/*
 * The longest prefix of "s" made of whole UTF-8 characters, as a JSON
 * string. jansson's error text quotes the input near the error and may
 * end inside a character or on a byte that is not UTF-8, which
 * json_pack() would refuse, losing the "ctx" (fuzz-json found it).
 */
static json_t *
reqval_text_json(const char *s)
{
	uint32_t st = UTF8_ACCEPT;
	size_t i, ok = 0;

	for (i = 0; s[i] != '\0'; i++) {
		st = utf8_feed(st, (const uint8_t *)s + i, 1);
		if (st == UTF8_REJECT)
			break;
		if (st == UTF8_ACCEPT)
			ok = i + 1;
	}
	return json_stringn(s, ok);
}

json_t *
reqval_body_object(
    json_t *errs, const char *ctype, const char *body, size_t len)
{
	json_error_t err;
	json_t *v = NULL;

	if (len == 0) {
		reqval_verr_add(errs, reqval_loc("body", NULL),
		    "Field required", "missing", NULL);
		return NULL;
	}
	if (!reqval_ctype_is_json(ctype))
		goto notobj;
	v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (v == NULL) {
		reqval_verr_add(errs,
		    json_pack("[s,I]", "body", (json_int_t)err.position),
		    "JSON decode error", "json_invalid",
		    json_pack("{s:o}", "error", reqval_text_json(err.text)));
		return NULL;
	}
	if (json_is_object(v))
		return v;
notobj:
	json_decref(v);
	reqval_verr_add(errs, reqval_loc("body", NULL),
	    "Input should be a valid dictionary or object to extract fields "
	    "from",
	    "model_attributes_type", NULL);
	return NULL;
}

void
reqval_signup(json_t *errs, json_t *body)
{
	const char *s;
	size_t len;

	if (reqval_field_string(errs, body, "username", 1, &s, &len) == 1 &&
	    reqval_check_length(errs, reqval_loc("body", "username"), len,
	        VALID_USERNAME_MIN, VALID_USERNAME_MAX, "character") == 0 &&
	    !valid_username(s))
		reqval_verr_add(errs, reqval_loc("body", "username"),
		    "Username may contain only letters, digits, '_', '.' and "
		    "'-'",
		    "value_error", NULL);
	if (reqval_field_string(errs, body, "email", 1, &s, &len) == 1 &&
	    !valid_email(s))
		reqval_verr_add(errs, reqval_loc("body", "email"),
		    "value is not a valid email address", "value_error", NULL);
	if (reqval_field_string(errs, body, "password", 1, &s, &len) == 1)
		reqval_check_length(errs, reqval_loc("body", "password"), len,
		    PASSWD_MIN, PASSWD_MAX, "byte");
	if (reqval_field_string(errs, body, "full_name", 0, &s, &len) == 1 &&
	    reqval_check_length(errs, reqval_loc("body", "full_name"),
	        valid_utf8_chars(s, len), 0, VALID_FULLNAME_MAX,
	        "character") == 0 &&
	    !valid_text(s, len, 0, VALID_FULLNAME_MAX))
		reqval_verr_add(errs, reqval_loc("body", "full_name"),
		    "Text must not contain control characters", "value_error",
		    NULL);
}

int
reqval_login(json_t *errs, const char *ctype, const char *body, size_t len,
    struct form *f, json_t **obj, const char **login, const char **password)
{
	const char *field = "username";
	enum form_err fe;
	size_t n0 = json_array_size(errs), slen;
	json_t *v;

	*login = *password = NULL;
	*obj = NULL;
	if (reqval_ctype_is_form(ctype)) {
		/* FastAPI takes an empty form field for a missing one. */
		if ((fe = form_parse(f, body, len)) != FORM_OK)
			reqval_verr_add(errs, reqval_loc("body", NULL),
			    form_strerror(fe), "value_error", NULL);
		else {
			*login = form_get(f, "username");
			*password = form_get(f, "password");
			if (*login == NULL || **login == '\0')
				reqval_verr_add(errs,
				    reqval_loc("body", "username"),
				    "Field required", "missing", NULL);
			if (*password == NULL || **password == '\0')
				reqval_verr_add(errs,
				    reqval_loc("body", "password"),
				    "Field required", "missing", NULL);
		}
	} else {
		if ((*obj = reqval_body_object(errs, ctype, body, len)) == NULL)
			return -1;
		/* "email" when given, else "username". */
		v = json_object_get(*obj, "email");
		if (v != NULL && !json_is_null(v))
			field = "email";
		reqval_field_string(errs, *obj, field, 1, login, &slen);
		reqval_field_string(errs, *obj, "password", 1, password, &slen);
	}
	if (json_array_size(errs) == n0 && strlen(*login) > VALID_EMAIL_MAX)
		reqval_check_length(errs, reqval_loc("body", field),
		    strlen(*login), 1, VALID_EMAIL_MAX, "character");
	if (json_array_size(errs) == n0 && strlen(*password) > PASSWD_MAX)
		reqval_check_length(errs, reqval_loc("body", "password"),
		    strlen(*password), 1, PASSWD_MAX, "byte");
	return json_array_size(errs) == n0 ? 0 : -1;
}

void
reqval_room(json_t *errs, json_t *body, int64_t members_max, int *is_private)
{
	json_t *v, *m;
	const char *s;
	char msg[128];
	size_t i, len;

	/* Errors in the order of the fields: name, members, is_private. */
	v = json_object_get(body, "is_private");
	*is_private = json_is_true(v);

	/* Only a private chat may leave its name out. */
	if (reqval_field_string(errs, body, "name", !*is_private, &s, &len) ==
	        1 &&
	    reqval_check_length(errs, reqval_loc("body", "name"),
	        valid_utf8_chars(s, len), 1, VALID_NAME_MAX,
	        "character") == 0 &&
	    !valid_text(s, len, 1, VALID_NAME_MAX))
		reqval_verr_add(errs, reqval_loc("body", "name"),
		    "Text must not contain control characters", "value_error",
		    NULL);

	m = json_object_get(body, "members");
	if (m == NULL)
		reqval_verr_add(errs, reqval_loc("body", "members"),
		    "Field required", "missing", NULL);
	else if (!json_is_array(m))
		reqval_verr_add(errs, reqval_loc("body", "members"),
		    "Input should be a valid list", "list_type", NULL);
	else if ((json_int_t)json_array_size(m) > members_max) {
		snprintf(msg, sizeof(msg),
		    "List should have at most %lld items after validation, "
		    "not %zu",
		    (long long)members_max, json_array_size(m));
		reqval_verr_add(errs, reqval_loc("body", "members"), msg,
		    "too_long",
		    json_pack("{s:s,s:I,s:I}", "field_type", "List",
		        "max_length", (json_int_t)members_max, "actual_length",
		        (json_int_t)json_array_size(m)));
	} else {
		json_array_foreach(m, i, v)
		{
			if (json_is_string(v))
				continue;
			reqval_verr_add(errs,
			    json_pack(
			        "[s,s,I]", "body", "members", (json_int_t)i),
			    "Input should be a valid string", "string_type",
			    NULL);
		}
	}

	v = json_object_get(body, "is_private");
	if (v != NULL && !json_is_boolean(v))
		reqval_verr_add(errs, reqval_loc("body", "is_private"),
		    "Input should be a valid boolean", "bool_type", NULL);
}

void
reqval_msg(json_t *errs, json_t *body, struct chat_msg_in *in)
{
	size_t len;

	reqval_field_string(errs, body, "content", 0, &in->content, &len);
	reqval_field_string(errs, body, "media_url", 0, &in->media_url, &len);
	reqval_field_string(errs, body, "client_id", 0, &in->client_id, &len);
}

/*
 * Parse the integer query parameter "name" of "f" into "*v" within
 * "min".."max", adding a FastAPI error to "errs" when it is not one.
 * "*v" is untouched when the parameter is absent.
 */
static void
reqval_query_int(json_t *errs, const struct form *f, const char *name,
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
		reqval_verr_add(errs, reqval_loc("query", name), msg,
		    "greater_than_equal",
		    json_pack("{s:I}", "ge", (json_int_t)min));
	} else if (n > max) {
		snprintf(msg, sizeof(msg),
		    "Input should be less than or equal to %lld",
		    (long long)max);
		reqval_verr_add(errs, reqval_loc("query", name), msg,
		    "less_than_equal",
		    json_pack("{s:I}", "le", (json_int_t)max));
	} else
		*v = n;
	return;
bad:
	reqval_verr_add(errs, reqval_loc("query", name),
	    "Input should be a valid integer, unable to parse string as an "
	    "integer",
	    "int_parsing", NULL);
}

int
reqval_msg_query(json_t *errs, const char *q, size_t len, int64_t *limit,
    int64_t *before, int64_t *after)
{
	struct form f = {NULL, 0};
	size_t n0 = json_array_size(errs);
	enum form_err fe;

	*limit = REQVAL_MSG_LIMIT;
	*before = *after = 0;
	if ((fe = form_parse(&f, q, len)) != FORM_OK)
		reqval_verr_add(errs, reqval_loc("query", NULL),
		    form_strerror(fe), "value_error", NULL);
	else {
		reqval_query_int(
		    errs, &f, "limit", 1, REQVAL_MSG_LIMIT_MAX, limit);
		reqval_query_int(errs, &f, "before", 1, INT64_MAX, before);
		reqval_query_int(errs, &f, "after", 1, INT64_MAX, after);
		if (json_array_size(errs) == n0 && *before > 0 && *after > 0)
			reqval_verr_add(errs, reqval_loc("query", NULL),
			    "Use either before or after, not both",
			    "value_error", NULL);
	}
	form_finish(&f);
	return json_array_size(errs) == n0 ? 0 : -1;
}
