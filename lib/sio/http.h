/* SPDX-License-Identifier: ISC */
/*
 * The push daemon's connections: listening sockets (TCP for the test
 * modes, a Unix socket behind the web server), HTTP/1.1 requests parsed
 * with http-parser, and per-connection output queues of shared,
 * reference-counted buffers written in one batch per loop turn. What a
 * request means is decided by the callbacks (eio.c); the WebSocket framing
 * of an upgraded connection is ws.c's.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>
#include <uv.h>

#include "common/addrtab.h"
#include "sio/http_req.h"
#include "sio/timeq.h"
#include "sio/ws_codec.h"

#define HTTP_READ_BUF   65536 /* the one loop-wide read buffer */
#define HTTP_SLOW_GRACE 2000  /* ms a send queue may stay over its limit */
#define HTTP_SLOW_HARD  8     /* times the limit that cuts a reader at once */
#define HTTP_PACE_MS    10    /* ms between two busy end-of-turn flushes */
#define HTTP_PACE_CONNS 32    /* connections written that make a flush busy */
#define HTTP_LOG_EVERY  10000 /* ms between two lines about one refusal */

/*
 * A shared output buffer: one encoded packet is queued to every receiver
 * of a broadcast by reference. "hdr" bytes of WebSocket frame header come
 * first when the buffer is a frame (0 for raw HTTP bytes), so polling
 * receivers can skip them.
 */
struct http_buf {
	uint32_t refs;
	uint32_t len; /* bytes at data */
	uint8_t hdr;  /* leading WebSocket header bytes */
	uint8_t data[];
};

struct http_qent;
struct http_srv;

enum http_conn_state {
	HTTP_CONN_HTTP,   /* reading a request */
	HTTP_CONN_WAIT,   /* a response is pending (long poll) */
	HTTP_CONN_WS,     /* upgraded to WebSocket */
	HTTP_CONN_CLOSING /* closed: waiting for libuv to release it */
};

/*
 * One client connection. At rest (an idle WebSocket) it owns no buffer:
 * "tail" and "msg" exist only while a frame or message is incomplete.
 */
struct http_conn {
	union {
		uv_handle_t h;
		uv_stream_t s;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} u;
	struct http_srv *srv;
	struct http_conn *prev, *next; /* every connection, for shutdown */
	struct http_conn *dnext;       /* connections with output to flush */
	struct http_req *req;          /* request being read, or NULL */
	char *wait_hdrs;               /* extra headers of a pending response */
	struct http_qent *qhead, *qlast; /* output not yet written */
	struct timeq_ent tq;             /* handshake or upgrade deadline */
	void *owner;                     /* the Engine.IO session using it */
	struct addrtab_ent *addr; /* its client address's count, or NULL */
	double ws_tat; /* WebSocket frame budget: loop ms it is spent up to */
	uint8_t *tail; /* unparsed input kept between reads */
	uint8_t *msg;  /* WebSocket message being assembled */
	uint32_t tail_len, msg_len;
	uint32_t qbytes;  /* queued and in-flight output bytes */
	uint32_t over_ms; /* loop ms the queue went over the limit, or 0 */
	struct ws_parser ws;
	uint8_t state;       /* enum http_conn_state */
	uint8_t dirty;       /* in the flush list */
	uint8_t writing;     /* a uv_write is in flight */
	uint8_t close_after; /* close once the output is written */
	uint8_t lingering;   /* written and shut down: input discarded */
	uint8_t keep_alive;  /* HTTP: read another request after */
};

struct http_cbs {
	/*
	 * A complete request on "c" (req is freed after the call). The
	 * handler answers it (http_conn_respond), holds it (http_conn_hold)
	 * or upgrades it (ws_conn_accept).
	 */
	void (*request)(void *arg, struct http_conn *c, struct http_req *req);
	/* A whole WebSocket data message; "data" is writable. */
	void (*message)(void *arg, struct http_conn *c, int binary,
	    uint8_t *data, size_t len);
	/* "c" is closing: whoever uses it must forget it now. */
	void (*closed)(void *arg, struct http_conn *c);
	/*
	 * Before queued output is written: once per loop turn, or once per
	 * HTTP_PACE_MS while turns are paced (see http_prepare_cb()).
	 */
	void (*turn)(void *arg);
};

struct http_limits {
	uint64_t max_payload; /* request body, WebSocket message */
	uint64_t max_connections;
	uint64_t max_conns_per_addr; /* per client address */
	uint64_t send_queue_max;     /* WebSocket output per connection */
	uint64_t handshake_timeout;  /* ms for a request or an upgrade */
	uint64_t frame_burst;        /* WebSocket frames in a burst ... */
	double frame_rate;           /* ... then per second */
};

/* Refusals logged at most once per HTTP_LOG_EVERY ms, with a count. */
enum http_log {
	HTTP_LOG_CONNS,  /* over max_connections */
	HTTP_LOG_ADDR,   /* over max_conns_per_addr */
	HTTP_LOG_FLOOD,  /* WebSocket frames over their rate */
	HTTP_LOG_ORIGIN, /* requests refused for their Origin (eio.c) */
	HTTP_LOG__MAX
};

struct http_lograte {
	uint64_t ms;     /* loop time of the last line */
	uint64_t missed; /* refusals since, not logged yet */
	int logged;      /* a line was logged: "ms" is set */
};

struct http_srv {
	uv_loop_t *loop;
	struct http_cbs cbs;
	void *arg;
	struct http_limits lim;
	union {
		uv_handle_t h;
		uv_stream_t s;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} lis[2];
	int nlis;
	uv_prepare_t prepare;    /* end of each loop turn: flush */
	uv_timer_t hs_timer;     /* first deadline of "hsq" */
	uv_timer_t pace_timer;   /* wakes the loop for a paced flush */
	struct timeq hsq;        /* handshake and upgrade deadlines */
	struct http_conn *conns; /* every open connection */
	struct http_conn *dirty; /* connections to flush this turn */
	struct http_qent *qfree; /* spare queue entries */
	struct addrtab addrs;    /* connections per client address */
	struct http_lograte lr[HTTP_LOG__MAX];
	uint64_t nconns;
	uint64_t pace_until; /* loop ms before which no flush runs, or 0 */
	uint32_t nqfree;
	int stopping;
};

/* Set up "srv" on "loop"; nothing listens yet. Returns 0 or -1. */
int http_srv_init(struct http_srv *srv, uv_loop_t *loop,
    const struct http_limits *lim, const struct http_cbs *cbs, void *arg);

/* Listen on "host":"port" (TCP). Returns 0, or -1 after logging. */
int http_srv_listen_tcp(struct http_srv *srv, const char *host, int port);

/*
 * Listen on the Unix socket "path" (a stale socket file is removed first)
 * with mode 0660. Returns 0, or -1 after logging.
 */
int http_srv_listen_unix(struct http_srv *srv, const char *path);

/*
 * Close every listener, connection and handle of "srv"; the loop then
 * runs until they are released. The "closed" callback runs for each.
 */
void http_srv_stop(struct http_srv *srv);

/*
 * Count one refusal of kind "which". Returns 1 with "*n" set to the
 * refusals to report (this one and those not logged since the last line)
 * when a line is due, else 0: the caller then logs nothing.
 */
int http_srv_log_due(struct http_srv *srv, enum http_log which, uint64_t *n);

/* A new buffer of "len" bytes with one reference. */
struct http_buf *http_buf_new(size_t len);
struct http_buf *http_buf_ref(struct http_buf *b);
void http_buf_unref(struct http_buf *b);

/*
 * Queue "len" bytes of "b" from offset "off" on "c" (taking a reference).
 * Returns 0, or -1 when "c" is closing or its queue would exceed the
 * limit (then "c" is closed: a slow reader is cut off, not buffered).
 */
int http_conn_send(struct http_conn *c, struct http_buf *b, uint32_t off);

/*
 * Answer the request of "c": "status", "hdrs" (extra "Name: value\r\n"
 * lines or NULL), "ctype" and the "len" bytes of "body". After it "c"
 * reads the next request, or closes if the client asked so.
 */
void http_conn_respond(struct http_conn *c, int status, const char *hdrs,
    const char *ctype, const void *body, size_t len);

/* Keep the request of "c" waiting for a later http_conn_respond(). */
void http_conn_hold(struct http_conn *c, const char *hdrs);

/* The extra headers given to http_conn_hold(), or NULL. */
const char *http_conn_hold_hdrs(const struct http_conn *c);

/* Close "c" once its queued output is written. */
void http_conn_close_after(struct http_conn *c);

/* Close "c" now, dropping queued output. */
void http_conn_close(struct http_conn *c);

/* Close "c" unless it is released from the deadline queue in time. */
void http_conn_deadline(struct http_conn *c);
void http_conn_deadline_clear(struct http_conn *c);

#endif
