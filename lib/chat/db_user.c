/* SPDX-License-Identifier: ISC */
/*
 * The users table: sign-up, lookup by id or login, password hash and last
 * seen updates, the public user object, and the administration program's
 * listing of names that clash regardless of case and renaming. It runs only the
 * statements of db_sql[] in db.c, and writes through db_begin()/db_end(); it
 * never builds SQL, and never puts the password hash in JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "chat/db_int.h"
#include "common/log.h"
#include "common/xmalloc.h"

/*
 * A heap copy of text column "i" of "st", NULL for SQL NULL. A column that
 * is not NULL reads as NULL only when SQLite ran out of memory converting
 * it. (The copy is returned from inside the test so that cppcheck, which
 * cannot see that fatalx() does not return, finds no NULL path to it.)
 */
static char *
db_col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *s;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	if ((s = sqlite3_column_text(st, i)) != NULL)
		return xstrdup((const char *)s);
	fatalx("%s: out of memory", __func__);
}

void
db_user_finish(struct db_user *u)
{
	free(u->username);
	free(u->email);
	free(u->full_name);
	free(u->pass_hash);
	memset(u, 0, sizeof(*u));
}

/*
 * Insert a user; "email" is stored as given (the caller lower-cases it) and
 * compared case-insensitively. A taken e-mail or username is told apart by
 * the constraint SQLite names.
 */
enum chat_err
db_user_insert(struct db *db, const char *username, const char *email,
    const char *full_name, const char *pass_hash, int64_t now_ms, int64_t *id)
{
	sqlite3_stmt *st = db->st[STMT_USER_INSERT];
	const char *msg;
	enum chat_err e;
	int rc;

	if ((e = db_begin(db)) != CHAT_OK)
		return e;
	if ((rc = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_text(st, 2, email, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_text(st, 3, full_name, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_text(st, 4, pass_hash, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_int64(st, 5, now_ms)) ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE) {
		if (rc != SQLITE_CONSTRAINT_UNIQUE) {
			e = db_error(db, rc, __func__);
			goto out;
		}
		/* "UNIQUE constraint failed: users.email" */
		msg = sqlite3_errmsg(db->h);
		log_debug("%s: %s", __func__, msg);
		if (strstr(msg, "users.email") != NULL)
			e = CHAT_ERR_EMAIL_TAKEN;
		else if (strstr(msg, "users.username") != NULL)
			e = CHAT_ERR_USERNAME_TAKEN;
		else
			e = CHAT_ERR_EXISTS;
		goto out;
	}
	*id = sqlite3_last_insert_rowid(db->h);
out:
	db_done(st);
	return db_end(db, e);
}

/* Run the bound user query "st" and fill "*u" from its row. */
static enum chat_err
db_user_get(
    struct db *db, sqlite3_stmt *st, struct db_user *u, const char *func)
{
	enum chat_err e = CHAT_OK;
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		u->id = sqlite3_column_int64(st, 0);
		u->username = db_col_str(st, 1);
		u->email = db_col_str(st, 2);
		u->full_name = db_col_str(st, 3);
		u->pass_hash = db_col_str(st, 4);
		u->tokens_valid_after = sqlite3_column_int64(st, 5);
		u->last_seen = sqlite3_column_int64(st, 6);
	} else if (rc == SQLITE_DONE)
		e = CHAT_ERR_NOTFOUND;
	else
		e = db_error(db, rc, func);
	db_done(st);
	return e;
}

enum chat_err
db_user_by_id(struct db *db, int64_t id, struct db_user *u)
{
	sqlite3_stmt *st = db->st[STMT_USER_BY_ID];
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, id)) != SQLITE_OK) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_user_get(db, st, u, __func__);
}

/*
 * Usernames cannot hold '@' and e-mails must, so "login" is looked up as an
 * e-mail when it has one and as a username otherwise, both NOCASE columns.
 */
enum chat_err
db_user_by_login(struct db *db, const char *login, struct db_user *u)
{
	sqlite3_stmt *st;
	int rc;

	st = db->st[strchr(login, '@') != NULL ? STMT_USER_BY_EMAIL
	                                       : STMT_USER_BY_USERNAME];
	if ((rc = sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC)) !=
	    SQLITE_OK) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_user_get(db, st, u, __func__);
}

enum chat_err
db_user_set_hash(struct db *db, int64_t id, const char *hash)
{
	sqlite3_stmt *st = db->st[STMT_USER_SET_HASH];
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, id)) ||
	    (rc = sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC))) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_write(db, st, 1, CHAT_OK, __func__);
}

enum chat_err
db_user_set_last_seen(struct db *db, int64_t id, int64_t ms)
{
	sqlite3_stmt *st = db->st[STMT_USER_SET_LAST_SEEN];
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, id)) ||
	    (rc = sqlite3_bind_int64(st, 2, ms))) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	return db_write(db, st, 1, CHAT_OK, __func__);
}

/*
 * Step the bound query "st" (columns id, username), calling "fn" for each
 * row, and reset it. Returns CHAT_OK, or the storage error logged for
 * "func".
 */
enum chat_err
db_user_clash_each(struct db *db, sqlite3_stmt *st,
    void (*fn)(void *arg, int64_t id, const char *username), void *arg,
    const char *func)
{
	const unsigned char *name;
	enum chat_err e = CHAT_OK;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((name = sqlite3_column_text(st, 1)) == NULL)
			fatalx("%s: out of memory", __func__);
		fn(arg, sqlite3_column_int64(st, 0), (const char *)name);
	}
	if (rc != SQLITE_DONE)
		e = db_error(db, rc, func);
	db_done(st);
	return e;
}

/* db_user_clashes(): count, then pass the row on. */
struct db_user_clash_ctx {
	void (*fn)(void *arg, int64_t id, const char *username);
	void *arg;
	size_t n;
};

static void
db_user_clash_count(void *arg, int64_t id, const char *username)
{
	struct db_user_clash_ctx *c = arg;

	c->n++;
	if (c->fn != NULL)
		c->fn(c->arg, id, username);
}

enum chat_err
db_user_clashes(struct db *db,
    void (*fn)(void *arg, int64_t id, const char *username), void *arg,
    size_t *n)
{
	struct db_user_clash_ctx c = {fn, arg, 0};
	enum chat_err e;

	e = db_user_clash_each(
	    db, db->st[STMT_USER_CLASHES], db_user_clash_count, &c, __func__);
	*n = c.n;
	return e;
}

/*
 * The id of the account db_user_rename() means by "from": the first row of
 * STMT_USER_NAMED (the exact spelling sorts first) when it is exact or the
 * only one. CHAT_ERR_NOTFOUND, CHAT_ERR_EXISTS (several in other cases
 * only) or a storage error otherwise.
 */
static enum chat_err
db_user_named(struct db *db, const char *from, int64_t *id)
{
	sqlite3_stmt *st = db->st[STMT_USER_NAMED];
	const unsigned char *name;
	enum chat_err e = CHAT_OK;
	int rc, exact;

	if ((rc = sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC)) !=
	    SQLITE_OK) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		name = sqlite3_column_text(st, 1);
		exact = name != NULL && strcmp((const char *)name, from) == 0;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && !exact)
			e = CHAT_ERR_EXISTS;
		else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			e = db_error(db, rc, __func__);
	} else if (rc == SQLITE_DONE)
		e = CHAT_ERR_NOTFOUND;
	else
		e = db_error(db, rc, __func__);
	db_done(st);
	return e;
}

/*
 * CHAT_ERR_USERNAME_TAKEN when an account other than "id" is called
 * "name" regardless of case, CHAT_OK when none is, or a storage error.
 */
static enum chat_err
db_user_name_other(struct db *db, const char *name, int64_t id)
{
	sqlite3_stmt *st = db->st[STMT_USER_NAME_OTHER];
	enum chat_err e = CHAT_OK;
	int rc;

	if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) ||
	    (rc = sqlite3_bind_int64(st, 2, id))) {
		db_done(st);
		return db_error(db, rc, __func__);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		e = CHAT_ERR_USERNAME_TAKEN;
	else if (rc != SQLITE_DONE)
		e = db_error(db, rc, __func__);
	db_done(st);
	return e;
}

/*
 * As db.h says. The check for another account of the same name runs in
 * the transaction of the write, so that a signup between the two cannot
 * take the name (a schema below DB_VERSION_NOCASE has no index to refuse
 * it).
 */
enum chat_err
db_user_rename(struct db *db, const char *from, const char *to, int64_t *id)
{
	sqlite3_stmt *st = db->st[STMT_USER_RENAME];
	enum chat_err e;
	int64_t uid = 0;
	int rc;

	if ((e = db_begin(db)) != CHAT_OK)
		return e;
	if ((e = db_user_named(db, from, &uid)) != CHAT_OK ||
	    (e = db_user_name_other(db, to, uid)) != CHAT_OK)
		return db_end(db, e);
	if ((rc = sqlite3_bind_int64(st, 1, uid)) ||
	    (rc = sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC))) {
		db_done(st);
		return db_end(db, db_error(db, rc, __func__));
	}
	e = db_write(db, st, 1, CHAT_ERR_USERNAME_TAKEN, __func__);
	if ((e = db_end(db, e)) == CHAT_OK)
		*id = uid;
	return e;
}

/* The public user object; NULL after logging on bad UTF-8. */
json_t *
db_user_json(const struct db_user *u)
{
	json_t *o = json_object();
	int bad = 0;

	bad |= json_object_set_new(o, "id", chat_id_json(u->id));
	bad |= json_object_set_new(o, "username", json_string(u->username));
	bad |= json_object_set_new(o, "email", json_string(u->email));
	bad |= json_object_set_new(o, "full_name",
	    u->full_name != NULL ? json_string(u->full_name) : json_null());
	if (bad) {
		log_warnx("%s: user %lld has a field that is not UTF-8",
		    __func__, (long long)u->id);
		json_decref(o);
		return NULL;
	}
	return o;
}
