/* SPDX-License-Identifier: ISC */
/*
 * Engine.IO v4 server: sessions identified by a sid, HTTP long-polling and
 * WebSocket transports, the upgrade between them, heartbeats, payload
 * limits, CORS and the engine.io error answers. The layer above (sio.c or
 * a test application) sees sessions and whole messages only.
 */
#ifndef EIO_H
#define EIO_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "sio/http.h"

#define EIO_SID_LEN 20 /* base64url of 15 random bytes */

struct eio;
struct eio_sess;
struct form;

struct eio_conf {
	const char *path;         /* endpoint, e.g. "/socket.io/" */
	uint64_t ping_interval;   /* ms */
	uint64_t ping_timeout;    /* ms */
	const char *cors_origins; /* space-separated extra origins, or NULL */
	int cors_any;             /* allow every origin (test modes) */
	struct http_limits lim;   /* max_payload is also Engine.IO's */
};

/* What the opening request showed (borrowed, valid during the call). */
struct eio_handshake {
	const char *query;         /* raw query string, without "?" */
	const char *authorization; /* Authorization header, or NULL */
};

/* Callbacks of the layer above; all but "message" may be NULL. */
struct eio_cbs {
	/* Session "s" opened (its handshake packet is already queued). */
	void (*open)(
	    void *arg, struct eio_sess *s, const struct eio_handshake *hs);
	/*
	 * A message: text without its type digit, or binary. "data" is
	 * writable and valid during the call only.
	 */
	void (*message)(void *arg, struct eio_sess *s, int binary,
	    uint8_t *data, size_t len);
	/*
	 * Session "s" closed for "reason" (engine.io's words: "transport
	 * close", "ping timeout", "parse error", "forced close", ...). Called
	 * at the end of the loop turn, never from inside another callback;
	 * "s" is freed right after.
	 */
	void (*close)(void *arg, struct eio_sess *s, const char *reason);
	/* Once per loop turn, after closes, before output is written. */
	void (*turn)(void *arg);
};

/*
 * A server on "loop" answering at conf->path; never NULL: it aborts when
 * the loop's handles cannot be set up (a bug or no memory).
 */
struct eio *eio_new(uv_loop_t *loop, const struct eio_conf *conf,
    const struct eio_cbs *cbs, void *arg);

/* Listen on TCP "host":"port" or on the Unix socket "path": 0 or -1. */
int eio_listen_tcp(struct eio *e, const char *host, int port);
int eio_listen_unix(struct eio *e, const char *path);

/*
 * Close every session (their close callbacks run now, reason "server
 * shutting down") and every handle; run the loop afterwards until it
 * ends, then eio_free().
 */
void eio_stop(struct eio *e);
void eio_free(struct eio *e);

/*
 * A message packet (one reference) to send to one or many sessions: the
 * WebSocket frame of "4" + the "len" text bytes, or of the binary bytes.
 */
struct http_buf *eio_msg_new(int binary, const void *data, size_t len);

/*
 * The same for text "prefix" + "data" (the Engine.IO type digit is added):
 * saves a copy when a packet comes in two parts.
 */
struct http_buf *eio_msg_new2(
    const void *prefix, size_t plen, const void *data, size_t len);

/* Queue message "m" (built by eio_msg_new) on "s"; takes a reference. */
void eio_sess_send(struct eio_sess *s, struct http_buf *m);

/* Close "s" from the server side ("forced close"). */
void eio_sess_close(struct eio_sess *s);

const char *eio_sess_sid(const struct eio_sess *s);
void *eio_sess_data(const struct eio_sess *s);
void eio_sess_set_data(struct eio_sess *s, void *data);

#endif
