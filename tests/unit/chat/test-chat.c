/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/chat/chat.c: error strings, timestamps, ids, and
 * chat_msg_post() against a real SQLite database in a temporary directory
 * (validation details, membership, idempotent client_id, media_url, the
 * message rate limit, and posting inside a caller's transaction).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "unit.h"

#define T0        1795844623123LL /* 2026-11-28T05:43:43.123Z */
#define MEDIA     "0123456789abcdef0123456789abcdef.png"
#define MEDIA_URL "/media/" MEDIA

#define TROOMS_MAX 1000 /* rooms_per_user_max */

START_TEST(test_strerror)
{
	int i, j;

	for (i = 0; i < CHAT_ERR__MAX; i++) {
		const char *s = chat_strerror((enum chat_err)i);

		ck_assert_ptr_nonnull(s);
		ck_assert_str_ne(s, "unknown error");
		for (j = 0; j < i; j++)
			ck_assert_str_ne(s, chat_strerror((enum chat_err)j));
	}
	ck_assert_str_eq(chat_strerror(CHAT_ERR__MAX), "unknown error");
	ck_assert_str_eq(chat_strerror((enum chat_err) - 1), "unknown error");
	ck_assert_str_eq(
	    chat_strerror(CHAT_ERR_EMAIL_TAKEN), "Email already registered");
}
END_TEST

START_TEST(test_now)
{
	int64_t a, now;

	a = (int64_t)time(NULL) * 1000;
	now = chat_now_ms();
	ck_assert_int_ge(now, a);
	ck_assert_int_lt(now, a + 2000);
}
END_TEST

START_TEST(test_time_fmt)
{
	char buf[CHAT_TIME_LEN];

	ck_assert_str_eq(chat_time_fmt(0, buf), "1970-01-01T00:00:00.000Z");
	ck_assert_str_eq(chat_time_fmt(T0, buf), "2026-11-28T05:43:43.123Z");
	ck_assert_str_eq(
	    chat_time_fmt(1709251199999LL, buf), "2024-02-29T23:59:59.999Z");
	ck_assert_str_eq(chat_time_fmt(7, buf), "1970-01-01T00:00:00.007Z");
	ck_assert_str_eq(chat_time_fmt(-1, buf), "1969-12-31T23:59:59.999Z");
	ck_assert_str_eq(chat_time_fmt(-1000, buf), "1969-12-31T23:59:59.000Z");
	/* Out of RFC 3339's four-digit years: clamped, never garbage. */
	ck_assert_str_eq(
	    chat_time_fmt(INT64_MAX, buf), "9999-12-31T23:59:59.999Z");
	ck_assert_str_eq(
	    chat_time_fmt(INT64_MIN, buf), "0000-01-01T00:00:00.000Z");
	ck_assert_ptr_eq(chat_time_fmt(T0, buf), buf);
}
END_TEST

/*
 * The formatter before it was written by hand (gmtime_r() and snprintf()),
 * kept here as the reference its output must equal.
 */
static void
time_fmt_ref(int64_t ms, char buf[CHAT_TIME_LEN])
{
	struct tm tm;
	int64_t frac;
	time_t t;

	if (ms < -62167219200000LL)
		ms = -62167219200000LL;
	if (ms > 253402300799999LL)
		ms = 253402300799999LL;
	frac = ms % 1000;
	if (frac < 0)
		frac += 1000;
	t = (time_t)((ms - frac) / 1000);
	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	snprintf(buf, CHAT_TIME_LEN, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
	    (unsigned)(tm.tm_year + 1900) % 10000,
	    (unsigned)(tm.tm_mon + 1) % 100, (unsigned)tm.tm_mday % 100,
	    (unsigned)tm.tm_hour % 100, (unsigned)tm.tm_min % 100,
	    (unsigned)tm.tm_sec % 100, (unsigned)frac % 1000);
}

/* chat_time_fmt("ms") equals the reference. */
static void
time_fmt_check(int64_t ms)
{
	char got[CHAT_TIME_LEN], want[CHAT_TIME_LEN];

	time_fmt_ref(ms, want);
	ck_assert_msg(strcmp(chat_time_fmt(ms, got), want) == 0,
	    "%lld: %s, want %s", (long long)ms, got, want);
}

/*
 * Against the reference: the first and last millisecond of every year
 * 0000..9999 and of the days around every February's end (leap years by
 * all three rules: 1900, 2000, 2100, 2400, year 0), every day of
 * 1960..2100 at a varying time of day, and a stride over the whole range.
 */
START_TEST(test_time_fmt_ref)
{
	static const int feb[] = {28, 29};
	uint64_t x = 88172645463325252ULL;
	struct tm tm;
	int64_t ms, y0;
	int y, i;

	for (y = 0; y <= 9999; y++) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900;
		tm.tm_mday = 1;
		y0 = (int64_t)timegm(&tm) * 1000;
		time_fmt_check(y0);
		time_fmt_check(y0 - 1);
		time_fmt_check(y0 + 999);
		for (i = 0; i < 2; i++) {
			tm.tm_mon = 1;
			tm.tm_mday = feb[i];
			ms = (int64_t)timegm(&tm) * 1000;
			time_fmt_check(ms);
			time_fmt_check(ms + 86399999);
			time_fmt_check(ms + 86400000);
		}
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 60;
	tm.tm_mday = 1;
	for (ms = (int64_t)timegm(&tm) * 1000; ms < 4102444800000LL;
	     ms += 86400000) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		time_fmt_check(ms + (int64_t)(x % 86400000));
	}
	for (ms = -62167219200000LL; ms <= 253402300799999LL;
	     ms += 7777777777LL)
		time_fmt_check(ms);
	time_fmt_check(INT64_MIN);
	time_fmt_check(-62167219200001LL);
	time_fmt_check(253402300800000LL);
	time_fmt_check(INT64_MAX);
}
END_TEST

START_TEST(test_id_fmt)
{
	char buf[CHAT_ID_LEN];

	ck_assert_str_eq(chat_id_fmt(0, buf), "0");
	ck_assert_str_eq(chat_id_fmt(7, buf), "7");
	ck_assert_str_eq(chat_id_fmt(1234567890, buf), "1234567890");
	ck_assert_str_eq(chat_id_fmt(-42, buf), "-42");
	ck_assert_str_eq(chat_id_fmt(INT64_MAX, buf), "9223372036854775807");
	ck_assert_str_eq(chat_id_fmt(INT64_MIN, buf), "-9223372036854775808");
}
END_TEST

START_TEST(test_id_json)
{
	json_t *v;

	v = chat_id_json(42);
	ck_assert(json_is_string(v));
	ck_assert_str_eq(json_string_value(v), "42");
	json_decref(v);
	v = chat_id_json(INT64_MAX);
	ck_assert_str_eq(json_string_value(v), "9223372036854775807");
	json_decref(v);
}
END_TEST

START_TEST(test_id_parse)
{
	static const char *const bad[] = {"", "0", "00", "007", "-1", "+1",
	    " 1", "1 ", "1a", "a1", "1.0", "1e3", "0x10", "\xef\xbc\x91",
	    "9223372036854775808", "18446744073709551617",
	    "99999999999999999999999"};
	int64_t id;
	size_t i;

	ck_assert_int_eq(chat_id_parse("1", &id), 0);
	ck_assert_int_eq(id, 1);
	ck_assert_int_eq(chat_id_parse("1234567890", &id), 0);
	ck_assert_int_eq(id, 1234567890);
	ck_assert_int_eq(chat_id_parse("9223372036854775807", &id), 0);
	ck_assert_int_eq(id, INT64_MAX);
	ck_assert_int_eq(chat_id_parse("9223372036854775806", &id), 0);
	ck_assert_int_eq(id, INT64_MAX - 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		id = 77;
		ck_assert_msg(
		    chat_id_parse(bad[i], &id) == -1, "accepted '%s'", bad[i]);
		ck_assert_int_eq(id, 77); /* untouched */
	}
	ck_assert_int_eq(chat_id_parse(NULL, &id), -1);
}
END_TEST

START_TEST(test_id_from_json)
{
	json_t *v;
	int64_t id = 0;

	v = json_string("15");
	ck_assert_int_eq(chat_id_from_json(v, &id), 0);
	ck_assert_int_eq(id, 15);
	json_decref(v);
	v = json_integer(16);
	ck_assert_int_eq(chat_id_from_json(v, &id), 0);
	ck_assert_int_eq(id, 16);
	json_decref(v);

	id = 99;
	v = json_integer(0);
	ck_assert_int_eq(chat_id_from_json(v, &id), -1);
	json_decref(v);
	v = json_integer(-5);
	ck_assert_int_eq(chat_id_from_json(v, &id), -1);
	json_decref(v);
	v = json_real(5.0);
	ck_assert_int_eq(chat_id_from_json(v, &id), -1);
	json_decref(v);
	v = json_string("05");
	ck_assert_int_eq(chat_id_from_json(v, &id), -1);
	json_decref(v);
	v = json_stringn("5\0"
	                 "1",
	    3);
	ck_assert_int_eq(chat_id_from_json(v, &id), -1);
	json_decref(v);
	ck_assert_int_eq(chat_id_from_json(json_true(), &id), -1);
	ck_assert_int_eq(chat_id_from_json(json_null(), &id), -1);
	ck_assert_int_eq(chat_id_from_json(NULL, &id), -1);
	ck_assert_int_eq(id, 99);
}
END_TEST

/* The database fixture: three users, a room of alice and bob, one file. */
#define TMPL "/tmp/test-chat.XXXXXX"
static char tmpdir[sizeof(TMPL)];
static char *dbpath;
static struct db *db;
static struct conf cf;
static int64_t alice, bob, carol, room;

static void
db_setup(void)
{
	int64_t members[1];

	memcpy(tmpdir, TMPL, sizeof(TMPL));
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	dbpath = xasprintf("%s/chat.db", tmpdir);
	db = db_open(dbpath, 1000);
	ck_assert_ptr_nonnull(db);
	conf_init(&cf);
	ck_assert_int_eq(db_user_insert(db, "alice", "alice@example.com", NULL,
	                     "$argon2id$x", T0, &alice),
	    CHAT_OK);
	ck_assert_int_eq(db_user_insert(db, "bob", "bob@example.com", "Bob",
	                     "$argon2id$x", T0, &bob),
	    CHAT_OK);
	ck_assert_int_eq(db_user_insert(db, "carol", "carol@example.com", NULL,
	                     "$argon2id$x", T0, &carol),
	    CHAT_OK);
	members[0] = bob;
	ck_assert_int_eq(db_room_create(db, "general", 0, alice, members, 1,
	                     TROOMS_MAX, T0, &room, NULL),
	    CHAT_OK);
	ck_assert_int_eq(
	    db_media_insert(db, MEDIA, alice, 67, "image/png", "cat.png", T0),
	    CHAT_OK);
}

static void
db_teardown(void)
{
	char *p;

	db_free(db);
	conf_finish(&cf);
	unlink(dbpath);
	p = xasprintf("%s-wal", dbpath);
	unlink(p);
	free(p);
	p = xasprintf("%s-shm", dbpath);
	unlink(p);
	free(p);
	rmdir(tmpdir);
	free(dbpath);
}

/* Post and return the outcome; "out" is filled either way. */
static enum chat_err
post(int64_t user, int64_t to, const char *content, const char *media,
    const char *client_id, int64_t now, struct chat_msg_out *out)
{
	struct chat_msg_in in = {content, media, client_id};

	return chat_msg_post(db, &cf, user, to, &in, "body", now, out);
}

/* A string member of "o", which must exist and be a string. */
static const char *
str_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

START_TEST(test_post_ok)
{
	struct chat_msg_out out;
	char buf[CHAT_TIME_LEN], id[24];

	ck_assert_int_eq(
	    post(alice, room, "hello \xf0\x9f\x98\x80", NULL, NULL, T0, &out),
	    CHAT_OK);
	ck_assert_int_eq(out.created, 1);
	ck_assert_int_gt(out.id, 0);
	ck_assert_ptr_null(out.detail);
	ck_assert_ptr_nonnull(out.msg);
	snprintf(id, sizeof(id), "%lld", (long long)out.id);
	ck_assert_str_eq(str_of(out.msg, "id"), id);
	snprintf(id, sizeof(id), "%lld", (long long)room);
	ck_assert_str_eq(str_of(out.msg, "room_id"), id);
	snprintf(id, sizeof(id), "%lld", (long long)alice);
	ck_assert_str_eq(str_of(out.msg, "sender_id"), id);
	ck_assert_str_eq(str_of(out.msg, "sender"), "alice@example.com");
	ck_assert_str_eq(str_of(out.msg, "sender_username"), "alice");
	ck_assert_str_eq(str_of(out.msg, "content"), "hello \xf0\x9f\x98\x80");
	ck_assert(json_is_null(json_object_get(out.msg, "media_url")));
	ck_assert(json_is_null(json_object_get(out.msg, "client_id")));
	ck_assert_str_eq(str_of(out.msg, "timestamp"), chat_time_fmt(T0, buf));
	ck_assert_int_eq(db_in_txn(db), 0);
	chat_msg_out_finish(&out);
	ck_assert_ptr_null(out.msg);
	chat_msg_out_finish(&out); /* twice is harmless */

	/* The other member may post too; ids increase. */
	ck_assert_int_eq(
	    post(bob, room, "hi", NULL, NULL, T0 + 1, &out), CHAT_OK);
	ck_assert_int_eq(out.created, 1);
	chat_msg_out_finish(&out);
}
END_TEST

START_TEST(test_post_client_id_idempotent)
{
	struct chat_msg_out a, b, c;

	ck_assert_int_eq(
	    post(alice, room, "once", NULL, "c-1", T0, &a), CHAT_OK);
	ck_assert_int_eq(a.created, 1);
	ck_assert_str_eq(str_of(a.msg, "client_id"), "c-1");
	/* The replay returns the first message, even with other content. */
	ck_assert_int_eq(
	    post(alice, room, "twice", NULL, "c-1", T0 + 5, &b), CHAT_OK);
	ck_assert_int_eq(b.created, 0);
	ck_assert_int_eq(b.id, a.id);
	ck_assert(json_equal(a.msg, b.msg));
	ck_assert_str_eq(str_of(b.msg, "content"), "once");
	/* The same client_id from another sender is another message. */
	ck_assert_int_eq(post(bob, room, "mine", NULL, "c-1", T0, &c), CHAT_OK);
	ck_assert_int_eq(c.created, 1);
	ck_assert_int_ne(c.id, a.id);
	chat_msg_out_finish(&a);
	chat_msg_out_finish(&b);
	chat_msg_out_finish(&c);
}
END_TEST

/*
 * chat_msg_post_text() stores like chat_msg_post() and writes the very
 * bytes json_dumps() writes for its message, new or replayed; a refusal
 * leaves no text.
 */
START_TEST(test_post_text)
{
	struct chat_msg_in in = {"q\"b\\ caf\xc3\xa9\n", NULL, "t-1"};
	struct chat_msg_out a, b, c;
	char *want;

	ck_assert_int_eq(
	    chat_msg_post_text(db, &cf, alice, room, &in, "body", T0, &a),
	    CHAT_OK);
	ck_assert_int_eq(a.created, 1);
	ck_assert_ptr_null(a.msg);
	ck_assert_ptr_nonnull(a.text);
	ck_assert_int_eq(db_msg_json(db, a.id, &b.msg), CHAT_OK);
	want = json_dumps(b.msg, JSON_COMPACT);
	ck_assert_uint_eq(a.textlen, strlen(want));
	ck_assert_str_eq(a.text, want);
	json_decref(b.msg);
	/* The replay of its client_id: the same bytes, nothing new. */
	ck_assert_int_eq(
	    chat_msg_post_text(db, &cf, alice, room, &in, "body", T0 + 9, &b),
	    CHAT_OK);
	ck_assert_int_eq(b.created, 0);
	ck_assert_int_eq(b.id, a.id);
	ck_assert_str_eq(b.text, want);
	/* Not a member: no text. */
	ck_assert_int_eq(
	    chat_msg_post_text(db, &cf, carol, room, &in, "body", T0, &c),
	    CHAT_ERR_NOTFOUND);
	ck_assert_ptr_null(c.text);
	ck_assert_uint_eq(c.textlen, 0);
	chat_msg_out_finish(&a);
	chat_msg_out_finish(&b);
	ck_assert_ptr_null(a.text);
	free(want);
}
END_TEST

START_TEST(test_post_not_member)
{
	struct chat_msg_out out;

	ck_assert_int_eq(post(carol, room, "let me in", NULL, NULL, T0, &out),
	    CHAT_ERR_NOTFOUND);
	ck_assert_ptr_null(out.msg);
	ck_assert_ptr_null(out.detail);
	ck_assert_int_eq(
	    post(alice, room + 1000, "nowhere", NULL, NULL, T0, &out),
	    CHAT_ERR_NOTFOUND);
	ck_assert_ptr_null(out.msg);
	ck_assert_int_eq(db_in_txn(db), 0);
}
END_TEST

/*
 * Expect CHAT_ERR_INVALID with exactly the given (field, type) items, in
 * order, at location "loc0".
 */
static void
expect_invalid(struct chat_msg_out *out, enum chat_err e, const char *loc0,
    size_t n, const char *const *want)
{
	json_t *item;
	size_t i;

	ck_assert_int_eq(e, CHAT_ERR_INVALID);
	ck_assert_ptr_null(out->msg);
	ck_assert(json_is_array(out->detail));
	ck_assert_uint_eq(json_array_size(out->detail), n);
	for (i = 0; i < n; i++) {
		item = json_array_get(out->detail, i);
		ck_assert_uint_eq(
		    json_array_size(json_object_get(item, "loc")), 2);
		ck_assert_str_eq(json_string_value(json_array_get(
		                     json_object_get(item, "loc"), 0)),
		    loc0);
		ck_assert_str_eq(json_string_value(json_array_get(
		                     json_object_get(item, "loc"), 1)),
		    want[2 * i]);
		ck_assert_str_eq(str_of(item, "type"), want[2 * i + 1]);
		ck_assert_uint_gt(strlen(str_of(item, "msg")), 0);
	}
	chat_msg_out_finish(out);
}

START_TEST(test_post_invalid)
{
	static const char *const empty[] = {"content", "string_too_short"};
	static const char *const big[] = {"content", "string_too_long"};
	static const char *const ctl[] = {"content", "value_error"};
	static const char *const media[] = {"media_url", "value_error"};
	static const char *const cid_long[] = {"client_id", "string_too_long"};
	static const char *const cid_bad[] = {"client_id", "value_error"};
	static const char *const cid_empty[] = {
	    "client_id", "string_too_short"};
	static const char *const two[] = {
	    "content", "string_too_short", "client_id", "value_error"};
	struct chat_msg_out out;
	struct chat_msg_in in = {NULL, NULL, NULL};
	char *s, cid[66];
	json_t *item;

	expect_invalid(&out, post(alice, room, "", NULL, NULL, T0, &out),
	    "body", 1, empty);
	expect_invalid(&out, post(alice, room, NULL, NULL, NULL, T0, &out),
	    "body", 1, empty);
	/* The location names the caller's event. */
	expect_invalid(&out,
	    chat_msg_post(db, &cf, alice, room, &in, "chat_message", T0, &out),
	    "chat_message", 1, empty);
	/* Max length counts code points, not bytes. */
	s = xcalloc(4097, 4);
	for (size_t i = 0; i < 4096; i++)
		memcpy(s + 4 * i, "\xf0\x9f\x98\x80", 4);
	ck_assert_int_eq(post(alice, room, s, NULL, NULL, T0, &out), CHAT_OK);
	chat_msg_out_finish(&out);
	memset(s, 'a', 4097);
	s[4097] = '\0';
	expect_invalid(
	    &out, post(alice, room, s, NULL, NULL, T0, &out), "body", 1, big);
	/* The error says which limit, as pydantic's ctx does. */
	ck_assert_int_eq(
	    post(alice, room, s, NULL, NULL, T0, &out), CHAT_ERR_INVALID);
	item = json_array_get(out.detail, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(
	                     json_object_get(item, "ctx"), "max_length")),
	    4096);
	chat_msg_out_finish(&out);
	free(s);
	expect_invalid(&out,
	    post(alice, room, "bell\x07", NULL, NULL, T0, &out), "body", 1,
	    ctl);
	expect_invalid(&out, post(alice, room, "\x1b[2J", NULL, NULL, T0, &out),
	    "body", 1, ctl);
	expect_invalid(&out,
	    post(alice, room, "\xc0\xaf", NULL, NULL, T0, &out), "body", 1,
	    ctl);
	/* media_url: shape, then existence. */
	expect_invalid(&out,
	    post(alice, room, "x", "http://evil.example/a.png", NULL, T0, &out),
	    "body", 1, media);
	expect_invalid(&out,
	    post(alice, room, "x", "/media/../../etc/passwd", NULL, T0, &out),
	    "body", 1, media);
	expect_invalid(&out,
	    post(alice, room, "x",
	        "/media/0123456789ABCDEF0123456789abcdef.png", NULL, T0, &out),
	    "body", 1, media);
	expect_invalid(&out,
	    post(alice, room, "x", "/media/0123456789abcdef0123456789abcdef.p",
	        NULL, T0, &out),
	    "body", 1, media);
	expect_invalid(&out,
	    post(alice, room, "x",
	        "/media/0123456789abcdef0123456789abcdef.pngpng", NULL, T0,
	        &out),
	    "body", 1, media);
	expect_invalid(&out,
	    post(alice, room, "x", MEDIA_URL "?x=1", NULL, T0, &out), "body", 1,
	    media);
	expect_invalid(&out,
	    post(alice, room, "x",
	        "/media/ffffffffffffffffffffffffffffffff.png", NULL, T0, &out),
	    "body", 1, media);
	/* client_id. */
	memset(cid, 'k', 65);
	cid[65] = '\0';
	expect_invalid(&out, post(alice, room, "x", NULL, cid, T0, &out),
	    "body", 1, cid_long);
	expect_invalid(&out, post(alice, room, "x", NULL, "a b", T0, &out),
	    "body", 1, cid_bad);
	expect_invalid(&out,
	    post(alice, room, "x", NULL, "caf\xc3\xa9", T0, &out), "body", 1,
	    cid_bad);
	expect_invalid(&out, post(alice, room, "x", NULL, "", T0, &out), "body",
	    1, cid_empty);
	cid[64] = '\0';
	ck_assert_int_eq(post(alice, room, "x", NULL, cid, T0, &out), CHAT_OK);
	chat_msg_out_finish(&out);
	/* Every bad field is reported at once. */
	expect_invalid(&out, post(alice, room, "", NULL, "a\tb", T0, &out),
	    "body", 2, two);
	/* Validation comes before membership. */
	expect_invalid(&out, post(carol, room, "", NULL, NULL, T0, &out),
	    "body", 1, empty);
	ck_assert_int_eq(db_in_txn(db), 0);
}
END_TEST

START_TEST(test_post_media)
{
	struct chat_msg_out out;

	/* A known file may come without text. */
	ck_assert_int_eq(
	    post(alice, room, "", MEDIA_URL, NULL, T0, &out), CHAT_OK);
	ck_assert_str_eq(str_of(out.msg, "media_url"), MEDIA_URL);
	ck_assert_str_eq(str_of(out.msg, "content"), "");
	chat_msg_out_finish(&out);
	ck_assert_int_eq(
	    post(alice, room, NULL, MEDIA_URL, NULL, T0, &out), CHAT_OK);
	chat_msg_out_finish(&out);
	ck_assert_int_eq(
	    post(bob, room, "look", MEDIA_URL, NULL, T0, &out), CHAT_OK);
	ck_assert_str_eq(str_of(out.msg, "content"), "look");
	chat_msg_out_finish(&out);
	/* An empty media_url is no media_url. */
	ck_assert_int_eq(
	    post(alice, room, "text", "", NULL, T0, &out), CHAT_OK);
	ck_assert(json_is_null(json_object_get(out.msg, "media_url")));
	chat_msg_out_finish(&out);
}
END_TEST

START_TEST(test_post_rate)
{
	struct chat_msg_out out;
	int i;

	cf.msg_burst = 3;
	cf.msg_rate = 2;
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(
		    post(alice, room, "m", NULL, NULL, T0, &out), CHAT_OK);
		ck_assert_double_eq(out.retry_after, 0);
		chat_msg_out_finish(&out);
	}
	ck_assert_int_eq(
	    post(alice, room, "m", NULL, NULL, T0, &out), CHAT_ERR_RATE);
	ck_assert_ptr_null(out.msg);
	ck_assert_ptr_null(out.detail);
	ck_assert_double_gt(out.retry_after, 0.4);
	ck_assert_double_le(out.retry_after, 0.5);
	ck_assert_int_eq(db_in_txn(db), 0);
	/* Another user has a bucket of their own. */
	ck_assert_int_eq(post(bob, room, "m", NULL, NULL, T0, &out), CHAT_OK);
	chat_msg_out_finish(&out);
	/* Half a second later one token is back, and only one. */
	ck_assert_int_eq(
	    post(alice, room, "m", NULL, NULL, T0 + 500, &out), CHAT_OK);
	chat_msg_out_finish(&out);
	ck_assert_int_eq(
	    post(alice, room, "m", NULL, NULL, T0 + 500, &out), CHAT_ERR_RATE);
	/* A refused post stored nothing. */
	ck_assert_int_eq(
	    post(alice, room, "m", NULL, NULL, T0 + 10000, &out), CHAT_OK);
	ck_assert_int_eq(out.id, 6); /* 3 + bob's + 1 + this one */
	chat_msg_out_finish(&out);
}
END_TEST

START_TEST(test_post_nested)
{
	struct chat_msg_out a, b, c;
	json_t *msgs = NULL;

	ck_assert_int_eq(db_begin(db), CHAT_OK);
	ck_assert_int_eq(post(alice, room, "one", NULL, NULL, T0, &a), CHAT_OK);
	ck_assert_int_eq(db_in_txn(db), 1);
	/* A refusal inside the batch leaves it usable. */
	ck_assert_int_eq(
	    post(carol, room, "no", NULL, NULL, T0, &c), CHAT_ERR_NOTFOUND);
	ck_assert_int_eq(post(bob, room, "two", NULL, NULL, T0, &b), CHAT_OK);
	ck_assert_int_eq(db_in_txn(db), 1);
	ck_assert_int_eq(db_commit(db), CHAT_OK);
	ck_assert_int_eq(db_in_txn(db), 0);
	ck_assert_int_eq(b.id, a.id + 1);
	ck_assert_int_eq(db_msgs_json(db, room, 10, 0, 0, &msgs), CHAT_OK);
	ck_assert_uint_eq(json_array_size(msgs), 2);
	ck_assert_str_eq(str_of(json_array_get(msgs, 1), "content"), "two");
	json_decref(msgs);
	chat_msg_out_finish(&a);
	chat_msg_out_finish(&b);
}
END_TEST

START_TEST(test_post_rolled_back_batch)
{
	struct chat_msg_out a;
	json_t *msgs = NULL;

	/* A caller that rolls its batch back takes the post with it. */
	ck_assert_int_eq(db_begin(db), CHAT_OK);
	ck_assert_int_eq(
	    post(alice, room, "gone", NULL, NULL, T0, &a), CHAT_OK);
	db_rollback(db);
	ck_assert_int_eq(db_msgs_json(db, room, 10, 0, 0, &msgs), CHAT_OK);
	ck_assert_uint_eq(json_array_size(msgs), 0);
	json_decref(msgs);
	chat_msg_out_finish(&a);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("chat");
	TCase *pure = tcase_create("pure"), *post_tc = tcase_create("post");

	log_init("test-chat", 1, 0);
	tcase_add_test(pure, test_strerror);
	tcase_add_test(pure, test_now);
	tcase_add_test(pure, test_time_fmt);
	tcase_add_test(pure, test_time_fmt_ref);
	tcase_add_test(pure, test_id_fmt);
	tcase_add_test(pure, test_id_json);
	tcase_add_test(pure, test_id_parse);
	tcase_add_test(pure, test_id_from_json);
	suite_add_tcase(s, pure);
	tcase_add_checked_fixture(post_tc, db_setup, db_teardown);
	tcase_add_test(post_tc, test_post_ok);
	tcase_add_test(post_tc, test_post_client_id_idempotent);
	tcase_add_test(post_tc, test_post_text);
	tcase_add_test(post_tc, test_post_not_member);
	tcase_add_test(post_tc, test_post_invalid);
	tcase_add_test(post_tc, test_post_media);
	tcase_add_test(post_tc, test_post_rate);
	tcase_add_test(post_tc, test_post_nested);
	tcase_add_test(post_tc, test_post_rolled_back_batch);
	suite_add_tcase(s, post_tc);
	return unit_run(s);
}
