/* SPDX-License-Identifier: ISC */
/*
 * The shared token buckets of the rate limits, kept in SQLite so that every
 * worker and the push daemon draw from the same ones. It runs only the
 * statements of db_sql[] in db.c, inside the caller's transaction or one of
 * its own, and never builds SQL.
 */
#include <assert.h>
#include <stdint.h>

#include <sqlite3.h>

#include "chat.h"
#include "db.h"
#include "db_int.h"

/*
 * Token bucket: the stored level is refilled by "rate" per second since it
 * was written, capped at "burst"; a new key starts full. Taking "cost"
 * tokens writes the new level; a refusal or a check ("cost" 0, which needs
 * one token) writes nothing. The stored time never moves backwards, so a
 * process with a slower clock cannot mint tokens.
 */
enum chat_err
db_rate_take(struct db *db, const char *key, double burst, double rate,
    double cost, int64_t now_ms, double *retry_after)
{
	sqlite3_stmt *st = db->st[STMT_RATE_GET];
	double tokens = burst, need = cost > 1 ? cost : 1;
	int64_t then = now_ms;
	enum chat_err e;
	int rc;

	assert(rate > 0 && cost >= 0);
	if ((e = db_begin(db)) != CHAT_OK)
		return e;
	if ((rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC)) ||
	    ((rc = sqlite3_step(st)) != SQLITE_ROW && rc != SQLITE_DONE))
		goto fail;
	if (rc == SQLITE_ROW) {
		tokens = sqlite3_column_double(st, 0);
		then = sqlite3_column_int64(st, 1);
		if (now_ms > then)
			tokens += rate * (double)(now_ms - then) / 1000.0;
		if (tokens > burst)
			tokens = burst;
	}
	db_done(st);

	if (tokens < (cost > 0 ? cost : 1)) {
		*retry_after = (need - tokens) / rate;
		return db_end(db, CHAT_ERR_RATE);
	}
	if (cost > 0) {
		st = db->st[STMT_RATE_PUT];
		if ((rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC)) ||
		    (rc = sqlite3_bind_double(st, 2, tokens - cost)) ||
		    (rc = sqlite3_bind_int64(
		         st, 3, now_ms > then ? now_ms : then)) ||
		    (rc = sqlite3_step(st)) != SQLITE_DONE)
			goto fail;
		db_done(st);
	}
	return db_end(db, CHAT_OK);
fail:
	e = db_error(db, rc, __func__);
	db_done(st);
	return db_end(db, e);
}
