/* SPDX-License-Identifier: ISC */
/*
 * The media table: one row per stored upload, written by lib/chat/upload and
 * looked up when a message names a file under /media/. It records names
 * only, never file contents, and never builds SQL: its statements come from
 * db_sql[] in db.c.
 */
#include <stdint.h>

#include <sqlite3.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "chat/db_int.h"

/* Record a stored upload; a name already used is CHAT_ERR_EXISTS. */
enum chat_err
db_media_insert(struct db *db, const char *name, int64_t uploader, int64_t size,
    const char *content_type, const char *original_name, int64_t now_ms)
{
	sqlite3_stmt *st = db->st[STMT_MEDIA_INSERT];
	int rc;

	if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_int64(st, 2, uploader)) ||
	    (rc = sqlite3_bind_int64(st, 3, size)) ||
	    (rc = sqlite3_bind_text(st, 4, content_type, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_text(st, 5, original_name, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_int64(st, 6, now_ms))) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_write(db, st, 0, CHAT_ERR_EXISTS, __func__);
}

enum chat_err
db_media_exists(struct db *db, const char *name)
{
	sqlite3_stmt *st = db->st[STMT_MEDIA_EXISTS];
	enum chat_err e = CHAT_OK;
	int rc;

	if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW)
		e = rc == SQLITE_DONE ? CHAT_ERR_NOTFOUND
		                      : db_error(db, rc, __func__);
	db_done(st);
	return e;
}
