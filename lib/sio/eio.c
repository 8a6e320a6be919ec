/* SPDX-License-Identifier: ISC */
/*
 * Engine.IO v4 sessions over http.c and ws.c, as the engine.io server 6.x
 * behaves: the handshake, polling GET/POST, WebSocket, the probe/upgrade
 * dance, heartbeats (pingInterval, then pingTimeout, no slack), the error
 * answers {"code","message"} and CORS. Timers are two deadline queues for
 * all sessions, so an idle session carries no libuv handle. Sessions are
 * closed at once but freed at the end of the loop turn, after the layer
 * above was told, so no callback ever sees a freed session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "common/form.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "sio/eio.h"
#include "sio/eio_codec.h"
#include "sio/ws.h"

#define EIO_CORS_MAX   768 /* bytes of CORS response headers */
#define EIO_ORIGIN_MAX 256

enum { EIO_T_POLLING, EIO_T_WS };

/* A packet waiting for the next polling GET. */
struct eio_pent {
	struct eio_pent *next;
	struct http_buf *b;
};

struct eio_sess {
	char sid[EIO_SID_LEN + 1];
	uint8_t transport; /* EIO_T_* in use */
	uint8_t closed;    /* ended: waiting to be reported and freed */
	uint8_t upgrading; /* probe answered, waiting for "5" */
	uint8_t pong_wait; /* ping sent, waiting for pong */
	uint8_t pdirty;    /* in the list of polls to answer */
	uint32_t over_ms;  /* loop ms the polling queue went over, or 0 */
	struct eio *e;
	struct eio_sess *hnext;         /* sid hash chain */
	struct eio_sess *lnext;         /* zombie or dead list */
	struct eio_sess *pnext;         /* polls to answer this turn */
	struct http_conn *ws;           /* WebSocket: transport, or probe */
	struct http_conn *get;          /* pending polling GET */
	struct eio_pent *qhead, *qlast; /* polling output */
	uint64_t qbytes;
	struct timeq_ent tq; /* next ping, or pong deadline */
	const char *reason;  /* why it closed (static string) */
	void *data;          /* the layer above's */
};

struct eio {
	struct http_srv http;
	uv_loop_t *loop;
	char *path;
	char *cors_origins;
	int cors_any;
	uint64_t max_payload;
	uint64_t send_queue_max;
	struct eio_cbs cbs;
	void *arg;
	struct eio_sess **tab; /* sid hash table */
	size_t nb, n;
	struct timeq pingq, pongq;
	uv_timer_t ping_timer, pong_timer;
	struct http_buf *ping; /* the "2" frame every session shares */
	struct eio_sess *pdirty;
	struct eio_sess *zombies, *dead;
	uint64_t ping_interval, ping_timeout; /* ms, for the handshake */
};

static void eio_ping_timer_cb(uv_timer_t *t);
static void eio_pong_timer_cb(uv_timer_t *t);

/* Hash of a sid (FNV-1a). */
static size_t
eio_hash(const char *sid)
{
	uint32_t h = 2166136261u;

	while (*sid != '\0')
		h = (h ^ (uint8_t)*sid++) * 16777619u;
	return h;
}

static struct eio_sess *
eio_tab_get(const struct eio *e, const char *sid)
{
	struct eio_sess *s;

	for (s = e->tab[eio_hash(sid) & (e->nb - 1)]; s != NULL; s = s->hnext)
		if (strcmp(s->sid, sid) == 0)
			return s;
	return NULL;
}

/* Insert "s", doubling the table when it is full. */
static void
eio_tab_put(struct eio *e, struct eio_sess *s)
{
	struct eio_sess **tab, *p, *next;
	size_t i, nb;

	if (e->n >= e->nb) {
		nb = e->nb * 2;
		tab = xcalloc(nb, sizeof(*tab));
		for (i = 0; i < e->nb; i++)
			for (p = e->tab[i]; p != NULL; p = next) {
				next = p->hnext;
				p->hnext = tab[eio_hash(p->sid) & (nb - 1)];
				tab[eio_hash(p->sid) & (nb - 1)] = p;
			}
		free(e->tab);
		e->tab = tab;
		e->nb = nb;
	}
	i = eio_hash(s->sid) & (e->nb - 1);
	s->hnext = e->tab[i];
	e->tab[i] = s;
	e->n++;
}

static void
eio_tab_del(struct eio *e, struct eio_sess *s)
{
	struct eio_sess **pp = &e->tab[eio_hash(s->sid) & (e->nb - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			e->n--;
			return;
		}
}

struct http_buf *
eio_msg_new2(const void *prefix, size_t plen, const void *data, size_t len)
{
	struct http_buf *b;
	size_t hl = ws_frame_header_len(1 + plen + len);

	b = http_buf_new(hl + 1 + plen + len);
	b->hdr = (uint8_t)ws_frame_header(b->data, WS_OP_TEXT, 1 + plen + len);
	b->data[hl] = '0' + EIO_MESSAGE;
	if (plen > 0)
		memcpy(b->data + hl + 1, prefix, plen);
	if (len > 0)
		memcpy(b->data + hl + 1 + plen, data, len);
	return b;
}

struct http_buf *
eio_msg_new(int binary, const void *data, size_t len)
{
	if (binary)
		return ws_frame_new(WS_OP_BINARY, NULL, 0, data, len);
	return eio_msg_new2(NULL, 0, data, len);
}

/* A text frame of a whole Engine.IO packet (type digit included). */
static struct http_buf *
eio_packet_new(const char *pkt)
{
	return ws_frame_new(WS_OP_TEXT, pkt, strlen(pkt), NULL, 0);
}

/* Answer the error "code" engine.io-style on "c". */
static void
eio_error(struct http_conn *c, int status, int code, const char *cors)
{
	static const char *const msg[] = {"Transport unknown",
	    "Session ID unknown", "Bad handshake method", "Bad request",
	    "Forbidden", "Unsupported protocol version"};
	char body[96];
	int n;

	n = snprintf(body, sizeof(body), "{\"code\":%d,\"message\":\"%s\"}",
	    code, msg[code]);
	http_conn_respond(c, status, cors, "application/json", body, (size_t)n);
}

/* Detach and answer the pending GET of "s" with "body". */
static void
eio_get_answer(struct eio_sess *s, const char *body, size_t len)
{
	struct http_conn *c = s->get;
	char *hdrs;

	s->get = NULL;
	c->owner = NULL;
	hdrs = http_conn_hold_hdrs(c) != NULL ? xstrdup(http_conn_hold_hdrs(c))
	                                      : NULL;
	http_conn_respond(c, 200, hdrs, "text/plain; charset=UTF-8", body, len);
	free(hdrs);
}

/* Drop the polling queue of "s". */
static void
eio_queue_free(struct eio_sess *s)
{
	struct eio_pent *p, *next;

	for (p = s->qhead; p != NULL; p = next) {
		next = p->next;
		http_buf_unref(p->b);
		free(p);
	}
	s->qhead = s->qlast = NULL;
	s->qbytes = 0;
	s->over_ms = 0;
}

/*
 * End "s" for "reason". A pending GET gets "6" (noop) when the client
 * asked for the close, "1" (close) otherwise, as engine.io answers. The
 * layer above hears of it at the end of the turn.
 */
static void
eio_sess_end(struct eio_sess *s, const char *reason, int by_client)
{
	struct eio *e = s->e;
	struct http_conn *c;

	if (s->closed)
		return;
	s->closed = 1;
	s->reason = reason;
	eio_tab_del(e, s);
	timeq_del(&s->tq);
	if (s->get != NULL)
		eio_get_answer(s, by_client ? "6" : "1", 1);
	if ((c = s->ws) != NULL) {
		s->ws = NULL;
		c->owner = NULL;
		ws_conn_close(c, WS_CLOSE_NORMAL);
	}
	eio_queue_free(s);
	s->lnext = e->zombies;
	e->zombies = s;
}

void
eio_sess_close(struct eio_sess *s)
{
	eio_sess_end(s, "forced close", 0);
}

/* Schedule the next ping of "s" in pingInterval. */
static void
eio_ping_schedule(struct eio_sess *s)
{
	struct eio *e = s->e;

	s->pong_wait = 0;
	if (timeq_add(&e->pingq, &s->tq, uv_now(e->loop)))
		uv_timer_start(
		    &e->ping_timer, eio_ping_timer_cb, e->pingq.delay, 0);
}

/*
 * May the polling queue of "s" take "len" more bytes? One turn may queue
 * a burst (a group commit's pushes and acks) for a client that polls
 * again at once: as for WebSocket (http.c), the queue may stay over
 * send_queue_max for HTTP_SLOW_GRACE ms, never past HTTP_SLOW_HARD times
 * it. Returns 0, or -1 for a slow reader.
 */
static int
eio_sess_room(struct eio_sess *s, uint64_t len)
{
	struct eio *e = s->e;
	uint32_t now;

	if (s->qbytes + len <= e->send_queue_max)
		return 0;
	now = (uint32_t)uv_now(e->loop) | 1; /* 0 means "not over" */
	if (s->over_ms == 0)
		s->over_ms = now;
	if (s->qbytes + len <= e->send_queue_max * HTTP_SLOW_HARD &&
	    now - s->over_ms <= HTTP_SLOW_GRACE)
		return 0;
	return -1;
}

void
eio_sess_send(struct eio_sess *s, struct http_buf *m)
{
	struct eio *e = s->e;
	struct eio_pent *p;

	if (s->closed)
		return;
	if (s->transport == EIO_T_WS) {
		http_conn_send(s->ws, m, 0);
		return;
	}
	if (eio_sess_room(s, m->len) == -1) {
		log_warnx(
		    "%s: %s: slow polling reader, closing", __func__, s->sid);
		eio_sess_end(s, "transport error", 0);
		return;
	}
	p = xmalloc(sizeof(*p));
	p->next = NULL;
	p->b = http_buf_ref(m);
	if (s->qlast != NULL)
		s->qlast->next = p;
	else
		s->qhead = p;
	s->qlast = p;
	s->qbytes += m->len;
	if (s->get != NULL && !s->pdirty) {
		s->pdirty = 1;
		s->pnext = e->pdirty;
		e->pdirty = s;
	}
}

/*
 * Answer the pending GET of "s" with every queued packet: text as is,
 * binary as "b" + base64, joined by \x1e.
 */
static void
eio_poll_flush(struct eio_sess *s)
{
	struct eio_pent *p;
	size_t total = 0, n;
	char *body, *w;

	for (p = s->qhead; p != NULL; p = p->next) {
		n = p->b->len - p->b->hdr;
		total += (p->b->data[0] & 0x0f) == WS_OP_BINARY
		    ? 1 + eio_b64_len(n)
		    : n;
		total += p->next != NULL;
	}
	w = body = xmalloc(total + 1);
	for (p = s->qhead; p != NULL; p = p->next) {
		n = p->b->len - p->b->hdr;
		if ((p->b->data[0] & 0x0f) == WS_OP_BINARY) {
			*w++ = 'b';
			eio_b64_encode(w, p->b->data + p->b->hdr, n);
			w += eio_b64_len(n);
		} else {
			memcpy(w, p->b->data + p->b->hdr, n);
			w += n;
		}
		if (p->next != NULL)
			*w++ = EIO_SEP;
	}
	eio_queue_free(s);
	eio_get_answer(s, body, total);
	free(body);
}

/*
 * Handle one packet from the client of "s". Returns 0, or -1 when "s" is
 * now closed.
 */
static int
eio_sess_packet(
    struct eio_sess *s, int type, int binary, uint8_t *data, size_t len)
{
	struct eio *e = s->e;

	switch (type) {
	case EIO_PONG:
		if (s->pong_wait)
			eio_ping_schedule(s);
		break;
	case EIO_MESSAGE:
		e->cbs.message(e->arg, s, binary, data, len);
		break;
	case EIO_CLOSE:
		eio_sess_end(s, "transport close", 1);
		break;
	case EIO_NOOP:
		break;
	default: /* open, upgrade, or a v3 ping: not from a v4 client */
		eio_sess_end(s, "parse error", 0);
		break;
	}
	return s->closed ? -1 : 0;
}

/* eio_payload_decode() callback for a polling POST. */
static int
eio_post_packet(
    void *arg, int type, int binary, const uint8_t *data, size_t len)
{
	return eio_sess_packet(
	    arg, type, binary, (uint8_t *)(uintptr_t)data, len);
}

/* A polling GET on "s". */
static void
eio_poll_get(struct eio_sess *s, struct http_conn *c, const char *cors)
{
	if (s->get != NULL) { /* overlapping polls: engine.io closes */
		eio_error(c, 400, 3, cors);
		eio_sess_end(s, "transport error", 0);
		return;
	}
	s->get = c;
	c->owner = s;
	http_conn_hold(c, cors);
	if (s->qhead != NULL)
		eio_poll_flush(s);
	else if (s->upgrading)
		eio_get_answer(s, "6", 1);
}

/* A polling POST of "req" on "s". */
static void
eio_poll_post(struct eio_sess *s, struct http_conn *c,
    const struct http_req *req, const char *cors)
{
	int rc;

	if (req->too_large) {
		http_conn_respond(c, 413, cors, NULL, NULL, 0);
		eio_sess_end(s, "transport error", 0);
		return;
	}
	rc = eio_payload_decode(req->body, req->body_len, eio_post_packet, s);
	if (rc != 0 && !s->closed) {
		eio_error(c, 400, 3, cors);
		eio_sess_end(s, "parse error", 0);
		return;
	}
	http_conn_respond(c, 200, cors, "text/html", "ok", 2);
}

/* A WebSocket request for the existing session "s": the upgrade. */
static void
eio_upgrade(struct eio_sess *s, struct http_conn *c, const struct http_req *req)
{
	struct eio *e = s->e;

	if (ws_conn_accept(c, req, e->max_payload) != 0)
		return;
	if (s->transport == EIO_T_WS || s->ws != NULL) {
		/* Upgraded or upgrading already: engine.io closes it. */
		ws_conn_close(c, WS_CLOSE_NORMAL);
		return;
	}
	s->ws = c;
	c->owner = s;
	http_conn_deadline(c); /* the upgrade must finish in time */
}

/* "5" on the probe: the WebSocket becomes the transport of "s". */
static void
eio_upgrade_finish(struct eio_sess *s)
{
	struct eio_pent *p;

	s->transport = EIO_T_WS;
	s->upgrading = 0;
	http_conn_deadline_clear(s->ws);
	if (s->get != NULL)
		eio_get_answer(s, "6", 1);
	for (p = s->qhead; p != NULL; p = p->next)
		http_conn_send(s->ws, p->b, 0);
	eio_queue_free(s);
}

/* A message on the probe WebSocket "c" of polling session "s". */
static void
eio_probe_message(struct eio_sess *s, struct http_conn *c, int binary,
    const uint8_t *data, size_t len)
{
	struct http_buf *b;

	if (!binary && !s->upgrading && len == 6 &&
	    memcmp(data, "2probe", 6) == 0) {
		b = eio_packet_new("3probe");
		http_conn_send(c, b, 0);
		http_buf_unref(b);
		s->upgrading = 1;
		if (s->get != NULL && s->qhead == NULL)
			eio_get_answer(s, "6", 1);
		return;
	}
	if (!binary && s->upgrading && len == 1 && data[0] == '5') {
		eio_upgrade_finish(s);
		return;
	}
	/* Anything else aborts the upgrade; polling goes on. */
	s->ws = NULL;
	s->upgrading = 0;
	c->owner = NULL;
	ws_conn_close(c, WS_CLOSE_PROTOCOL);
}

/* http callback: a WebSocket message on "c". */
static void
eio_on_message(
    void *arg, struct http_conn *c, int binary, uint8_t *data, size_t len)
{
	struct eio_sess *s = c->owner;
	int type;

	(void)arg;
	if (s == NULL || s->closed)
		return;
	if (s->transport == EIO_T_POLLING) {
		eio_probe_message(s, c, binary, data, len);
		return;
	}
	if (binary) {
		eio_sess_packet(s, EIO_MESSAGE, 1, data, len);
		return;
	}
	if ((type = eio_packet_type(data, len)) < 0) {
		eio_sess_end(s, "parse error", 0);
		return;
	}
	eio_sess_packet(s, type, 0, data + 1, len - 1);
}

/* http callback: "c" is closing. */
static void
eio_on_closed(void *arg, struct http_conn *c)
{
	struct eio_sess *s = c->owner;

	(void)arg;
	c->owner = NULL;
	if (s == NULL)
		return;
	if (s->get == c)
		s->get = NULL;
	else if (s->ws == c) {
		s->ws = NULL;
		if (s->transport == EIO_T_WS)
			eio_sess_end(s, "transport close", 1);
		else
			s->upgrading = 0;
	}
}

/*
 * Decide whether the Origin of "req" may use the endpoint: none given,
 * the page's own origin (its host:port equals Host), a configured origin,
 * or any in the test modes. On success write the CORS response headers
 * into "out", none for the page's own origin and no credentials header
 * (tokens are never cookies), and return 1; return 0 to refuse (403).
 */
static int
eio_cors(const struct eio *e, const struct http_req *req, char *out, size_t sz)
{
	const char *o = req->hdr[HTTP_REQ_HDR_ORIGIN];
	const char *host = req->hdr[HTTP_REQ_HDR_HOST], *p, *tok;
	size_t n, len;
	int ok, own = 0;

	out[0] = '\0';
	if (o == NULL)
		return 1;
	len = strlen(o);
	if (len == 0 || len > EIO_ORIGIN_MAX)
		return 0;
	for (p = o; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
	if (host != NULL && (p = strstr(o, "://")) != NULL)
		own = strcasecmp(p + 3, host) == 0;
	ok = e->cors_any || own;
	for (tok = e->cors_origins; !ok && tok != NULL && *tok != '\0';
	     tok += n) {
		tok += strspn(tok, " \t");
		n = strcspn(tok, " \t");
		ok = n > 0 && n == len && strncmp(tok, o, n) == 0;
	}
	if (!ok)
		return 0;
	if (!own)
		snprintf(out, sz,
		    "Access-Control-Allow-Origin: %s\r\n"
		    "Access-Control-Expose-Headers: Retry-After, "
		    "WWW-Authenticate\r\nVary: Origin\r\n",
		    o);
	return 1;
}

/* Create a session for the handshake "req" on "c" and answer it. */
static void
eio_handshake(struct eio *e, struct http_conn *c, const struct http_req *req,
    int websocket, const char *query, const char *cors)
{
	struct eio_handshake hs = {query, req->hdr[HTTP_REQ_HDR_AUTHORIZATION]};
	struct eio_sess *s;
	struct http_buf *b;
	uint8_t rnd[15];
	char open[256];
	int n;

	if (websocket && ws_conn_accept(c, req, e->max_payload) != 0)
		return;
	s = xcalloc(1, sizeof(*s));
	s->e = e;
	do {
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2base64(s->sid, sizeof(s->sid), rnd, sizeof(rnd),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	} while (eio_tab_get(e, s->sid) != NULL);
	eio_tab_put(e, s);
	n = snprintf(open, sizeof(open),
	    "0{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%llu,"
	    "\"pingTimeout\":%llu,\"maxPayload\":%llu}",
	    s->sid, websocket ? "" : "\"websocket\"",
	    (unsigned long long)e->ping_interval,
	    (unsigned long long)e->ping_timeout,
	    (unsigned long long)e->max_payload);
	if (websocket) {
		s->transport = EIO_T_WS;
		s->ws = c;
		c->owner = s;
		b = ws_frame_new(WS_OP_TEXT, open, (size_t)n, NULL, 0);
		http_conn_send(c, b, 0);
		http_buf_unref(b);
	} else
		http_conn_respond(
		    c, 200, cors, "text/plain; charset=UTF-8", open, (size_t)n);
	eio_ping_schedule(s);
	if (e->cbs.open != NULL)
		e->cbs.open(e->arg, s, &hs);
}

/* 1 when the path part "p" ("n" bytes) of a URL is the endpoint. */
static int
eio_path_match(const struct eio *e, const char *p, size_t n)
{
	size_t len = strlen(e->path);

	return (n == len && memcmp(p, e->path, n) == 0) ||
	    (n + 1 == len && e->path[len - 1] == '/' &&
	        memcmp(p, e->path, n) == 0);
}

/* The live session "sid", or NULL; a session past its pong deadline ends. */
static struct eio_sess *
eio_sess_find(struct eio *e, const char *sid)
{
	struct eio_sess *s = eio_tab_get(e, sid);

	if (s != NULL && s->pong_wait) {
		uv_update_time(e->loop);
		if (s->tq.deadline <= uv_now(e->loop)) {
			eio_sess_end(s, "ping timeout", 0);
			return NULL;
		}
	}
	return s;
}

/*
 * Log that "req" was refused for its Origin, at most once per
 * HTTP_LOG_EVERY with the count since the last line: which Origin and
 * Host (escaped), and the usual cause. A browser's Origin differs from
 * Host when a development proxy rewrites Host (Vite's changeOrigin: true)
 * while the page stays on the proxy's origin.
 */
static void
eio_origin_log(struct eio *e, const struct http_req *req)
{
	const char *o = req->hdr[HTTP_REQ_HDR_ORIGIN];
	const char *host = req->hdr[HTTP_REQ_HDR_HOST];
	char eo[LOG_CLIENT_MAX * 4 + 4], eh[LOG_CLIENT_MAX * 4 + 4];
	uint64_t n;

	if (!http_srv_log_due(&e->http, HTTP_LOG_ORIGIN, &n))
		return;
	log_escape(eo, sizeof(eo), o, o != NULL ? strlen(o) : 0);
	log_escape(eh, sizeof(eh), host, host != NULL ? strlen(host) : 0);
	log_warnx("%s: %llu request(s) refused with 403 for their Origin, "
	          "the last: Origin \"%s\" is not in cors_origins and does "
	          "not match Host \"%s\". A dev proxy that rewrites Host "
	          "(e.g. Vite's changeOrigin: true) makes Origin differ from "
	          "Host: list the origin in cors_origins, or keep Host",
	    __func__, (unsigned long long)n, eo, eh);
}

/* http callback: a complete request on "c". */
static void
eio_on_request(void *arg, struct http_conn *c, struct http_req *req)
{
	struct eio *e = arg;
	struct form f = {NULL, 0};
	struct eio_sess *s;
	const char *q, *sid;
	char cors[EIO_CORS_MAX];
	int method = req->parser.method, websocket, code, allowed;

	q = strchr(req->url, '?');
	if (!eio_path_match(e, req->url,
	        q != NULL ? (size_t)(q - req->url) : strlen(req->url))) {
		http_conn_respond(c, 404, NULL, NULL, NULL, 0);
		goto out;
	}
	q = q != NULL ? q + 1 : "";
	allowed = eio_cors(e, req, cors, sizeof(cors));
	/* A preflight: 204 for any origin, the headers for allowed ones. */
	if (method == HTTP_OPTIONS) {
		if (!allowed)
			cors[0] = '\0';
		else if (cors[0] != '\0')
			strncat(cors,
			    "Access-Control-Allow-Methods: GET, POST, "
			    "OPTIONS\r\n"
			    "Access-Control-Allow-Headers: Authorization, "
			    "Content-Type\r\nAccess-Control-Max-Age: 7200\r\n",
			    sizeof(cors) - strlen(cors) - 1);
		http_conn_respond(c, 204, cors, NULL, NULL, 0);
		goto out;
	}
	if (!allowed) {
		eio_origin_log(e, req);
		eio_error(c, 403, 4, NULL);
		goto out;
	}
	if (http_req_eio_params(req, q, &f, &sid, &websocket, &code) == -1) {
		eio_error(c, 400, code, cors);
		goto out;
	}
	if (sid != NULL) {
		if ((s = eio_sess_find(e, sid)) == NULL)
			eio_error(c, 400, 1, cors);
		else if (websocket)
			eio_upgrade(s, c, req);
		else if (s->transport == EIO_T_WS)
			eio_error(c, 400, 3, cors);
		else if (method == HTTP_GET)
			eio_poll_get(s, c, cors);
		else if (method == HTTP_POST)
			eio_poll_post(s, c, req, cors);
		else
			eio_error(c, 400, 3, cors);
		goto out;
	}
	eio_handshake(e, c, req, websocket, q, cors);
out:
	form_finish(&f);
}

/* Tell the layer above about sessions that ended; free them later. */
static void
eio_zombies_report(struct eio *e)
{
	struct eio_sess *s;

	while ((s = e->zombies) != NULL) {
		e->zombies = s->lnext;
		if (e->cbs.close != NULL)
			e->cbs.close(e->arg, s, s->reason);
		s->lnext = e->dead;
		e->dead = s;
	}
}

/* Free the sessions already reported. */
static void
eio_dead_free(struct eio *e)
{
	struct eio_sess *s;

	while ((s = e->dead) != NULL) {
		e->dead = s->lnext;
		free(s);
	}
}

/* http callback, once per turn: closes, the app's turn, polls, frees. */
static void
eio_on_turn(void *arg)
{
	struct eio *e = arg;
	struct eio_sess *s;

	eio_zombies_report(e);
	if (e->cbs.turn != NULL)
		e->cbs.turn(e->arg);
	/* Reports may queue packets, answers never close: loop until calm. */
	do {
		eio_zombies_report(e);
		while ((s = e->pdirty) != NULL) {
			e->pdirty = s->pnext;
			s->pdirty = 0;
			if (!s->closed && s->get != NULL && s->qhead != NULL)
				eio_poll_flush(s);
		}
	} while (e->zombies != NULL);
	eio_dead_free(e);
}

static void
eio_ping_timer_cb(uv_timer_t *t)
{
	struct eio *e = t->data;
	struct timeq_ent *q;
	struct eio_sess *s;
	uint64_t now = uv_now(e->loop), next;

	while ((q = timeq_pop(&e->pingq, now)) != NULL) {
		s = (struct eio_sess *)((char *)q -
		    offsetof(struct eio_sess, tq));
		eio_sess_send(s, e->ping);
		if (s->closed)
			continue;
		s->pong_wait = 1;
		if (timeq_add(&e->pongq, &s->tq, now))
			uv_timer_start(&e->pong_timer, eio_pong_timer_cb,
			    e->pongq.delay, 0);
	}
	if ((next = timeq_next(&e->pingq)) != UINT64_MAX)
		uv_timer_start(t, eio_ping_timer_cb, next - now, 0);
}

static void
eio_pong_timer_cb(uv_timer_t *t)
{
	struct eio *e = t->data;
	struct timeq_ent *q;
	uint64_t now = uv_now(e->loop), next;

	while ((q = timeq_pop(&e->pongq, now)) != NULL)
		eio_sess_end((struct eio_sess *)((char *)q -
		                 offsetof(struct eio_sess, tq)),
		    "ping timeout", 0);
	if ((next = timeq_next(&e->pongq)) != UINT64_MAX)
		uv_timer_start(t, eio_pong_timer_cb, next - now, 0);
}

struct eio *
eio_new(uv_loop_t *loop, const struct eio_conf *conf, const struct eio_cbs *cbs,
    void *arg)
{
	static const struct http_cbs hcbs = {
	    eio_on_request, eio_on_message, eio_on_closed, eio_on_turn};
	struct eio *e = xcalloc(1, sizeof(*e));

	e->loop = loop;
	e->path = xstrdup(conf->path);
	e->cors_origins =
	    conf->cors_origins != NULL ? xstrdup(conf->cors_origins) : NULL;
	e->cors_any = conf->cors_any;
	e->max_payload = conf->lim.max_payload;
	e->send_queue_max = conf->lim.send_queue_max;
	e->cbs = *cbs;
	e->arg = arg;
	e->nb = 1024;
	e->tab = xcalloc(e->nb, sizeof(*e->tab));
	timeq_init(&e->pingq, conf->ping_interval);
	timeq_init(&e->pongq, conf->ping_timeout);
	e->ping = eio_packet_new("2");
	e->ping_interval = conf->ping_interval;
	e->ping_timeout = conf->ping_timeout;
	if (http_srv_init(&e->http, loop, &conf->lim, &hcbs, e) != 0 ||
	    uv_timer_init(loop, &e->ping_timer) != 0 ||
	    uv_timer_init(loop, &e->pong_timer) != 0) {
		log_warnx("%s: cannot set up the loop", __func__);
		abort();
	}
	e->ping_timer.data = e->pong_timer.data = e;
	return e;
}

int
eio_listen_tcp(struct eio *e, const char *host, int port)
{
	return http_srv_listen_tcp(&e->http, host, port);
}

int
eio_listen_unix(struct eio *e, const char *path)
{
	return http_srv_listen_unix(&e->http, path);
}

void
eio_stop(struct eio *e)
{
	struct eio_sess *s;
	size_t i;

	for (i = 0; i < e->nb; i++)
		while ((s = e->tab[i]) != NULL)
			eio_sess_end(s, "server shutting down", 0);
	eio_zombies_report(e);
	e->pdirty = NULL;
	http_srv_stop(&e->http);
	eio_dead_free(e);
	uv_close((uv_handle_t *)&e->ping_timer, NULL);
	uv_close((uv_handle_t *)&e->pong_timer, NULL);
}

void
eio_free(struct eio *e)
{
	if (e == NULL)
		return;
	http_buf_unref(e->ping);
	free(e->tab);
	free(e->path);
	free(e->cors_origins);
	free(e);
}

const char *
eio_sess_sid(const struct eio_sess *s)
{
	return s->sid;
}

void *
eio_sess_data(const struct eio_sess *s)
{
	return s->data;
}

void
eio_sess_set_data(struct eio_sess *s, void *data)
{
	s->data = data;
}
