/* SPDX-License-Identifier: ISC */
/*
 * The rules the REST workers and the push daemon share: error codes and
 * their descriptions, ids and timestamps as the wire shows them, and the
 * posting of a message, so that a message sent over Socket.IO is validated,
 * rate limited and stored exactly like one sent over REST. It reaches the
 * database only through lib/chat/db and never publishes anything itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "common/conf.h"
#include "common/fault.h"
#include "common/log.h"
#include "common/valid.h"

static const char *const chat_errs[CHAT_ERR__MAX] = {
    [CHAT_OK] = "success",
    [CHAT_ERR_NOTFOUND] = "not found",
    [CHAT_ERR_INVALID] = "invalid input",
    [CHAT_ERR_EXISTS] = "already exists",
    [CHAT_ERR_EMAIL_TAKEN] = "Email already registered",
    [CHAT_ERR_USERNAME_TAKEN] = "Username already registered",
    [CHAT_ERR_AUTH] = "Could not validate credentials",
    [CHAT_ERR_RATE] = "Too many requests",
    [CHAT_ERR_LIMIT] = "too many rooms",
    [CHAT_ERR_BUSY] = "database busy",
    [CHAT_ERR_FULL] = "storage full",
    [CHAT_ERR_DB] = "storage error",
};

const char *
chat_strerror(enum chat_err e)
{
	if ((unsigned)e >= CHAT_ERR__MAX || chat_errs[e] == NULL)
		return "unknown error";
	return chat_errs[e];
}

int64_t
chat_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in ms. */
#define CHAT_TIME_MIN (-62167219200000LL)
#define CHAT_TIME_MAX 253402300799999LL

/* Write "v" (0..99) as two digits at "p". */
static void
chat_digits2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

/*
 * RFC 3339 only has four-digit years, so "ms" is clamped to years
 * 0000..9999 (only corrupt data lies outside) and the call always
 * succeeds. Milliseconds round towards the past, also before 1970. The
 * civil date comes from the day number by Howard Hinnant's
 * days_from_civil inverse (400-year eras of 146097 days, years starting
 * in March), without gmtime_r() and snprintf(), which were a tenth of a
 * message page's cost.
 */
char *
chat_time_fmt(int64_t ms, char buf[CHAT_TIME_LEN])
{
	int64_t days, secs, z, era;
	unsigned doe, yoe, doy, mp, day, mon, year;

	if (ms < CHAT_TIME_MIN)
		ms = CHAT_TIME_MIN;
	if (ms > CHAT_TIME_MAX)
		ms = CHAT_TIME_MAX;
	/* Floor divisions: the remainders are never negative. */
	days = (ms >= 0 ? ms : ms - 86399999) / 86400000;
	secs = ms - days * 86400000; /* ms into the day */
	z = days + 719468;           /* days since 0000-03-01 */
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	day = doy - (153 * mp + 2) / 5 + 1;
	mon = mp < 10 ? mp + 3 : mp - 9;
	year = (unsigned)(yoe + era * 400 + (mon <= 2));

	chat_digits2(buf, year / 100);
	chat_digits2(buf + 2, year % 100);
	buf[4] = '-';
	chat_digits2(buf + 5, mon);
	buf[7] = '-';
	chat_digits2(buf + 8, day);
	buf[10] = 'T';
	chat_digits2(buf + 11, (unsigned)(secs / 3600000));
	buf[13] = ':';
	chat_digits2(buf + 14, (unsigned)(secs / 60000 % 60));
	buf[16] = ':';
	chat_digits2(buf + 17, (unsigned)(secs / 1000 % 60));
	buf[19] = '.';
	buf[20] = (char)('0' + secs % 1000 / 100);
	chat_digits2(buf + 21, (unsigned)(secs % 100));
	memcpy(buf + 23, "Z", 2);
	return buf;
}

char *
chat_id_fmt(int64_t id, char buf[CHAT_ID_LEN])
{
	uint64_t u = id < 0 ? 0 - (uint64_t)id : (uint64_t)id;
	size_t i = CHAT_ID_LEN - 1;

	buf[i] = '\0';
	do {
		buf[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (id < 0)
		buf[--i] = '-';
	return buf + i;
}

json_t *
chat_id_json(int64_t id)
{
	char buf[CHAT_ID_LEN];

	return json_string(chat_id_fmt(id, buf));
}

/*
 * Decimal digits only, as chat_id_json() writes them: no sign, space,
 * leading zero or exponent, so that each id has exactly one spelling and
 * "007" cannot alias 7 in a cache key or a comparison.
 */
int
chat_id_parse(const char *s, int64_t *id)
{
	int64_t v = 0;
	size_t i;

	if (s == NULL || s[0] < '1' || s[0] > '9')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		int d = s[i] - '0';

		if (d < 0 || d > 9 || v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*id = v;
	return 0;
}

/*
 * An id as a client may send it: the JSON string clients get (checked
 * with chat_id_parse(), whole length included), or a JSON integer > 0 as
 * a FastAPI client may send for an int field. Reals, booleans and the
 * rest are refused.
 */
int
chat_id_from_json(const json_t *v, int64_t *id)
{
	const char *s;

	if (json_is_string(v)) {
		s = json_string_value(v);
		if (strlen(s) != json_string_length(v))
			return -1;
		return chat_id_parse(s, id);
	}
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*id = (int64_t)json_integer_value(v);
		return 0;
	}
	return -1;
}

/*
 * Append one FastAPI/pydantic-v2 style error to "detail":
 * {"loc": [loc0, field], "msg": msg, "type": type}, plus "ctx" when
 * "ctx_key" is given.
 */
static void
chat_detail_add(json_t *detail, const char *loc0, const char *field,
    const char *type, const char *msg, const char *ctx_key, size_t ctx_val)
{
	json_t *item = json_object();

	json_object_set_new(item, "loc", json_pack("[ss]", loc0, field));
	json_object_set_new(item, "msg", json_string(msg));
	json_object_set_new(item, "type", json_string(type));
	if (ctx_key != NULL)
		json_object_set_new(item, "ctx",
		    json_pack("{sI}", ctx_key, (json_int_t)ctx_val));
	json_array_append_new(detail, item);
}

/*
 * "content": 1..VALID_CONTENT_MAX code points of text without control
 * characters other than \n, \r, \t; empty only when a media_url comes
 * with it.
 */
static void
chat_msg_check_content(
    json_t *detail, const char *loc0, const char *s, int has_media)
{
	size_t len = strlen(s), n;

	if (!valid_text(s, len, 0, SIZE_MAX)) {
		chat_detail_add(detail, loc0, "content", "value_error",
		    "Value error, content must be UTF-8 text without control "
		    "characters",
		    NULL, 0);
		return;
	}
	n = valid_utf8_chars(s, len);
	if (n == 0 && !has_media)
		chat_detail_add(detail, loc0, "content", "string_too_short",
		    "String should have at least 1 character", "min_length", 1);
	else if (n > VALID_CONTENT_MAX)
		chat_detail_add(detail, loc0, "content", "string_too_long",
		    "String should have at most 4096 characters", "max_length",
		    VALID_CONTENT_MAX);
}

/* "client_id": 1..VALID_CLIENT_ID_MAX bytes of 0x21..0x7e. */
static void
chat_msg_check_client_id(json_t *detail, const char *loc0, const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0) {
		chat_detail_add(detail, loc0, "client_id", "string_too_short",
		    "String should have at least 1 character", "min_length", 1);
		return;
	}
	if (len > VALID_CLIENT_ID_MAX) {
		chat_detail_add(detail, loc0, "client_id", "string_too_long",
		    "String should have at most 64 characters", "max_length",
		    VALID_CLIENT_ID_MAX);
		return;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
			chat_detail_add(detail, loc0, "client_id",
			    "value_error",
			    "Value error, client_id must be printable ASCII "
			    "without spaces",
			    NULL, 0);
			return;
		}
}

/* 1 when "url" is "/media/" and the shape of a stored upload's name. */
static int
chat_media_url_shape(const char *url)
{
	static const char prefix[] = "/media/";

	return strncmp(url, prefix, sizeof(prefix) - 1) == 0 &&
	    valid_media_name(url + sizeof(prefix) - 1);
}

/*
 * "media_url": the URL of a file uploaded to this service. Returns
 * CHAT_OK (an error may have been added to "detail"), or the storage
 * error that kept the check from being made.
 */
static enum chat_err
chat_msg_check_media(
    struct db *db, json_t *detail, const char *loc0, const char *url)
{
	enum chat_err e = CHAT_ERR_NOTFOUND;

	if (chat_media_url_shape(url))
		e = db_media_exists(db, url + strlen("/media/"));
	if (e == CHAT_ERR_NOTFOUND) {
		chat_detail_add(detail, loc0, "media_url", "value_error",
		    "Value error, media_url must be a /media/ URL returned by "
		    "upload_media",
		    NULL, 0);
		e = CHAT_OK;
	}
	return e;
}

/*
 * The storage half of chat_msg_post(), inside its transaction: membership,
 * one token of the sender's message bucket, the idempotent insert and the
 * message, as JSON text when "text" is set. "*wrote" tells whether anything was
 * written, so that the caller knows whether a failure must roll back.
 */
static enum chat_err
chat_msg_store(struct db *db, const struct conf *cf, int64_t user, int64_t room,
    const char *content, const char *media, const char *client_id,
    int64_t now_ms, int text, struct chat_msg_out *res, int *wrote)
{
	char key[4 + CHAT_ID_LEN] = "msg:", idb[CHAT_ID_LEN];
	const char *id = chat_id_fmt(user, idb);
	enum chat_err e;

	if ((e = db_room_is_member(db, room, user)) != CHAT_OK)
		return e;
	memcpy(key + 4, id, (size_t)(idb + CHAT_ID_LEN - id));
	if ((e = db_rate_take(db, key, (double)cf->msg_burst, cf->msg_rate, 1,
	         now_ms, &res->retry_after)) != CHAT_OK)
		return e;
	*wrote = 1;
	if ((e = db_msg_insert(db, room, user, content, media, client_id,
	         now_ms, &res->id, &res->created)) != CHAT_OK)
		return e;
	fault_hit("msg_before_commit");
	if (text)
		return db_msg_text(db, res->id, &res->text, &res->textlen);
	return db_msg_json(db, res->id, &res->msg);
}

/*
 * Validation comes first and reports every bad field at once, as FastAPI
 * does; only then is the transaction opened. A media_url that is an empty
 * string counts as absent (a form's empty field).
 *
 * The rate token is taken before the insert, so a replayed client_id
 * costs a token too: the replay is answered with the first message all
 * the same, and a client that replays a whole outbox after a reconnect
 * stays far below the burst.
 *
 * Transactions: db_begin() opens one or enters the caller's. A refusal
 * (not a member, rate limited) wrote nothing and just leaves the level;
 * a failure after a write rolls the whole transaction back, the caller's
 * included, as lib/chat/db's own write functions do: a caller batching several
 * posts then sees its db_commit() fail and must answer every post of the
 * batch with an error.
 */
static enum chat_err
chat_msg_post_as(struct db *db, const struct conf *cf, int64_t user,
    int64_t room, const struct chat_msg_in *in, const char *loc0,
    int64_t now_ms, int text, struct chat_msg_out *out)
{
	struct chat_msg_out res = {0};
	const char *content = in->content != NULL ? in->content : "";
	const char *media = in->media_url;
	json_t *detail = json_array();
	enum chat_err e;
	int wrote = 0;

	if (loc0 == NULL)
		loc0 = "body";
	if (media != NULL && *media == '\0')
		media = NULL;
	chat_msg_check_content(detail, loc0, content, media != NULL);
	if (media != NULL &&
	    (e = chat_msg_check_media(db, detail, loc0, media)) != CHAT_OK)
		goto out;
	if (in->client_id != NULL)
		chat_msg_check_client_id(detail, loc0, in->client_id);
	if (json_array_size(detail) > 0) {
		res.detail = detail;
		detail = NULL;
		e = CHAT_ERR_INVALID;
		goto out;
	}

	fault_hit("msg_before_begin");
	if ((e = db_begin(db)) != CHAT_OK)
		goto out;
	e = chat_msg_store(db, cf, user, room, content, media, in->client_id,
	    now_ms, text, &res, &wrote);
	if (e == CHAT_OK)
		e = db_commit(db);
	else if (wrote || e == CHAT_ERR_BUSY || e == CHAT_ERR_FULL ||
	    e == CHAT_ERR_DB) {
		db_rollback(db);
		if (e != CHAT_ERR_BUSY && e != CHAT_ERR_FULL) {
			/* The message vanished under its own transaction. */
			if (e != CHAT_ERR_DB)
				log_warnx("%s: %s after the insert", __func__,
				    chat_strerror(e));
			e = CHAT_ERR_DB;
		}
	} else if (db_commit(db) != CHAT_OK)
		e = CHAT_ERR_DB;
out:
	json_decref(detail);
	if (e != CHAT_OK) {
		json_decref(res.msg);
		free(res.text);
		res.msg = NULL;
		res.text = NULL;
		res.textlen = 0;
		res.id = 0;
		res.created = 0;
	}
	if (e != CHAT_ERR_RATE)
		res.retry_after = 0;
	*out = res;
	return e;
}

enum chat_err
chat_msg_post(struct db *db, const struct conf *cf, int64_t user, int64_t room,
    const struct chat_msg_in *in, const char *loc0, int64_t now_ms,
    struct chat_msg_out *out)
{
	return chat_msg_post_as(db, cf, user, room, in, loc0, now_ms, 0, out);
}

enum chat_err
chat_msg_post_text(struct db *db, const struct conf *cf, int64_t user,
    int64_t room, const struct chat_msg_in *in, const char *loc0,
    int64_t now_ms, struct chat_msg_out *out)
{
	return chat_msg_post_as(db, cf, user, room, in, loc0, now_ms, 1, out);
}

void
chat_msg_out_finish(struct chat_msg_out *out)
{
	json_decref(out->msg);
	json_decref(out->detail);
	free(out->text);
	out->msg = NULL;
	out->detail = NULL;
	out->text = NULL;
	out->textlen = 0;
}
