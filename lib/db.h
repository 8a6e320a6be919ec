/* SPDX-License-Identifier: ISC */
/*
 * The SQLite store, the source of truth of the service: schema creation and
 * migration by PRAGMA user_version, and every query the workers and the
 * daemon run, as prepared statements with bound parameters (never client
 * text in SQL). Write transactions are BEGIN IMMEDIATE. Read functions
 * return new jansson values in the exact shapes of docs/api.md.
 */
#ifndef DB_H
#define DB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "chat.h"

#define DB_SCHEMA_VERSION 4

/*
 * The WAL's bounds. The push daemon checkpoints once its commits leave
 * DB_WAL_CKPT_PAGES pages in the WAL, while the workers' hints say they
 * write fast, and every second (push-daemon/chat_wal.c); a connection
 * checkpoints itself in its commit only past DB_WAL_AUTO_PAGES, when the
 * daemon does not (then again every DB_WAL_CKPT_PAGES pages while the WAL
 * stays above). A WAL file restarted from its start, or fully copied, is
 * cut back to DB_WAL_LIMIT bytes (PRAGMA journal_size_limit). A checkpoint
 * that must take the write lock to restart the WAL waits for it at most
 * DB_WAL_LOCK_MS.
 */
#define DB_WAL_CKPT_PAGES 1000
#define DB_WAL_AUTO_PAGES 4000
#define DB_WAL_LOCK_MS    20
#define DB_WAL_LIMIT      8388608

struct db;

struct db_user {
	int64_t id;
	char *username;
	char *email;
	char *full_name; /* NULL when not given */
	char *pass_hash;
	int64_t
	    tokens_valid_after; /* seconds; tokens with iat below are void */
	int64_t last_seen;      /* ms, 0 when never seen */
};

/*
 * Open (creating if needed) the database at "path": WAL, foreign keys on,
 * busy timeout "busy_ms", schema created or migrated to DB_SCHEMA_VERSION.
 * Returns a new handle, or NULL after logging.
 */
struct db *db_open(const char *path, int busy_ms);
/*
 * Open the existing database at "path" for the administration program
 * (chat-admin) without migrating it: a database whose usernames clash
 * regardless of case cannot be migrated until they are renamed. The
 * schema may be any version from 1 to DB_SCHEMA_VERSION, so only
 * db_user_clashes(), db_user_rename() and the transaction functions may
 * use the handle. Returns a new handle, or NULL after logging.
 */
struct db *db_open_admin(const char *path, int busy_ms);
void db_free(struct db *db);

/*
 * Let "db" keep up to DB_CACHE_KIB KiB of pages in its own cache (PRAGMA
 * cache_size; SQLite's default is 2000 KiB): for the push daemon's
 * long-lived connection. Each stored message writes a leaf of both message
 * indexes in its own room, its room's row and its sender's rate-limit row;
 * with messages spread over a thousand rooms that is some 2,000 pages
 * (8 MiB) written again and again, which the default cache read back from
 * the files at every turn (about 3 preads per stored message in bench
 * scenario B). Pages are cached only as they are read, so an idle daemon
 * pays nothing for the bound. Returns 0, or -1 after logging.
 */
#define DB_CACHE_KIB 65536
int db_cache_grow(struct db *db);

/*
 * Transactions. db_begin() runs BEGIN IMMEDIATE, or only counts a nesting
 * level when one is open; db_commit() commits at the outermost level;
 * db_rollback() rolls the whole transaction back. db_in_txn() tells whether
 * one is open.
 */
enum chat_err db_begin(struct db *db);
enum chat_err db_commit(struct db *db);
void db_rollback(struct db *db);
int db_in_txn(const struct db *db);
/*
 * A read-only transaction around several reads (one snapshot, one lock
 * acquisition); no db_begin() inside it. db_read_end() ends it and does
 * nothing outside one.
 */
enum chat_err db_read_begin(struct db *db);
void db_read_end(struct db *db);

/*
 * WAL checkpoints. db_wal_manual() stops "db" from checkpointing in its
 * commits; db_wal_pages() then gives the WAL's size in pages after its
 * last commit. db_checkpoint() copies into the database what no reader
 * still needs, without waiting for anyone, and copies the rest of a WAL
 * larger than DB_WAL_LIMIT, so that the next commit restarts it from its
 * start, once it has the write lock and no reader uses the WAL: waiting
 * DB_WAL_LOCK_MS at most when the WAL is past "wait_past" bytes, else not
 * at all; it is meant for a connection that does nothing
 * else, in a thread that may block on its fsyncs. "*wal_pages" gets the
 * WAL's size in pages when it started, "*how" DB_CKPT_RESTART when the WAL
 * will restart, DB_CKPT_HELD when the WAL is past DB_WAL_LIMIT but a reader
 * or writer kept it from restarting, else DB_CKPT_SMALL. "*restarting",
 * when not NULL, is 1 while the restart waits for and holds the write
 * lock, so that a writer that can wait (the daemon's loop) leaves the lock
 * free meanwhile.
 */
enum { DB_CKPT_SMALL, DB_CKPT_RESTART, DB_CKPT_HELD };
void db_wal_manual(struct db *db);
int db_wal_pages(const struct db *db);
enum chat_err db_checkpoint(struct db *db, int64_t wait_past, int *wal_pages,
    int *how, atomic_int *restarting);

/* Users. Strings in "u" are heap copies owned by the caller. */
void db_user_finish(struct db_user *u);
enum chat_err db_user_insert(struct db *db, const char *username,
    const char *email, const char *full_name, const char *pass_hash,
    int64_t now_ms, int64_t *id);
enum chat_err db_user_by_id(struct db *db, int64_t id, struct db_user *u);
/*
 * "login" is an e-mail or a username, each matched regardless of case
 * (usernames are unique regardless of case and keep their spelling).
 */
enum chat_err db_user_by_login(
    struct db *db, const char *login, struct db_user *u);
enum chat_err db_user_set_hash(struct db *db, int64_t id, const char *hash);
enum chat_err db_user_set_last_seen(struct db *db, int64_t id, int64_t ms);
/* {"id","username","email","full_name"}; new reference. */
json_t *db_user_json(const struct db_user *u);
/*
 * Call "fn" (unless NULL) with "arg", the id and the username (borrowed
 * for the call) of every account whose username is another's regardless
 * of case, by name then id, and store their number in "*n". Only a database
 * older than the rule can hold any (db_open() refuses to migrate it).
 */
enum chat_err db_user_clashes(struct db *db,
    void (*fn)(void *arg, int64_t id, const char *username), void *arg,
    size_t *n);
/*
 * Rename the user called "from" to "to" (valid, checked by the caller) in
 * one transaction. "from" is matched in its exact spelling first, else in
 * any case when that finds one account only; CHAT_ERR_NOTFOUND when it
 * finds none, CHAT_ERR_EXISTS when several (give the exact spelling).
 * CHAT_ERR_USERNAME_TAKEN when "to" is another account's name regardless
 * of case, writing nothing. On CHAT_OK "*id" is the account renamed; a
 * "to" equal to its name, byte for byte, changes nothing.
 */
enum chat_err db_user_rename(
    struct db *db, const char *from, const char *to, int64_t *id);

/*
 * Rooms and members. db_room_create() answers CHAT_ERR_LIMIT, writing
 * nothing, when the creator or a member is already in "rooms_max" rooms;
 * "full" (NULL, or nmembers + 1 entries) then flags them, the creator
 * first. An existing private pair is CHAT_ERR_EXISTS with its "*room".
 */
enum chat_err db_room_create(struct db *db, const char *name, int is_private,
    int64_t creator, const int64_t *members, size_t nmembers, int64_t rooms_max,
    int64_t now_ms, int64_t *room, unsigned char *full);
/* The private chat of users "a" and "b" (either order), if any. */
enum chat_err db_room_private_find(
    struct db *db, int64_t a, int64_t b, int64_t *room);
/* CHAT_OK when "user" is a member of "room", else CHAT_ERR_NOTFOUND. */
enum chat_err db_room_is_member(struct db *db, int64_t room, int64_t user);
/*
 * The room object of docs/api.md; with "nmsg" > 0 it carries its latest "nmsg"
 * messages (oldest first) as "messages", with 0 it has no "messages" key.
 */
enum chat_err db_room_json(struct db *db, int64_t room, int nmsg, json_t **out);
/* Rooms "user" belongs to, without messages, newest first. */
enum chat_err db_rooms_json(struct db *db, int64_t user, json_t **out);
/*
 * The private chats of "user", most recent activity first, as JSON text
 * for the REST route: "s" holds the bytes json_dumps() writes with
 * JSON_COMPACT for the array of docs/api.md ("other_user", "other_user_email",
 * "last_seen", "last_message" filled), but with each chat's "is_online"
 * value left out: it goes at offset "at[i]" of "s", and the caller puts
 * it in from presence with db_chats_text_join().
 */
struct db_chats_text {
	char *s;
	size_t len;
	size_t *at;      /* where chat i's "is_online" value goes */
	int64_t *others; /* the other user of chat i */
	size_t n;        /* chats */
};
enum chat_err db_private_chats_text(
    struct db *db, int64_t user, struct db_chats_text *out);
/* The array with chat i's "is_online" from "online[i]", as a new string. */
char *db_chats_text_join(
    const struct db_chats_text *t, const int *online, size_t *len);
/* Release what db_private_chats_text() put in "t" (safe twice). */
void db_chats_text_finish(struct db_chats_text *t);
/* Member ids of "room"; "*ids" is a new array the caller frees. */
enum chat_err db_room_members(
    struct db *db, int64_t room, int64_t **ids, size_t *n);
/* Ids of the rooms of "user"; "*ids" is a new array the caller frees. */
enum chat_err db_user_rooms(
    struct db *db, int64_t user, int64_t **ids, size_t *n);
/* Users sharing at least one room with "user" (excluding "user"). */
enum chat_err db_user_peers(
    struct db *db, int64_t user, int64_t **ids, size_t *n);

/* Messages. */
/*
 * Insert a message; when (room, sender, client_id) exists already, store
 * nothing, set "*created" to 0 and "*id" to the existing message.
 */
enum chat_err db_msg_insert(struct db *db, int64_t room, int64_t sender,
    const char *content, const char *media_url, const char *client_id,
    int64_t now_ms, int64_t *id, int *created);
/* The message object of docs/api.md; new reference. */
enum chat_err db_msg_json(struct db *db, int64_t id, json_t **out);
/* The same message as JSON text: a new string of "*len" bytes. */
enum chat_err db_msg_text(struct db *db, int64_t id, char **out, size_t *len);
/*
 * Messages of "room", oldest first: with before > 0 the "limit" just older
 * than it, with after > 0 the "limit" just newer, else the newest "limit".
 */
enum chat_err db_msgs_json(struct db *db, int64_t room, int limit,
    int64_t before, int64_t after, json_t **out);
/*
 * The same page as JSON text ("*out" a new string of "*outlen" bytes), the
 * bytes json_dumps() writes for db_msgs_json()'s array with JSON_COMPACT,
 * without building the tree (the REST history route).
 */
enum chat_err db_msgs_text(struct db *db, int64_t room, int limit,
    int64_t before, int64_t after, char **out, size_t *outlen);
/*
 * Messages newer than "after" in any room of "user", oldest first, at most
 * "limit" (catch-up). "*more" is set when more remain.
 */
enum chat_err db_msgs_for_user_after(struct db *db, int64_t user, int64_t after,
    int limit, json_t **out, int *more);
/* The same, limited to ids <= "upto" (catch-up up to the push cursor). */
enum chat_err db_msgs_for_user_between(struct db *db, int64_t user,
    int64_t after, int64_t upto, int limit, json_t **out, int *more);
/*
 * Messages of every room newer than "after", oldest first, at most "limit"
 * (the push daemon's cursor read). "*more" is set when more remain.
 */
enum chat_err db_msgs_after(
    struct db *db, int64_t after, int limit, json_t **out, int *more);
/* The highest message id, 0 when none. */
enum chat_err db_msg_last_id(struct db *db, int64_t *id);
/* The highest room id, 0 when none (rooms created later have larger ids). */
enum chat_err db_room_last_id(struct db *db, int64_t *id);

/* Media. */
enum chat_err db_media_insert(struct db *db, const char *name, int64_t uploader,
    int64_t size, const char *content_type, const char *original_name,
    int64_t now_ms);
/* CHAT_OK when a stored file has this name ("<hex>.<ext>"). */
enum chat_err db_media_exists(struct db *db, const char *name);

/*
 * Token bucket "key" (burst "burst", refilled at "rate" per second), kept
 * in SQLite so that every worker and the daemon share it. Takes "cost"
 * tokens (0 only checks). CHAT_ERR_RATE sets "*retry_after" to the seconds
 * until "cost" (or 1) tokens are back. Runs inside the open transaction, or
 * in one of its own.
 */
enum chat_err db_rate_take(struct db *db, const char *key, double burst,
    double rate, double cost, int64_t now_ms, double *retry_after);
/*
 * Delete at most "max" buckets that are full again at "now_ms" (a missing
 * key starts full, so they say nothing), oldest first, through an index.
 * db_rate_take() runs it every DB_RATE_PRUNE_EVERY writes of a handle.
 */
#define DB_RATE_PRUNE_EVERY 16
#define DB_RATE_PRUNE_MAX   32
enum chat_err db_rate_prune(struct db *db, int64_t now_ms, int max);

/*
 * Login addresses: the client addresses (valid_addr_key()) from which
 * account "user" logged in, the DB_LOGIN_ADDRS_MAX most recent of each
 * account. db_login_addr_known() is CHAT_OK for one of them, else
 * CHAT_ERR_NOTFOUND (a read, no transaction of its own).
 * db_login_addr_add() records a login at "now_ms" and forgets the oldest
 * address past the bound, inside the open transaction or one of its own.
 */
#define DB_LOGIN_ADDRS_MAX 32
enum chat_err db_login_addr_known(
    struct db *db, int64_t user, const char *addr);
enum chat_err db_login_addr_add(
    struct db *db, int64_t user, const char *addr, int64_t now_ms);

#endif
