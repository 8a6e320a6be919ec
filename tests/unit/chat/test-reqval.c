/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/chat/reqval.c: the JSON body rules (empty body, content
 * types, syntax errors with their position and text, duplicate keys, non
 * objects), the field checks of signup, login, room creation and message
 * posting, and the history query. Pure functions only.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "chat/reqval.h"
#include "unit.h"

/* The "type" of error "i" of "errs", or "" when there is none. */
static const char *
etype(json_t *errs, size_t i)
{
	const char *s =
	    json_string_value(json_object_get(json_array_get(errs, i), "type"));

	return s != NULL ? s : "";
}

/* The location of error "i" of "errs" as compact JSON (a new string). */
static char *
eloc(json_t *errs, size_t i)
{
	return json_dumps(
	    json_object_get(json_array_get(errs, i), "loc"), JSON_COMPACT);
}

/* reqval_body_object() on the C string "s": the object or NULL. */
static json_t *
body(json_t *errs, const char *ctype, const char *s)
{
	return reqval_body_object(errs, ctype, s, strlen(s));
}

START_TEST(test_reqval_body_rules)
{
	json_t *errs = json_array(), *o;
	char *loc;

	o = body(errs, NULL, "{\"a\":1}");
	ck_assert(json_is_object(o));
	ck_assert_uint_eq(json_array_size(errs), 0);
	json_decref(o);
	o = body(errs, "Application/Problem+JSON; charset=utf-8", "{}");
	ck_assert(json_is_object(o));
	json_decref(o);

	ck_assert_ptr_null(body(errs, NULL, ""));
	ck_assert_str_eq(etype(errs, 0), "missing");
	ck_assert_ptr_null(body(errs, "text/plain", "{}"));
	ck_assert_str_eq(etype(errs, 1), "model_attributes_type");
	ck_assert_ptr_null(body(errs, NULL, "[1]"));
	ck_assert_str_eq(etype(errs, 2), "model_attributes_type");
	ck_assert_ptr_null(body(errs, NULL, "{\"a\":1,\"a\":2}"));
	ck_assert_str_eq(etype(errs, 3), "json_invalid");
	ck_assert_ptr_null(body(errs, NULL, "{\"a\":1} x"));
	ck_assert_str_eq(etype(errs, 4), "json_invalid");
	loc = eloc(errs, 4);
	ck_assert_str_eq(loc, "[\"body\",9]");
	free(loc);
	ck_assert_ptr_null(body(errs, NULL, "{\"a\":\"\\u0000\"}"));
	ck_assert_ptr_null(body(errs, NULL, "{\"a\":\"\\ud800\"}"));
	ck_assert_uint_eq(json_array_size(errs), 7);
	json_decref(errs);
}
END_TEST

/*
 * A syntax error whose quoted input ends inside a character or on a
 * non-UTF-8 byte still carries ctx.error (found by fuzz-json).
 */
START_TEST(test_reqval_error_text_utf8)
{
	static const char s[] = "{\"rfo\\\311\212\177e\311\2120%\"<}";
	json_t *errs = json_array();
	const char *text;

	ck_assert_ptr_null(body(errs, NULL, s));
	ck_assert_str_eq(etype(errs, 0), "json_invalid");
	text = json_string_value(json_object_get(
	    json_object_get(json_array_get(errs, 0), "ctx"), "error"));
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "invalid escape"));
	json_decref(errs);
}
END_TEST

START_TEST(test_reqval_signup)
{
	json_t *errs = json_array(), *o;
	char *loc;

	o = body(errs, NULL,
	    "{\"username\":\"al\",\"email\":\"x\",\"password\":\"short\","
	    "\"full_name\":\"a\\u0007\"}");
	reqval_signup(errs, o);
	ck_assert_uint_eq(json_array_size(errs), 4);
	ck_assert_str_eq(etype(errs, 0), "string_too_short");
	ck_assert_str_eq(etype(errs, 1), "value_error");
	ck_assert_str_eq(etype(errs, 2), "string_too_short");
	ck_assert_str_eq(etype(errs, 3), "value_error");
	loc = eloc(errs, 3);
	ck_assert_str_eq(loc, "[\"body\",\"full_name\"]");
	free(loc);
	json_decref(o);
	json_decref(errs);

	errs = json_array();
	o = body(errs, NULL,
	    "{\"username\":\"alice_1\",\"email\":\"a@example.com\","
	    "\"password\":\"correct horse\"}");
	reqval_signup(errs, o);
	ck_assert_uint_eq(json_array_size(errs), 0);
	json_decref(o);
	json_decref(errs);
}
END_TEST

START_TEST(test_reqval_login)
{
	static const char form[] = "application/x-www-form-urlencoded";
	struct form f = {NULL, 0};
	const char *login, *pw;
	json_t *errs = json_array(), *o = NULL;
	char big[300];

	ck_assert_int_eq(reqval_login(errs, form, "username=a%40b.c&password=x",
	                     27, &f, &o, &login, &pw),
	    0);
	ck_assert_str_eq(login, "a@b.c");
	ck_assert_str_eq(pw, "x");
	form_finish(&f);
	ck_assert_int_eq(reqval_login(errs, form, "username=&password=x", 20,
	                     &f, &o, &login, &pw),
	    -1);
	ck_assert_str_eq(etype(errs, 0), "missing");
	form_finish(&f);
	json_decref(errs);

	errs = json_array();
	ck_assert_int_eq(
	    reqval_login(errs, NULL, "{\"email\":\"a@b.c\",\"password\":\"p\"}",
	        32, &f, &o, &login, &pw),
	    0);
	ck_assert_str_eq(login, "a@b.c");
	json_decref(o);
	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"username\":\"", 13);
	memcpy(big + sizeof(big) - 19, "\",\"password\":\"p\"}", 18);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(
	    reqval_login(errs, NULL, big, strlen(big), &f, &o, &login, &pw),
	    -1);
	ck_assert_str_eq(etype(errs, 0), "string_too_long");
	json_decref(o);
	ck_assert_int_eq(
	    reqval_login(errs, NULL, "[]", 2, &f, &o, &login, &pw), -1);
	ck_assert_ptr_null(o);
	json_decref(errs);
}
END_TEST

START_TEST(test_reqval_room_msg)
{
	struct chat_msg_in in;
	json_t *errs = json_array(), *o;
	int priv = -1;
	char *loc;

	o = body(errs, NULL, "{\"members\":[\"bob\",1],\"is_private\":true}");
	reqval_room(errs, o, 1000, &priv);
	ck_assert_int_eq(priv, 1);
	ck_assert_uint_eq(json_array_size(errs), 1);
	loc = eloc(errs, 0);
	ck_assert_str_eq(loc, "[\"body\",\"members\",1]");
	free(loc);
	json_decref(o);
	json_decref(errs);

	errs = json_array();
	o = body(errs, NULL, "{\"members\":[],\"is_private\":\"no\"}");
	reqval_room(errs, o, 1000, &priv);
	ck_assert_int_eq(priv, 0);
	ck_assert_uint_eq(json_array_size(errs), 2);
	ck_assert_str_eq(etype(errs, 0), "missing");
	ck_assert_str_eq(etype(errs, 1), "bool_type");
	json_decref(o);
	json_decref(errs);

	/* room_members_max bounds the list as sent, repeats included. */
	errs = json_array();
	o = body(errs, NULL, "{\"name\":\"r\",\"members\":[\"b\",\"b\"]}");
	reqval_room(errs, o, 2, &priv);
	ck_assert_uint_eq(json_array_size(errs), 0);
	json_decref(o);
	o = body(
	    errs, NULL, "{\"name\":\"r\",\"members\":[\"b\",\"b\",\"c\"]}");
	reqval_room(errs, o, 2, &priv);
	ck_assert_uint_eq(json_array_size(errs), 1);
	ck_assert_str_eq(etype(errs, 0), "too_long");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
	        json_object_get(json_array_get(errs, 0), "ctx"), "max_length")),
	    2);
	json_decref(o);
	json_decref(errs);

	errs = json_array();
	o = body(errs, NULL,
	    "{\"content\":\"hi\",\"media_url\":null,"
	    "\"client_id\":7}");
	reqval_msg(errs, o, &in);
	ck_assert_str_eq(in.content, "hi");
	ck_assert_ptr_null(in.media_url);
	ck_assert_uint_eq(json_array_size(errs), 1);
	ck_assert_str_eq(etype(errs, 0), "string_type");
	json_decref(o);
	json_decref(errs);
}
END_TEST

START_TEST(test_reqval_msg_query)
{
	json_t *errs = json_array();
	int64_t limit, before, after;

	ck_assert_int_eq(
	    reqval_msg_query(errs, "", 0, &limit, &before, &after), 0);
	ck_assert_int_eq(limit, REQVAL_MSG_LIMIT);
	ck_assert_int_eq(before, 0);
	ck_assert_int_eq(reqval_msg_query(errs, "limit=100&after=9", 17, &limit,
	                     &before, &after),
	    0);
	ck_assert_int_eq(limit, 100);
	ck_assert_int_eq(after, 9);
	ck_assert_int_eq(reqval_msg_query(errs, "limit=101&before=x", 18,
	                     &limit, &before, &after),
	    -1);
	ck_assert_str_eq(etype(errs, 0), "less_than_equal");
	ck_assert_str_eq(etype(errs, 1), "int_parsing");
	ck_assert_int_eq(reqval_msg_query(errs, "before=1&after=2", 16, &limit,
	                     &before, &after),
	    -1);
	ck_assert_str_eq(etype(errs, 2), "value_error");
	ck_assert_int_eq(
	    reqval_msg_query(errs, "a=%zz", 5, &limit, &before, &after), -1);
	ck_assert_uint_eq(json_array_size(errs), 4);
	json_decref(errs);
}
END_TEST

static Suite *
reqval_suite(void)
{
	Suite *s = suite_create("reqval");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_reqval_body_rules);
	tcase_add_test(tc, test_reqval_error_text_utf8);
	tcase_add_test(tc, test_reqval_signup);
	tcase_add_test(tc, test_reqval_login);
	tcase_add_test(tc, test_reqval_room_msg);
	tcase_add_test(tc, test_reqval_msg_query);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(reqval_suite());
}
