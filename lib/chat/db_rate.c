/* SPDX-License-Identifier: ISC */
/*
 * The shared token buckets of the rate limits, kept in SQLite so that every
 * worker and the push daemon draw from the same ones, and the addresses
 * each account logged in from, which its failed-login limit spares. It
 * runs only the
 * statements of db_sql[] in db.c, inside the caller's transaction or one of
 * its own, and never builds SQL.
 */
#include <assert.h>
#include <stdint.h>

#include <sqlite3.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "chat/db_int.h"

/*
 * Token bucket: the stored level is refilled by "rate" per second since it
 * was written, capped at "burst"; a new key starts full. Taking "cost"
 * tokens writes the new level; a refusal or a check ("cost" 0, which needs
 * one token) writes nothing. A check only reads, so it opens no write
 * transaction of its own (the login route's check must not queue behind
 * the writers for the lock). The stored time never moves backwards, so a
 * process with a slower clock cannot mint tokens. A write also stores when
 * the bucket will be full again, for db_rate_prune(), which runs in every
 * DB_RATE_PRUNE_EVERY-th write's transaction.
 */
enum chat_err
db_rate_take(struct db *db, const char *key, double burst, double rate,
    double cost, int64_t now_ms, double *retry_after)
{
	sqlite3_stmt *st = db->st[STMT_RATE_GET];
	double tokens = burst, need = cost > 1 ? cost : 1;
	int64_t then = now_ms, full;
	enum chat_err e;
	int rc, txn = cost > 0;

	assert(rate > 0 && cost >= 0);
	if (txn && (e = db_begin(db)) != CHAT_OK)
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

	e = CHAT_OK;
	if (tokens < (cost > 0 ? cost : 1)) {
		*retry_after = (need - tokens) / rate;
		e = CHAT_ERR_RATE;
		goto out;
	}
	if (cost > 0) {
		then = now_ms > then ? now_ms : then;
		full =
		    then + (int64_t)((burst - tokens + cost) / rate * 1000) + 1;
		st = db->st[STMT_RATE_PUT];
		if ((rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC)) ||
		    (rc = sqlite3_bind_double(st, 2, tokens - cost)) ||
		    (rc = sqlite3_bind_int64(st, 3, then)) ||
		    (rc = sqlite3_bind_int64(st, 4, full)) ||
		    (rc = sqlite3_step(st)) != SQLITE_DONE)
			goto fail;
		db_done(st);
		if (++db->rate_puts % DB_RATE_PRUNE_EVERY == 0)
			e = db_rate_prune(db, now_ms, DB_RATE_PRUNE_MAX);
	}
	goto out;
fail:
	e = db_error(db, rc, __func__);
	db_done(st);
out:
	return txn ? db_end(db, e) : e;
}

/*
 * Delete up to "max" rows whose full_ms has passed: the bucket has
 * refilled to its burst, which is what a missing row means too. The
 * index on full_ms finds them oldest first without a scan.
 */
enum chat_err
db_rate_prune(struct db *db, int64_t now_ms, int max)
{
	sqlite3_stmt *st = db->st[STMT_RATE_PRUNE];

	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int(st, 2, max);
	return db_write(db, st, 0, CHAT_OK, __func__);
}

enum chat_err
db_login_addr_known(struct db *db, int64_t user, const char *addr)
{
	sqlite3_stmt *st = db->st[STMT_LOGIN_ADDR_IS];
	enum chat_err e = CHAT_OK;
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, user)) ||
	    (rc = sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW)
		e = rc == SQLITE_DONE ? CHAT_ERR_NOTFOUND
		                      : db_error(db, rc, __func__);
	db_done(st);
	return e;
}

/*
 * The upsert and the trim share one transaction, so the bound holds
 * whatever the concurrent logins of the account.
 */
enum chat_err
db_login_addr_add(struct db *db, int64_t user, const char *addr, int64_t now_ms)
{
	sqlite3_stmt *st = db->st[STMT_LOGIN_ADDR_PUT];
	enum chat_err e;
	int rc;

	if ((e = db_begin(db)) != CHAT_OK)
		return e;
	if ((rc = sqlite3_bind_int64(st, 1, user)) ||
	    (rc = sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_int64(st, 3, now_ms)) ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE)
		goto fail;
	db_done(st);
	st = db->st[STMT_LOGIN_ADDR_TRIM];
	if ((rc = sqlite3_bind_int64(st, 1, user)) ||
	    (rc = sqlite3_bind_int(st, 2, DB_LOGIN_ADDRS_MAX)) ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE)
		goto fail;
	db_done(st);
	return db_end(db, CHAT_OK);
fail:
	e = db_error(db, rc, __func__);
	db_done(st);
	return db_end(db, e);
}
