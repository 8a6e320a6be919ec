/* SPDX-License-Identifier: ISC */
/*
 * Private to chat_app.c, chat_push.c, chat_presence.c and chat_wal.c, the
 * files of the chat application: struct chat_app and what they share.
 * Nothing else includes it; the rest of the daemon knows the application
 * only through chat_app.h.
 */
#ifndef PUSHD_CHAT_INT_H
#define PUSHD_CHAT_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "chat/chat.h"
#include "common/htab.h"
#include "sio/sio.h"

#define CHAT_APP_DETAIL_MAX 512 /* bytes of a joined validation detail */
#define CHAT_APP_DENIED     "Chat room not found or access denied"

struct bus_srv;
struct conf;
struct db;
struct db_user;
struct token_key;

/*
 * A user with at least one accepted socket, shared by those sockets
 * (sio_socket_data): what presence answers need without a query.
 */
struct chat_user {
	struct htab_ent h; /* first; the key is the user id */
	uint32_t nsock;    /* accepted sockets */
	uint32_t pending;  /* chat_message events of theirs still queued */
	int online;        /* user_status is_online:true was sent */
	char *email;       /* points into name[] */
	char name[];       /* username, NUL, email, NUL */
};

/* A chat_message waiting for the turn's commit. */
struct chat_pend {
	struct sio_socket *s; /* NULL once the socket left */
	int64_t uid, room, ack;
	json_t *data; /* reference to the event's object: owns in's strings */
	struct chat_msg_in in;
	struct chat_msg_out out;
	enum chat_err e;
};

/*
 * A last_seen to write. The queue holds this turn's last disconnects and
 * those a busy database kept from earlier turns, at most CHAT_SEEN_MAX of
 * the latter (16 bytes each).
 */
#define CHAT_SEEN_MAX       65536
#define CHAT_SEEN_RETRY_MS  1000  /* first wait after a busy database */
#define CHAT_SEEN_RETRY_MAX 16000 /* doubling up to this */
struct chat_seen {
	int64_t uid, ms;
};

struct chat_app {
	uv_loop_t *loop;
	const struct conf *cf;
	struct db *db;
	const struct token_key *key;
	struct sio *sio;
	struct sio_nsp *nsp;
	struct bus_srv *bus;
	uv_timer_t tick;        /* safety-net push every CHAT_PUSH_TICK_MS */
	uv_timer_t again;       /* the push stopped at its budget: go on */
	struct htab users;      /* online users */
	struct chat_pend *pend; /* this turn's chat_message events */
	size_t npend, cpend;
	struct chat_seen *seen; /* last disconnects not yet written */
	size_t nseen, cseen;
	uint64_t seen_retry;   /* loop ms before which "seen" waits */
	uint64_t seen_backoff; /* ms of the last wait, 0 after a success */
	int64_t last_pushed;   /* every message up to it was pushed */
	int64_t known_room;    /* every room up to it has its sockets joined */
	int want_push;         /* a hint came: read past last_pushed */
	uint64_t hints;        /* hints since the last tick (logged by -v) */
	int stopping;
	struct db *ckpt_db; /* checkpoints only, in ckpt_work's thread */
	uv_work_t ckpt_work;
	int ckpt_running;       /* ckpt_work is queued or running */
	int ckpt_pages;         /* its results: WAL pages when it started, */
	int ckpt_how;           /* DB_CKPT_*, */
	enum chat_err ckpt_err; /* and its error */
	uint64_t ckpt_end;      /* uv_now() when the last one ended */
	uint64_t ckpt_quiet;    /* no pokes but the tick's before this */
	uint64_t ckpt_backoff;  /* ms from a held WAL to ckpt_quiet */
	int ckpt_own; /* db_wal_pages() of ours when the last one started */
	atomic_int ckpt_restarting; /* it wants the write lock: store later */
};

/* chat_app.c: answers to a socket. */
void chat_app_reply(
    struct sio_socket *s, int64_t ack, const char *event, json_t *res);
void chat_app_fail(struct sio_socket *s, int64_t ack, const char *detail);
void chat_app_detail_add(
    char *buf, size_t sz, const char *field, const char *msg);

/* chat_push.c: the push cursor, group commit, catch-up, the timers. */
int chat_push_init(struct chat_app *a);
void chat_push_start(struct chat_app *a);
void chat_push_stop(struct chat_app *a);
void chat_push_run(struct chat_app *a);
void chat_push_turn(void *app);
void chat_push_flush(struct chat_app *a);
void chat_push_hint(void *arg, const char *data, size_t len);
void chat_push_queue(struct chat_app *a, struct sio_socket *s, int64_t room,
    json_t *data, const struct chat_msg_in *in, int64_t ack);
void chat_push_drop(struct chat_app *a, struct sio_socket *s);
void chat_push_catchup(struct chat_app *a, struct sio_socket *s, int64_t after);

/* chat_wal.c: WAL checkpoints in the thread pool. */
int chat_wal_init(struct chat_app *a);
/* Why chat_wal_poke() is called. */
enum chat_wal_why {
	CHAT_WAL_TICK, /* the 1 s tick: always */
	CHAT_WAL_HINT, /* a push run (a hint, our commit): see chat_wal.c */
	CHAT_WAL_OWN   /* our commits: see chat_wal.c */
};
void chat_wal_poke(struct chat_app *a, enum chat_wal_why why);
void chat_wal_finish(struct chat_app *a);

/* chat_presence.c: online users, user_status, last_seen. */
int chat_presence_user_full(const struct chat_app *a, int64_t id, uint64_t max);
struct chat_user *chat_presence_user_ref(
    struct chat_app *a, const struct db_user *du);
void chat_presence_user_unref(struct chat_app *a, struct chat_user *u);
void chat_presence_announce(struct chat_app *a, struct chat_user *u);
void chat_presence_online(
    struct chat_app *a, struct sio_socket *s, json_t *data, int64_t ack);
char *chat_presence_query(void *arg, const char *data, size_t len);
void chat_presence_seen_flush(struct chat_app *a);
void chat_presence_finish(struct chat_app *a);

#endif
