/* SPDX-License-Identifier: ISC */
/*
 * The chat application of the push daemon (docs/api.md section 4) on top of
 * lib/sio and bus_srv.c: token check at CONNECT, rooms, chat_message stored
 * through lib/chat/chat.c with group commit, pushes read from SQLite in id
 * order, catch-up, presence and user_status. It never speaks a protocol itself.
 */
#ifndef PUSHD_CHAT_APP_H
#define PUSHD_CHAT_APP_H

#include <uv.h>

#include "sio/eio.h"
#include "sio/sio.h"

struct chat_app;
struct conf;
struct db;
struct token_key;

/*
 * The application on "loop": its Socket.IO server (Engine.IO settings
 * "ec"), its ZeroMQ endpoints (from "cf") and its push cursor, which
 * starts at the newest stored message. "cf", "db" and "key" are borrowed
 * until chat_app_free(). Returns NULL after logging, with nothing of its
 * own left in the loop (it runs the loop to close what it opened, so call
 * it before adding other handles).
 */
struct chat_app *chat_app_new(uv_loop_t *loop, const struct conf *cf,
    struct db *db, const struct token_key *key, const struct eio_conf *ec);
/* The Socket.IO server, to listen on. */
struct sio *chat_app_sio(struct chat_app *a);
/*
 * Store what is queued, disconnect every socket (their last_seen written
 * in one transaction) and close every handle; the loop then ends.
 */
void chat_app_stop(struct chat_app *a);
/* Free "a" once the loop has ended (NULL-safe). */
void chat_app_free(struct chat_app *a);

#endif
