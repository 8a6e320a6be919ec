/* SPDX-License-Identifier: ISC */
/*
 * Socket.IO v5 server over eio.c: namespaces, CONNECT with the auth
 * payload and CONNECT_ERROR, events and acks with binary attachments,
 * DISCONNECT, rooms keyed by int64 and user tags. The application (the chat
 * or a test application) plugs in through struct sio_ops and never sees a
 * packet; broadcast encodes a message once and queues it by reference.
 */
#ifndef SIO_H
#define SIO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "sio/eio.h"

/*
 * ms a client has to send CONNECT after its Engine.IO open. Not shorter:
 * when thousands of clients reconnect at once, a CONNECT may wait seconds
 * in nginx and in the daemon's own queue, and ending those sessions only
 * makes every client retry into the same queue (seen with 2,000 clients
 * on a loaded 2-core machine at 2 s). socket.io's own default is 45 s.
 */
#define SIO_CONNECT_TIMEOUT 10000

struct sio;
struct sio_nsp;
struct sio_socket;
struct sio_msg;

/* A binary attachment (borrowed). */
struct sio_bin {
	const uint8_t *data;
	size_t len;
};

/* The opening HTTP request, as far as the application may need it. */
struct sio_handshake {
	const char *query;         /* raw query string ("" when none) */
	const char *authorization; /* Authorization header, or NULL */
};

/* The application; every member but "event" may be NULL. */
struct sio_ops {
	/*
	 * May socket "s" join its namespace? "auth" is the CONNECT payload
	 * (borrowed; {} when none). Return 0 to accept, or -1 to refuse with
	 * "*refusal" (new reference, e.g. {"message":"unauthorized"}; NULL
	 * gives {"message":"refused"}). Must not emit.
	 */
	int (*connect)(void *app, struct sio_socket *s, json_t *auth,
	    const struct sio_handshake *hs, json_t **refusal);
	/* "s" was accepted and its CONNECT answer queued: it may emit. */
	void (*connected)(void *app, struct sio_socket *s, json_t *auth);
	/*
	 * Event "args" (borrowed array; args[0] is the name string) on "s",
	 * with "ack" >= 0 when the client wants an answer (sio_ack), and the
	 * binary attachments its placeholders refer to (valid during the
	 * call).
	 */
	void (*event)(void *app, struct sio_socket *s, json_t *args,
	    int64_t ack, const struct sio_bin *bins, size_t nbins);
	/*
	 * "s" left ("client namespace disconnect", "transport close", "ping
	 * timeout", "parse error", "server namespace disconnect", "server
	 * shutting down", ...). It leaves its rooms and user list first and
	 * is freed right after the call.
	 */
	void (*disconnect)(void *app, struct sio_socket *s, const char *reason);
	/*
	 * Once per loop turn, after the turn's events and before any output
	 * is written: the place for group commit. May be NULL.
	 */
	void (*turn)(void *app);
};

/*
 * A server on "loop" with Engine.IO settings "conf" and the application
 * "ops"/"app". The main namespace "/" exists from the start.
 */
struct sio *sio_new(uv_loop_t *loop, const struct eio_conf *conf,
    const struct sio_ops *ops, void *app);
/* The Engine.IO server below, to listen on. */
struct eio *sio_eio(struct sio *srv);
/* Disconnect everyone (reason "server shutting down") and close handles. */
void sio_stop(struct sio *srv);
/* Free "srv" once the loop has ended. */
void sio_free(struct sio *srv);

/* Add namespace "name" ("/custom"); returns it (existing or new). */
struct sio_nsp *sio_nsp_add(struct sio *srv, const char *name);
/* Namespace "name", or NULL. */
struct sio_nsp *sio_nsp_find(struct sio *srv, const char *name);

void *sio_socket_data(const struct sio_socket *s);
void sio_socket_set_data(struct sio_socket *s, void *data);

/*
 * Tag "s" with user "uid" (> 0) and add it to that user's socket list;
 * a socket has one user, set once.
 */
void sio_socket_set_user(struct sio_socket *s, int64_t uid);
int64_t sio_socket_user(const struct sio_socket *s); /* 0: none */
/* The sockets of "uid": iterate with sio_user_next(); NULL at the end. */
struct sio_socket *sio_user_first(struct sio *srv, int64_t uid);
struct sio_socket *sio_user_next(const struct sio_socket *s);
size_t sio_user_count(struct sio *srv, int64_t uid);

/*
 * Emit event "args" (borrowed array: name first) to "s", followed by the
 * "nbins" attachments its placeholders refer to (copied).
 */
void sio_emit(struct sio_socket *s, json_t *args, const struct sio_bin *bins,
    size_t nbins);
/* Answer ack "ack" of "s" with "args" (borrowed array) and attachments. */
void sio_ack(struct sio_socket *s, int64_t ack, json_t *args,
    const struct sio_bin *bins, size_t nbins);
/*
 * Disconnect "s" from the server side: DISCONNECT is sent, then the
 * disconnect callback runs before this returns and "s" is freed.
 */
void sio_socket_disconnect(struct sio_socket *s);

/* Put "s" in room "room" of its namespace (no-op when already in). */
void sio_room_join(struct sio_socket *s, int64_t room);
void sio_room_leave(struct sio_socket *s, int64_t room);
/* Sockets in "room" of "nsp". */
size_t sio_room_count(struct sio_nsp *nsp, int64_t room);

/* Event "args" (borrowed) of "nsp" encoded once, for any number of sends. */
struct sio_msg *sio_msg_event(struct sio_nsp *nsp, json_t *args);
void sio_msg_free(struct sio_msg *m);
/* Queue "m" on "s" (a reference, no copy). */
void sio_msg_send(struct sio_socket *s, struct sio_msg *m);
/* Queue "m" on every socket of "room" but "except" (may be NULL). */
void sio_room_send(struct sio_nsp *nsp, int64_t room, struct sio_msg *m,
    const struct sio_socket *except);

#endif
