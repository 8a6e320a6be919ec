/* SPDX-License-Identifier: ISC */
/*
 * ZeroMQ inside the libuv loop. ZMQ_FD is edge-triggered: a wakeup only
 * says "something changed", so after every wakeup, and after every send,
 * both sockets are drained with ZMQ_DONTWAIT until ZMQ_EVENTS no longer
 * shows ZMQ_POLLIN. Messages are bounded by ZMQ_MAXMSGSIZE; the daemon
 * never blocks on a worker (replies use ZMQ_DONTWAIT and are dropped when
 * the worker is gone).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zmq.h>

#include "chat/bus.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "bus_srv.h"

/* The most messages read in one drain, so one busy worker cannot starve
 * the loop; the rest wait for the next turn (an idle handle re-drains). */
#define BUS_SRV_BATCH 1024

struct bus_srv {
	void *ctx;
	void *pull;
	void *router;
	uv_poll_t pull_poll;
	uv_poll_t router_poll;
	uv_idle_t again; /* runs while a drain stopped at BUS_SRV_BATCH */
	int again_on;
	int polls;   /* poll handles initialised */
	int closing; /* handles whose close callback has not run yet */
	struct bus_srv_cb cb;
};

/* "ipc://..." and "tcp://..." as they are; a bare path becomes ipc. */
static char *
bus_srv_endpoint(const char *ep)
{
	if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "tcp://", 6) == 0)
		return xstrdup(ep);
	return xasprintf("ipc://%s", ep);
}

/*
 * Make a socket of "type" and bind it to "ep"; a stale ipc file from a
 * killed daemon is replaced by zmq_bind itself. Returns NULL after logging.
 */
static void *
bus_srv_socket(void *ctx, int type, const char *ep)
{
	void *s = NULL;
	char *url = bus_srv_endpoint(ep);
	int zero = 0, hwm = 10000;
	int64_t max = BUS_MSG_MAX;

	if ((s = zmq_socket(ctx, type)) == NULL ||
	    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) == -1 ||
	    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm)) == -1 ||
	    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) == -1 ||
	    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max)) == -1 ||
	    zmq_bind(s, url) == -1) {
		log_warnx("%s: %s: %s", __func__, url, zmq_strerror(errno));
		if (s != NULL)
			zmq_close(s);
		s = NULL;
	}
	free(url);
	return s;
}

/* 1 when "s" has a message to read. */
static int
bus_srv_readable(void *s)
{
	int ev = 0;
	size_t len = sizeof(ev);

	if (zmq_getsockopt(s, ZMQ_EVENTS, &ev, &len) == -1)
		return 0;
	return (ev & ZMQ_POLLIN) != 0;
}

/* Read and discard the remaining frames of a multipart message. */
static void
bus_srv_skip_more(void *s)
{
	int more = 0;
	size_t len = sizeof(more);
	zmq_msg_t m;

	for (;;) {
		if (zmq_getsockopt(s, ZMQ_RCVMORE, &more, &len) == -1 || !more)
			return;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) == -1) {
			zmq_msg_close(&m);
			return;
		}
		zmq_msg_close(&m);
	}
}

/* Read one event from PULL; returns 0, or -1 when nothing was there. */
static int
bus_srv_read_event(struct bus_srv *b)
{
	zmq_msg_t m;

	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, b->pull, ZMQ_DONTWAIT) == -1) {
		zmq_msg_close(&m);
		return -1;
	}
	bus_srv_skip_more(b->pull);
	b->cb.event(b->cb.arg, zmq_msg_data(&m), zmq_msg_size(&m));
	zmq_msg_close(&m);
	return 0;
}

/*
 * Read one query [identity, qid, payload] from ROUTER and answer
 * [identity, qid, reply]. Malformed queries are dropped unanswered.
 * Returns 0, or -1 when nothing was there.
 */
static int
bus_srv_read_query(struct bus_srv *b)
{
	zmq_msg_t part[3];
	char *reply = NULL;
	size_t n = 0;
	int more = 0;
	size_t len = sizeof(more);

	for (n = 0; n < 3; n++) {
		zmq_msg_init(&part[n]);
		if (zmq_msg_recv(&part[n], b->router, ZMQ_DONTWAIT) == -1) {
			zmq_msg_close(&part[n]);
			break;
		}
		if (zmq_getsockopt(b->router, ZMQ_RCVMORE, &more, &len) == -1 ||
		    !more) {
			n++;
			break;
		}
	}
	if (n == 0)
		return -1;
	if (n == 3 && more)
		bus_srv_skip_more(b->router);
	if (n == 3 && !more && zmq_msg_size(&part[1]) == 8)
		reply = b->cb.query(
		    b->cb.arg, zmq_msg_data(&part[2]), zmq_msg_size(&part[2]));
	if (reply != NULL) {
		/* A worker that went away makes these fail: nothing to do. */
		if (zmq_msg_send(&part[0], b->router,
		        ZMQ_SNDMORE | ZMQ_DONTWAIT) != -1 &&
		    zmq_msg_send(
		        &part[1], b->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) != -1)
			zmq_send(b->router, reply, strlen(reply), ZMQ_DONTWAIT);
		free(reply);
	}
	while (n > 0)
		zmq_msg_close(&part[--n]);
	return 0;
}

static void bus_srv_again_cb(uv_idle_t *h);

void
bus_srv_drain(struct bus_srv *b)
{
	int budget = BUS_SRV_BATCH, progress = 1;

	while (progress && budget > 0) {
		progress = 0;
		if (bus_srv_readable(b->pull) && bus_srv_read_event(b) == 0) {
			progress = 1;
			budget--;
		}
		if (bus_srv_readable(b->router) && bus_srv_read_query(b) == 0) {
			progress = 1;
			budget--;
		}
	}
	if (budget == 0 && !b->again_on) {
		uv_idle_start(&b->again, bus_srv_again_cb);
		b->again_on = 1;
	} else if (budget > 0 && b->again_on) {
		uv_idle_stop(&b->again);
		b->again_on = 0;
	}
}

static void
bus_srv_again_cb(uv_idle_t *h)
{
	bus_srv_drain(h->data);
}

static void
bus_srv_poll_cb(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	bus_srv_drain(h->data);
}

/* Watch the ZMQ_FD of "s" with "p". Returns 0 or -1 after logging. */
static int
bus_srv_watch(struct bus_srv *b, void *s, uv_poll_t *p)
{
	int fd;
	size_t len = sizeof(fd);

	if (zmq_getsockopt(s, ZMQ_FD, &fd, &len) == -1) {
		log_warnx("%s: ZMQ_FD: %s", __func__, zmq_strerror(errno));
		return -1;
	}
	if (uv_poll_init(b->again.loop, p, fd) != 0)
		return -1;
	p->data = b;
	b->polls++;
	uv_poll_start(p, UV_READABLE, bus_srv_poll_cb);
	return 0;
}

struct bus_srv *
bus_srv_new(uv_loop_t *loop, const char *events, const char *query,
    const struct bus_srv_cb *cb)
{
	struct bus_srv *b = xcalloc(1, sizeof(*b));

	b->cb = *cb;
	uv_idle_init(loop, &b->again);
	b->again.data = b;
	if ((b->ctx = zmq_ctx_new()) == NULL) {
		log_warnx("%s: zmq_ctx_new: %s", __func__, zmq_strerror(errno));
		goto fail;
	}
	zmq_ctx_set(b->ctx, ZMQ_IO_THREADS, 1);
	if ((b->pull = bus_srv_socket(b->ctx, ZMQ_PULL, events)) == NULL ||
	    (b->router = bus_srv_socket(b->ctx, ZMQ_ROUTER, query)) == NULL)
		goto fail;
	if (bus_srv_watch(b, b->pull, &b->pull_poll) == -1 ||
	    bus_srv_watch(b, b->router, &b->router_poll) == -1)
		goto fail;
	bus_srv_drain(b);
	return b;
fail:
	bus_srv_free(b);
	return NULL;
}

/* The handles are embedded in "b": free it when the last one closed. */
static void
bus_srv_closed(uv_handle_t *h)
{
	struct bus_srv *b = h->data;

	if (--b->closing == 0)
		free(b);
}

void
bus_srv_free(struct bus_srv *b)
{
	if (b == NULL)
		return;
	b->closing = 1 + b->polls;
	if (b->polls > 0)
		uv_close((uv_handle_t *)&b->pull_poll, bus_srv_closed);
	if (b->polls > 1)
		uv_close((uv_handle_t *)&b->router_poll, bus_srv_closed);
	if (b->pull != NULL)
		zmq_close(b->pull);
	if (b->router != NULL)
		zmq_close(b->router);
	if (b->ctx != NULL)
		zmq_ctx_term(b->ctx);
	uv_close((uv_handle_t *)&b->again, bus_srv_closed);
}
