/* SPDX-License-Identifier: ISC */
/*
 * Connections of the push daemon: accept, read into one loop-wide buffer,
 * parse HTTP/1.1 with http-parser, queue and batch-write shared buffers
 * once per loop turn, and close. It must not interpret requests (eio.c
 * does) nor keep per-connection buffers at rest: an idle WebSocket holds
 * only its struct http_conn.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/http_status.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "sio/http.h"
#include "sio/ws.h"

#define HTTP_WRITE_BATCH 64   /* buffers per uv_write */
#define HTTP_QFREE_MAX   4096 /* spare queue entries kept for reuse */

/* A queued piece of output: "b" from offset "off". */
struct http_qent {
	struct http_qent *next;
	struct http_buf *b;
	uint32_t off;
};

/* A write in flight and the queue entries it owns. */
struct http_wreq {
	uv_write_t w;
	struct http_qent *ents;
};

/* Input of every connection lands here; partial frames are copied out. */
static uint8_t http_rbuf[HTTP_READ_BUF];

static void http_conn_flush(struct http_conn *c);
static void http_conn_linger(struct http_conn *c);
static int http_conn_try_write(struct http_conn *c);
static void http_hs_timer_cb(uv_timer_t *t);

/*
 * A queue entry: a spare one when there is one, so that a broadcast to
 * many sockets does not call malloc and free once per socket.
 */
static struct http_qent *
http_qent_get(struct http_srv *srv)
{
	struct http_qent *q = srv->qfree;

	if (q == NULL)
		return xmalloc(sizeof(*q));
	srv->qfree = q->next;
	srv->nqfree--;
	return q;
}

/* Release "q" and its buffer reference; keep it spare if there is room. */
static void
http_qent_put(struct http_srv *srv, struct http_qent *q)
{
	http_buf_unref(q->b);
	if (srv->nqfree >= HTTP_QFREE_MAX) {
		free(q);
		return;
	}
	q->next = srv->qfree;
	srv->qfree = q;
	srv->nqfree++;
}

struct http_buf *
http_buf_new(size_t len)
{
	struct http_buf *b;

	if (len > UINT32_MAX)
		abort();
	b = xmalloc(sizeof(*b) + len);
	b->refs = 1;
	b->len = (uint32_t)len;
	b->hdr = 0;
	return b;
}

struct http_buf *
http_buf_ref(struct http_buf *b)
{
	b->refs++;
	return b;
}

void
http_buf_unref(struct http_buf *b)
{
	if (b != NULL && --b->refs == 0)
		free(b);
}

/* Put "c" in the list of connections to flush at the end of the turn. */
static void
http_conn_dirty(struct http_conn *c)
{
	if (c->dirty)
		return;
	c->dirty = 1;
	c->dnext = c->srv->dirty;
	c->srv->dirty = c;
}

/*
 * May WebSocket "c" queue "len" more bytes? Over send_queue_max, first
 * write what its socket takes now: one loop turn may queue a burst (a
 * group commit's pushes and acks) for a reader that keeps up. A queue
 * still over the limit is allowed for HTTP_SLOW_GRACE ms, never past
 * HTTP_SLOW_HARD times the limit. Returns 0, or -1 for a slow reader or
 * when a write error closed "c".
 */
static int
http_conn_room(struct http_conn *c, uint64_t len)
{
	uint64_t lim = c->srv->lim.send_queue_max, hard;
	uint32_t now;

	if (c->qbytes + len <= lim)
		return 0;
	if (!c->writing && http_conn_try_write(c) == -1)
		return -1;
	if (c->qbytes + len <= lim)
		return 0;
	hard = lim * HTTP_SLOW_HARD;
	if (hard > UINT32_MAX / 2)
		hard = UINT32_MAX / 2;
	now = (uint32_t)uv_now(c->srv->loop) | 1; /* 0 means "not over" */
	if (c->over_ms == 0)
		c->over_ms = now;
	if (c->qbytes + len <= hard && now - c->over_ms <= HTTP_SLOW_GRACE)
		return 0;
	log_warnx(
	    "%s: slow reader: %u bytes queued, closing", __func__, c->qbytes);
	http_conn_close(c);
	return -1;
}

int
http_conn_send(struct http_conn *c, struct http_buf *b, uint32_t off)
{
	struct http_qent *q;

	if (c->state == HTTP_CONN_CLOSING || c->lingering)
		return -1;
	if (c->state == HTTP_CONN_WS && http_conn_room(c, b->len - off) == -1)
		return -1;
	q = http_qent_get(c->srv);
	q->next = NULL;
	q->b = http_buf_ref(b);
	q->off = off;
	if (c->qlast != NULL)
		c->qlast->next = q;
	else
		c->qhead = q;
	c->qlast = q;
	c->qbytes += b->len - off;
	http_conn_dirty(c);
	return 0;
}

/* Release the queue entries of list "q". */
static void
http_qent_put_list(struct http_srv *srv, struct http_qent *q)
{
	struct http_qent *next;

	for (; q != NULL; q = next) {
		next = q->next;
		http_qent_put(srv, q);
	}
}

/* Put "c" in the handshake deadline queue. */
void
http_conn_deadline(struct http_conn *c)
{
	struct http_srv *srv = c->srv;

	if (timeq_add(&srv->hsq, &c->tq, uv_now(srv->loop)))
		uv_timer_start(
		    &srv->hs_timer, http_hs_timer_cb, srv->hsq.delay, 0);
}

void
http_conn_deadline_clear(struct http_conn *c)
{
	timeq_del(&c->tq);
}

void
http_conn_respond(struct http_conn *c, int status, const char *hdrs,
    const char *ctype, const void *body, size_t len)
{
	struct http_buf *b;
	char head[1024];
	int n;

	if (c->state == HTTP_CONN_CLOSING)
		return;
	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n%s\r\n", status,
	    http_status_text(status), ctype != NULL ? "Content-Type: " : "",
	    ctype != NULL ? ctype : "", ctype != NULL ? "\r\n" : "", len,
	    c->keep_alive ? "" : "Connection: close\r\n");
	if (n < 0 || (size_t)n >= sizeof(head))
		abort();
	b = http_buf_new((size_t)n + (hdrs != NULL ? strlen(hdrs) : 0) + len);
	/* The extra headers go before the blank line that ends "head". */
	memcpy(b->data, head, (size_t)n - 2);
	if (hdrs != NULL)
		memcpy(b->data + n - 2, hdrs, strlen(hdrs));
	memcpy(b->data + b->len - len - 2, "\r\n", 2);
	if (len > 0)
		memcpy(b->data + b->len - len, body, len);
	http_conn_send(c, b, 0);
	http_buf_unref(b);
	free(c->wait_hdrs);
	c->wait_hdrs = NULL;
	if (c->state == HTTP_CONN_WAIT)
		c->state = HTTP_CONN_HTTP;
	if (!c->keep_alive)
		http_conn_close_after(c);
	else if (c->state == HTTP_CONN_HTTP)
		http_conn_deadline(c); /* idle keep-alive bound */
}

void
http_conn_hold(struct http_conn *c, const char *hdrs)
{
	c->state = HTTP_CONN_WAIT;
	free(c->wait_hdrs);
	c->wait_hdrs = hdrs != NULL && *hdrs != '\0' ? xstrdup(hdrs) : NULL;
}

const char *
http_conn_hold_hdrs(const struct http_conn *c)
{
	return c->wait_hdrs;
}

void
http_conn_close_after(struct http_conn *c)
{
	if (c->state == HTTP_CONN_CLOSING)
		return;
	c->close_after = 1;
	if (c->qhead == NULL && !c->writing)
		http_conn_close(c);
}

static void
http_conn_free_cb(uv_handle_t *h)
{
	free(h->data);
}

void
http_conn_close(struct http_conn *c)
{
	struct http_srv *srv = c->srv;

	if (c->state == HTTP_CONN_CLOSING)
		return;
	c->state = HTTP_CONN_CLOSING;
	uv_read_stop(&c->u.s);
	timeq_del(&c->tq);
	http_req_free(c->req);
	c->req = NULL;
	free(c->wait_hdrs);
	free(c->tail);
	free(c->msg);
	c->wait_hdrs = NULL;
	c->tail = c->msg = NULL;
	c->tail_len = c->msg_len = 0;
	http_qent_put_list(srv, c->qhead);
	c->qhead = c->qlast = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	if (c->addr != NULL)
		addrtab_put(&srv->addrs, c->addr);
	c->addr = NULL;
	if (c->owner != NULL)
		srv->cbs.closed(srv->arg, c);
	c->owner = NULL;
	/* The flush list may hold it: the flush releases it then. */
	if (!c->dirty)
		uv_close(&c->u.h, http_conn_free_cb);
}

int
http_srv_log_due(struct http_srv *srv, enum http_log which, uint64_t *n)
{
	struct http_lograte *lr = &srv->lr[which];
	uint64_t now = uv_now(srv->loop);

	lr->missed++;
	if (lr->logged && now - lr->ms < HTTP_LOG_EVERY)
		return 0;
	*n = lr->missed;
	lr->missed = 0;
	lr->ms = now;
	lr->logged = 1;
	return 1;
}

/* Write "addr" as text into "buf": dotted IPv4 when it is mapped. */
static void
http_addr_format(const uint8_t addr[ADDRTAB_LEN], char *buf, size_t len)
{
	static const uint8_t mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (memcmp(addr, mapped, sizeof(mapped)) == 0)
		inet_ntop(AF_INET, addr + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, addr, buf, (socklen_t)len);
}

/*
 * The client address of "c", which made request "r": the TCP peer, or on
 * the Unix socket (only the web server reaches it) the last entry of
 * X-Forwarded-For, the one the web server appends; the entries before it
 * are whatever the client sent. Returns 0 with "addr" set, or -1 when
 * there is no address to count.
 */
static int
http_conn_peer(
    struct http_conn *c, const struct http_req *r, uint8_t addr[ADDRTAB_LEN])
{
	struct sockaddr_storage ss;
	const char *xff, *last;
	int len = (int)sizeof(ss);

	if (c->u.h.type == UV_TCP) {
		if (uv_tcp_getpeername(
		        &c->u.tcp, (struct sockaddr *)&ss, &len) != 0)
			return -1;
		if (ss.ss_family == AF_INET6) {
			memcpy(addr, &((struct sockaddr_in6 *)&ss)->sin6_addr,
			    ADDRTAB_LEN);
			return 0;
		}
		if (ss.ss_family != AF_INET)
			return -1;
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		return 0;
	}
	if ((xff = r->hdr[HTTP_REQ_HDR_FORWARDED_FOR]) == NULL)
		return -1;
	last = strrchr(xff, ',');
	last = last != NULL ? last + 1 : xff;
	return addrtab_parse(last, strlen(last), addr);
}

/*
 * Count "c" against its client address before request "r" is served: it
 * keeps the slot until it closes or a later request comes from another
 * address. Returns 0, or -1 when the address holds max_conns_per_addr
 * connections already: "c" is then answered 429 and closes, before any
 * Engine.IO session exists. Refusals are logged once per HTTP_LOG_EVERY.
 */
static int
http_conn_addr_take(struct http_conn *c, const struct http_req *r)
{
	static const char body[] =
	    "{\"detail\":\"Too many connections from this address\"}\n";
	struct http_srv *srv = c->srv;
	uint8_t addr[ADDRTAB_LEN];
	char text[INET6_ADDRSTRLEN];
	uint64_t n, max = srv->lim.max_conns_per_addr;

	if (c->addr != NULL && c->u.h.type == UV_TCP)
		return 0; /* the peer of a TCP connection never changes */
	if (http_conn_peer(c, r, addr) == -1) {
		if (c->addr != NULL)
			addrtab_put(&srv->addrs, c->addr);
		c->addr = NULL;
		return 0;
	}
	if (c->addr != NULL) {
		if (memcmp(c->addr->addr, addr, ADDRTAB_LEN) == 0)
			return 0;
		addrtab_put(&srv->addrs, c->addr);
	}
	c->addr = addrtab_take(
	    &srv->addrs, addr, max > UINT32_MAX ? UINT32_MAX : (uint32_t)max);
	if (c->addr != NULL)
		return 0;
	if (http_srv_log_due(srv, HTTP_LOG_ADDR, &n)) {
		http_addr_format(addr, text, sizeof(text));
		log_warnx("%s: %llu connection(s) refused over "
		          "max_connections_per_addr, the last from %s",
		    __func__, (unsigned long long)n, text);
	}
	c->keep_alive = 0;
	http_conn_respond(c, 429, "Retry-After: 1\r\n", "application/json",
	    body, sizeof(body) - 1);
	return -1;
}

/*
 * Dispatch bytes of "c" that are not WebSocket frames: parse requests and
 * hand complete ones to the request callback, then pass any bytes after an
 * upgrade to ws.c.
 */
static void
http_conn_input(struct http_conn *c, uint8_t *buf, size_t len)
{
	struct http_srv *srv = c->srv;
	struct http_req *r;
	size_t n;
	int status;

	while (len > 0 && c->state == HTTP_CONN_HTTP) {
		if (c->req == NULL) {
			c->req = http_req_new(srv->lim.max_payload);
			if (!timeq_queued(&c->tq))
				http_conn_deadline(c);
		}
		r = c->req;
		if ((status = http_req_feed(r, buf, len, &n)) != 0) {
			c->keep_alive = 0;
			http_conn_respond(c, status, NULL, NULL, NULL, 0);
			return;
		}
		if (!r->complete)
			return; /* everything consumed; wait for more */
		buf += n, len -= n;
		timeq_del(&c->tq);
		c->keep_alive =
		    http_should_keep_alive(&r->parser) && !r->parser.upgrade;
		if (http_conn_addr_take(c, r) == -1) {
			http_req_free(r);
			c->req = NULL;
			return; /* refused: the rest is not read */
		}
		srv->cbs.request(srv->arg, c, r);
		http_req_free(r);
		c->req = NULL;
	}
	if (len == 0 || c->state == HTTP_CONN_CLOSING)
		return;
	if (c->state == HTTP_CONN_WS)
		ws_conn_input(c, buf, len);
	else /* bytes while a response is pending: no pipelining */
		http_conn_close(c);
}

static void
http_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct http_conn *c = h->data;

	(void)suggested;
	if (c->tail_len > 0)
		memcpy(http_rbuf, c->tail, c->tail_len);
	buf->base = (char *)http_rbuf + c->tail_len;
	buf->len = sizeof(http_rbuf) - c->tail_len;
}

static void
http_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct http_conn *c = s->data;
	size_t len;

	(void)buf;
	if (nread < 0) {
		http_conn_close(c);
		return;
	}
	if (nread == 0 || c->lingering)
		return;
	len = c->tail_len + (size_t)nread;
	free(c->tail);
	c->tail = NULL;
	c->tail_len = 0;
	if (c->state == HTTP_CONN_WS)
		ws_conn_input(c, http_rbuf, len);
	else
		http_conn_input(c, http_rbuf, len);
}

static void
http_write_cb(uv_write_t *w, int status)
{
	struct http_wreq *wr = (struct http_wreq *)w;
	struct http_conn *c = w->handle->data;
	struct http_qent *q;

	for (q = wr->ents; q != NULL; q = q->next)
		c->qbytes -= q->b->len - q->off;
	http_qent_put_list(c->srv, wr->ents);
	free(wr);
	c->writing = 0;
	if (c->qbytes <= c->srv->lim.send_queue_max)
		c->over_ms = 0;
	if (c->state == HTTP_CONN_CLOSING)
		return;
	if (status < 0) {
		http_conn_close(c);
		return;
	}
	http_conn_flush(c);
}

/*
 * Write what the socket of "c" takes now from its queue, without waiting.
 * Returns 0, or -1 when a write error closed "c".
 */
static int
http_conn_try_write(struct http_conn *c)
{
	uv_buf_t bufs[HTTP_WRITE_BATCH];
	struct http_qent *q;
	unsigned int n = 0;
	int r;

	for (q = c->qhead; q != NULL && n < HTTP_WRITE_BATCH; q = q->next)
		bufs[n++] = uv_buf_init(
		    (char *)q->b->data + q->off, q->b->len - q->off);
	if (n == 0)
		return 0;
	r = uv_try_write(&c->u.s, bufs, n);
	if (r < 0 && r != UV_EAGAIN) {
		http_conn_close(c);
		return -1;
	}
	for (r = r < 0 ? 0 : r; r > 0 && c->qhead != NULL;) {
		q = c->qhead;
		if ((uint32_t)r < q->b->len - q->off) {
			q->off += (uint32_t)r;
			c->qbytes -= (uint32_t)r;
			break;
		}
		r -= (int)(q->b->len - q->off);
		c->qbytes -= q->b->len - q->off;
		c->qhead = q->next;
		http_qent_put(c->srv, q);
	}
	if (c->qhead == NULL)
		c->qlast = NULL;
	if (c->qbytes <= c->srv->lim.send_queue_max)
		c->over_ms = 0;
	return 0;
}

/*
 * Write what "c" has queued: as much as the socket takes at once, the
 * rest with one uv_write whose callback continues.
 */
static void
http_conn_flush(struct http_conn *c)
{
	uv_buf_t bufs[HTTP_WRITE_BATCH];
	struct http_qent *q, *last = NULL;
	struct http_wreq *wr;
	unsigned int n = 0;

	if (c->writing || c->state == HTTP_CONN_CLOSING)
		return;
	if (http_conn_try_write(c) == -1)
		return;
	if (c->qhead == NULL)
		goto done;
	/* Hand the first batch of what is left to uv_write. */
	n = 0;
	for (q = c->qhead; q != NULL && n < HTTP_WRITE_BATCH; q = q->next) {
		bufs[n++] = uv_buf_init(
		    (char *)q->b->data + q->off, q->b->len - q->off);
		last = q;
	}
	wr = xmalloc(sizeof(*wr));
	wr->ents = c->qhead;
	c->qhead = last->next;
	last->next = NULL;
	if (c->qhead == NULL)
		c->qlast = NULL;
	if (uv_write(&wr->w, &c->u.s, bufs, n, http_write_cb) != 0) {
		http_qent_put_list(c->srv, wr->ents);
		free(wr);
		http_conn_close(c);
		return;
	}
	c->writing = 1;
	return;
done:
	if (c->close_after && !c->lingering)
		http_conn_linger(c);
}

static void
http_shutdown_cb(uv_shutdown_t *req, int status)
{
	(void)status;
	free(req);
}

/*
 * All output of "c" is written and it is to be closed: shut down the
 * write side and discard input until the peer closes or the handshake
 * timeout ends it. Closing with unread input would send a reset, which
 * makes the peer's kernel drop what it has not read yet, such as the
 * WebSocket close frame with its code or the error response.
 */
static void
http_conn_linger(struct http_conn *c)
{
	uv_shutdown_t *req = xmalloc(sizeof(*req));

	c->lingering = 1;
	free(c->tail);
	c->tail = NULL;
	c->tail_len = 0;
	if (uv_shutdown(req, &c->u.s, http_shutdown_cb) != 0) {
		free(req);
		http_conn_close(c);
		return;
	}
	http_conn_deadline(c);
}

/* The pace is over: the loop turns, and its prepare handle flushes. */
static void
http_pace_timer_cb(uv_timer_t *t)
{
	(void)t;
}

/*
 * End of a loop turn, right before the loop waits for I/O (so output
 * queued by timers and by I/O callbacks alike leaves now): let the layers
 * above run, then write, and release connections closed meanwhile.
 * Busy turns are paced: after a flush that wrote to HTTP_PACE_CONNS
 * connections or more, the next one waits until HTTP_PACE_MS later (the
 * loop keeps reading meanwhile), so that a socket's frames of several
 * turns leave in one write, and one group commit stores the messages of
 * several turns. After a quiet flush the next one runs at once.
 */
static void
http_prepare_cb(uv_prepare_t *h)
{
	struct http_srv *srv = h->data;
	struct http_conn *c;
	uint64_t now = uv_now(srv->loop);
	unsigned int n = 0;

	if (now < srv->pace_until) {
		if (!uv_is_active((uv_handle_t *)&srv->pace_timer))
			uv_timer_start(&srv->pace_timer, http_pace_timer_cb,
			    srv->pace_until - now, 0);
		return;
	}
	srv->cbs.turn(srv->arg);
	while ((c = srv->dirty) != NULL) {
		srv->dirty = c->dnext;
		c->dirty = 0;
		if (c->state == HTTP_CONN_CLOSING)
			uv_close(&c->u.h, http_conn_free_cb);
		else {
			http_conn_flush(c);
			n++;
		}
	}
	srv->pace_until = n >= HTTP_PACE_CONNS ? now + HTTP_PACE_MS : 0;
}

static void
http_hs_timer_cb(uv_timer_t *t)
{
	struct http_srv *srv = t->data;
	struct timeq_ent *e;
	struct http_conn *c;
	uint64_t next;

	while ((e = timeq_pop(&srv->hsq, uv_now(srv->loop))) != NULL) {
		c = (struct http_conn *)((char *)e -
		    offsetof(struct http_conn, tq));
		http_conn_close(c);
	}
	if ((next = timeq_next(&srv->hsq)) != UINT64_MAX)
		uv_timer_start(
		    t, http_hs_timer_cb, next - uv_now(srv->loop), 0);
}

static void
http_accept_cb(uv_stream_t *lis, int status)
{
	struct http_srv *srv = lis->data;
	struct http_conn *c;
	uint64_t n;
	int r;

	if (status < 0) {
		log_warnx("%s: %s", __func__, uv_strerror(status));
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	if (lis->type == UV_TCP)
		r = uv_tcp_init(srv->loop, &c->u.tcp);
	else
		r = uv_pipe_init(srv->loop, &c->u.pipe, 0);
	if (r != 0) {
		log_warnx("%s: %s", __func__, uv_strerror(r));
		free(c);
		return;
	}
	c->u.h.data = c;
	c->keep_alive = 1;
	c->next = srv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	srv->conns = c;
	srv->nconns++;
	if ((r = uv_accept(lis, &c->u.s)) != 0) {
		log_warnx("%s: %s", __func__, uv_strerror(r));
		http_conn_close(c);
		return;
	}
	if (srv->nconns > srv->lim.max_connections) {
		if (http_srv_log_due(srv, HTTP_LOG_CONNS, &n))
			log_warnx("%s: %llu connection(s) refused over "
			          "max_connections",
			    __func__, (unsigned long long)n);
		http_conn_close(c);
		return;
	}
	if (lis->type == UV_TCP)
		uv_tcp_nodelay(&c->u.tcp, 1);
	http_conn_deadline(c);
	if ((r = uv_read_start(&c->u.s, http_alloc_cb, http_read_cb)) != 0) {
		log_warnx("%s: %s", __func__, uv_strerror(r));
		http_conn_close(c);
	}
}

int
http_srv_init(struct http_srv *srv, uv_loop_t *loop,
    const struct http_limits *lim, const struct http_cbs *cbs, void *arg)
{
	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->lim = *lim;
	srv->cbs = *cbs;
	srv->arg = arg;
	timeq_init(&srv->hsq, lim->handshake_timeout);
	if (uv_prepare_init(loop, &srv->prepare) != 0 ||
	    uv_timer_init(loop, &srv->hs_timer) != 0 ||
	    uv_timer_init(loop, &srv->pace_timer) != 0) {
		log_warnx("%s: cannot set up loop handles", __func__);
		return -1;
	}
	srv->prepare.data = srv;
	srv->hs_timer.data = srv;
	srv->pace_timer.data = srv;
	uv_prepare_start(&srv->prepare, http_prepare_cb);
	uv_unref((uv_handle_t *)&srv->prepare);
	addrtab_init(&srv->addrs);
	return 0;
}

int
http_srv_listen_tcp(struct http_srv *srv, const char *host, int port)
{
	struct sockaddr_in sin;
	uv_tcp_t *t = &srv->lis[srv->nlis].tcp;
	int r;

	if ((r = uv_ip4_addr(host, port, &sin)) != 0 ||
	    (r = uv_tcp_init(srv->loop, t)) != 0) {
		log_warnx(
		    "%s: %s:%d: %s", __func__, host, port, uv_strerror(r));
		return -1;
	}
	t->data = srv;
	srv->nlis++;
	if ((r = uv_tcp_bind(t, (const struct sockaddr *)&sin, 0)) != 0 ||
	    (r = uv_listen((uv_stream_t *)t, 4096, http_accept_cb)) != 0) {
		log_warnx(
		    "%s: %s:%d: %s", __func__, host, port, uv_strerror(r));
		return -1;
	}
	return 0;
}

int
http_srv_listen_unix(struct http_srv *srv, const char *path)
{
	uv_pipe_t *p = &srv->lis[srv->nlis].pipe;
	struct stat st;
	int r;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    unlink(path) == -1) {
		log_warn("%s: unlink %s", __func__, path);
		return -1;
	}
	if ((r = uv_pipe_init(srv->loop, p, 0)) != 0) {
		log_warnx("%s: %s: %s", __func__, path, uv_strerror(r));
		return -1;
	}
	p->data = srv;
	srv->nlis++;
	if ((r = uv_pipe_bind(p, path)) != 0 ||
	    (r = uv_listen((uv_stream_t *)p, 4096, http_accept_cb)) != 0) {
		log_warnx("%s: %s: %s", __func__, path, uv_strerror(r));
		return -1;
	}
	if (chmod(path, 0660) == -1) {
		log_warn("%s: chmod %s", __func__, path);
		return -1;
	}
	return 0;
}

void
http_srv_stop(struct http_srv *srv)
{
	struct http_qent *q;
	struct http_conn *c;
	int i;

	if (srv->stopping)
		return;
	srv->stopping = 1;
	for (i = 0; i < srv->nlis; i++)
		uv_close(&srv->lis[i].h, NULL);
	while (srv->conns != NULL)
		http_conn_close(srv->conns);
	while ((c = srv->dirty) != NULL) {
		srv->dirty = c->dnext;
		uv_close(&c->u.h, http_conn_free_cb);
	}
	uv_close((uv_handle_t *)&srv->prepare, NULL);
	uv_close((uv_handle_t *)&srv->hs_timer, NULL);
	uv_close((uv_handle_t *)&srv->pace_timer, NULL);
	while ((q = srv->qfree) != NULL) {
		srv->qfree = q->next;
		free(q);
	}
	srv->nqfree = 0;
	addrtab_finish(&srv->addrs); /* empty: every connection is closed */
}
