/* SPDX-License-Identifier: ISC */
/*
 * The SQLite store, the service's source of truth: schema and migrations,
 * and every query, as prepared statements with bound parameters (never
 * client text in SQL). Writes are BEGIN IMMEDIATE (docs/security.md 4);
 * reads return the JSON shapes of docs/api.md.
 */
#ifndef DB_H
#define DB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "chat/chat.h"

#define DB_SCHEMA_VERSION 4

/*
 * The WAL's bounds (docs/architecture.md, "WAL checkpoints"): the daemon
 * checkpoints past DB_WAL_CKPT_PAGES, a worker's commit only past
 * DB_WAL_AUTO_PAGES; the file is cut back to DB_WAL_LIMIT bytes, and a
 * restart waits at most DB_WAL_LOCK_MS for the write lock.
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
 * Open or create the database at "path" (WAL, foreign keys, "busy_ms"),
 * migrated to DB_SCHEMA_VERSION. Returns a new handle, or NULL after logging.
 */
struct db *db_open(const char *path, int busy_ms);
/*
 * Open the existing database at "path" for chat-admin, without migrating:
 * usernames that clash regardless of case must be renamed first. Any
 * schema version may be open, so only db_user_clashes(), db_user_rename()
 * and the transaction functions may use the handle. NULL after logging.
 */
struct db *db_open_admin(const char *path, int busy_ms);
void db_free(struct db *db);

/*
 * Let "db" cache up to DB_CACHE_KIB KiB of pages (PRAGMA cache_size), for
 * the push daemon's long-lived connection, whose writes spread over many
 * rooms' index pages that the default cache would read back again and
 * again. Pages are cached only once read. Returns 0, or -1 after logging.
 */
#define DB_CACHE_KIB 65536
int db_cache_grow(struct db *db);

/*
 * Write transactions: db_begin() is BEGIN IMMEDIATE, nested calls only
 * count; db_commit() commits at the outermost level; db_rollback() rolls
 * everything back; db_in_txn() tells whether one is open.
 */
enum chat_err db_begin(struct db *db);
enum chat_err db_commit(struct db *db);
void db_rollback(struct db *db);
int db_in_txn(const struct db *db);
/*
 * A read transaction around several reads: one snapshot, one lock
 * acquisition; no db_begin() inside. db_read_end() is safe outside one.
 */
enum chat_err db_read_begin(struct db *db);
void db_read_end(struct db *db);

/*
 * WAL checkpoints. db_wal_manual() stops "db" checkpointing in its commits;
 * db_wal_pages() gives the WAL's pages after its last commit.
 * db_checkpoint(), for a connection of its own in a thread that may block,
 * copies what no reader needs and, past DB_WAL_LIMIT, restarts the WAL
 * (waiting for the lock only past "wait_past" bytes). "*wal_pages" gets
 * the WAL's pages at the start, "*how" whether it will restart
 * (DB_CKPT_RESTART), was kept from it (DB_CKPT_HELD) or is small;
 * "*restarting", when not NULL, is 1 while the restart wants the lock, so
 * that a writer that can wait leaves it free.
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
/* "login" is an e-mail or a username, either matched in any case. */
enum chat_err db_user_by_login(
    struct db *db, const char *login, struct db_user *u);
enum chat_err db_user_set_hash(struct db *db, int64_t id, const char *hash);
enum chat_err db_user_set_last_seen(struct db *db, int64_t id, int64_t ms);
/* {"id","username","email","full_name"}; new reference. */
json_t *db_user_json(const struct db_user *u);
/*
 * Call "fn" (unless NULL) with "arg", the id and the username (borrowed)
 * of every account whose username equals another's in any case, by name
 * then id; "*n" gets their number. db_open() refuses such a database.
 */
enum chat_err db_user_clashes(struct db *db,
    void (*fn)(void *arg, int64_t id, const char *username), void *arg,
    size_t *n);
/*
 * Rename user "from" (exact spelling first, else any case if that names
 * one account: CHAT_ERR_NOTFOUND, CHAT_ERR_EXISTS otherwise) to the valid
 * "to"; CHAT_ERR_USERNAME_TAKEN, writing nothing, when "to" is another
 * account's in any case. "*id" gets the account renamed.
 */
enum chat_err db_user_rename(
    struct db *db, const char *from, const char *to, int64_t *id);

/*
 * Rooms. db_room_create() is CHAT_ERR_LIMIT, writing nothing, when the
 * creator or a member is in "rooms_max" rooms, flagged in "full" (NULL or
 * nmembers + 1 entries, creator first); an existing private pair is
 * CHAT_ERR_EXISTS with its "*room".
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
 * The room object of docs/api.md, with its latest "nmsg" messages (oldest
 * first) as "messages" when "nmsg" > 0.
 */
enum chat_err db_room_json(struct db *db, int64_t room, int nmsg, json_t **out);
/* Rooms "user" belongs to, without messages, newest first. */
enum chat_err db_rooms_json(struct db *db, int64_t user, json_t **out);
/*
 * The private chats of "user", most recent first, as the compact JSON text
 * of docs/api.md without the "is_online" values: the caller fills them in
 * from presence at offsets "at[i]" with db_chats_text_join().
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
 * Insert a message; an existing (room, sender, client_id) stores nothing
 * and gives "*created" 0 and the existing "*id" (idempotent retries).
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
 * The same page as compact JSON text, byte for byte what json_dumps()
 * writes, without building the tree (the REST history route).
 */
enum chat_err db_msgs_text(struct db *db, int64_t room, int limit,
    int64_t before, int64_t after, char **out, size_t *outlen);
/*
 * Messages newer than "after" and at most "upto" in any room of "user",
 * oldest first, at most "limit" (catch-up up to the push cursor). "*more"
 * is set when more remain.
 */
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
 * Take "cost" tokens (0: only check) from bucket "key" ("burst", refilled at
 * "rate" a second), shared by every process through SQLite; CHAT_ERR_RATE
 * sets "*retry_after" in seconds. Inside the open transaction or its own.
 */
enum chat_err db_rate_take(struct db *db, const char *key, double burst,
    double rate, double cost, int64_t now_ms, double *retry_after);
/*
 * Delete at most "max" buckets full again at "now_ms" (a missing key starts
 * full), through an index; db_rate_take() runs it every
 * DB_RATE_PRUNE_EVERY writes of a handle.
 */
#define DB_RATE_PRUNE_EVERY 16
#define DB_RATE_PRUNE_MAX   32
enum chat_err db_rate_prune(struct db *db, int64_t now_ms, int max);

/*
 * The DB_LOGIN_ADDRS_MAX latest addresses (valid_addr_key()) each account
 * logged in from, which the per-account failed-login limit spares.
 * db_login_addr_known() is CHAT_OK for one of them; db_login_addr_add()
 * records one and forgets the oldest past the bound.
 */
#define DB_LOGIN_ADDRS_MAX 32
enum chat_err db_login_addr_known(
    struct db *db, int64_t user, const char *addr);
enum chat_err db_login_addr_add(
    struct db *db, int64_t user, const char *addr, int64_t now_ms);

#endif
