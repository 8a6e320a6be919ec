/* SPDX-License-Identifier: ISC */
/*
 * The workers' ZeroMQ client to the push daemon. Events go out on a PUSH
 * socket as one frame of JSON built from integers only, never client text.
 * Queries go out on a DEALER socket as two frames [qid, payload], where qid
 * is 8 opaque bytes (a per-bus counter) that the daemon must echo: its
 * ROUTER receives [identity, qid, payload] and answers [identity, qid,
 * reply], so the DEALER reads [qid, reply] and drops any reply whose qid is
 * not the one it waits for (a late answer to an earlier, timed-out query).
 * Nothing here may block a request: ZMQ_IMMEDIATE makes sends fail at once
 * with EAGAIN while no connection is up (daemon away, or the first moments
 * after bus_new()), and queries wait at most their timeout. A ZeroMQ
 * context must not cross fork(): call bus_new() in the process that uses it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "chat/bus.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define BUS_SNDHWM 1000

struct bus {
	void *ctx;
	void *push;   /* events, to the daemon's PULL */
	void *dealer; /* queries, to the daemon's ROUTER */
	uint64_t qid; /* id of the last query sent */
	int warned;   /* a send error other than EAGAIN was logged */
};

/*
 * Turn "ep" into a ZeroMQ endpoint: "ipc://" and "tcp://" strings are used
 * as they are, a string without a scheme is an ipc path. Returns a new
 * string, or NULL for an empty string or another scheme.
 */
static char *
bus_endpoint(const char *ep)
{
	if (ep == NULL || *ep == '\0')
		return NULL;
	if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "tcp://", 6) == 0)
		return xstrdup(ep);
	if (strstr(ep, "://") != NULL)
		return NULL;
	return xasprintf("ipc://%s", ep);
}

/*
 * Make a socket of "type" with the options every bus socket shares and
 * connect it to "ep". Returns the socket, or NULL after logging.
 */
static void *
bus_socket_open(void *ctx, int type, const char *ep)
{
	void *s = NULL, *ret = NULL;
	char *url = NULL;
	int one = 1, zero = 0, hwm = BUS_SNDHWM;
	int64_t max = BUS_MSG_MAX;

	if ((url = bus_endpoint(ep)) == NULL) {
		log_warnx("%s: bad endpoint (want ipc://, tcp:// or a path)",
		    __func__);
		goto out;
	}
	if ((s = zmq_socket(ctx, type)) == NULL) {
		log_warnx("%s: zmq_socket: %s", __func__, zmq_strerror(errno));
		goto out;
	}
	if (zmq_setsockopt(s, ZMQ_IMMEDIATE, &one, sizeof(one)) == -1 ||
	    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) == -1 ||
	    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) == -1 ||
	    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max)) == -1 ||
	    zmq_setsockopt(s, ZMQ_SNDTIMEO, &zero, sizeof(zero)) == -1) {
		log_warnx(
		    "%s: zmq_setsockopt: %s", __func__, zmq_strerror(errno));
		goto out;
	}
	if (zmq_connect(s, url) == -1) {
		log_warnx("%s: zmq_connect %s: %s", __func__, url,
		    zmq_strerror(errno));
		goto out;
	}
	ret = s;
	s = NULL;
out:
	if (s != NULL)
		zmq_close(s);
	free(url);
	return ret;
}

/*
 * Create the context (one I/O thread, non-blocking termination) and both
 * sockets. Connecting needs no peer, so this succeeds with the daemon down.
 * Returns a new bus, or NULL after logging.
 */
struct bus *
bus_new(const char *events, const char *query)
{
	struct bus *b = xcalloc(1, sizeof(*b)), *ret = NULL;

	if ((b->ctx = zmq_ctx_new()) == NULL) {
		log_warnx("%s: zmq_ctx_new: %s", __func__, zmq_strerror(errno));
		goto out;
	}
	if (zmq_ctx_set(b->ctx, ZMQ_IO_THREADS, 1) == -1 ||
	    zmq_ctx_set(b->ctx, ZMQ_BLOCKY, 0) == -1) {
		log_warnx("%s: zmq_ctx_set: %s", __func__, zmq_strerror(errno));
		goto out;
	}
	if ((b->push = bus_socket_open(b->ctx, ZMQ_PUSH, events)) == NULL ||
	    (b->dealer = bus_socket_open(b->ctx, ZMQ_DEALER, query)) == NULL)
		goto out;
	ret = b;
	b = NULL;
out:
	bus_free(b);
	return ret;
}

/* Close both sockets and the context; pending messages are dropped. */
void
bus_free(struct bus *b)
{
	if (b == NULL)
		return;
	if (b->push != NULL)
		zmq_close(b->push);
	if (b->dealer != NULL)
		zmq_close(b->dealer);
	if (b->ctx != NULL)
		zmq_ctx_term(b->ctx);
	free(b);
}

/*
 * Send "len" bytes of "msg" on the PUSH socket without waiting. EAGAIN
 * (daemon absent or queue full) is expected and only a debug line; any
 * other error is logged once per bus.
 */
static void
bus_event_send(struct bus *b, const char *msg, size_t len)
{
	if (b == NULL)
		return;
	if (zmq_send(b->push, msg, len, ZMQ_DONTWAIT) != -1)
		return;
	if (errno == EAGAIN) {
		log_debug("%s: daemon absent or slow, event dropped", __func__);
		return;
	}
	if (!b->warned) {
		log_warnx("%s: zmq_send: %s", __func__, zmq_strerror(errno));
		b->warned = 1;
	}
}

void
bus_publish_message(struct bus *b, int64_t room, int64_t id)
{
	char buf[128];
	int n;

	n = snprintf(buf, sizeof(buf),
	    "{\"type\":\"message\",\"room_id\":\"%" PRId64
	    "\",\"id\":\"%" PRId64 "\"}",
	    room, id);
	bus_event_send(b, buf, (size_t)n);
}

void
bus_publish_room(struct bus *b, int64_t room)
{
	char buf[96];
	int n;

	n = snprintf(buf, sizeof(buf),
	    "{\"type\":\"room\",\"room_id\":\"%" PRId64 "\"}", room);
	bus_event_send(b, buf, (size_t)n);
}

/* Milliseconds on the monotonic clock. */
static int64_t
bus_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Discard the remaining frames of the message being read. */
static void
bus_frames_drain(void *s)
{
	zmq_msg_t m;
	int more = 0;
	size_t sz = sizeof(more);

	while (zmq_getsockopt(s, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) == -1)
			more = 0;
		zmq_msg_close(&m);
		sz = sizeof(more);
	}
}

/* A failed receive: 0 when nothing was ready, else -1 after logging. */
static int
bus_recv_fail(const char *fn)
{
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	log_warnx("%s: zmq_msg_recv: %s", fn, zmq_strerror(errno));
	return -1;
}

/*
 * Read one message [qid, reply] from the DEALER without waiting. Returns 1
 * and a new string in "*out" when it answers query "qid", 0 for a message
 * to skip (stale qid, wrong shape, NUL inside the reply) or nothing ready,
 * -1 on a socket error.
 */
static int
bus_reply_read(void *s, uint64_t qid, char **out)
{
	zmq_msg_t id, body;
	int more = 0, rc = 0;
	size_t sz = sizeof(more), len;

	zmq_msg_init(&id);
	zmq_msg_init(&body);
	if (zmq_msg_recv(&id, s, ZMQ_DONTWAIT) == -1) {
		rc = bus_recv_fail(__func__);
		goto out;
	}
	if (zmq_getsockopt(s, ZMQ_RCVMORE, &more, &sz) == -1 || !more)
		goto out; /* a single frame: not ours */
	if (zmq_msg_recv(&body, s, ZMQ_DONTWAIT) == -1) {
		rc = bus_recv_fail(__func__);
		goto out;
	}
	bus_frames_drain(s);
	len = zmq_msg_size(&body);
	if (zmq_msg_size(&id) != sizeof(qid) ||
	    memcmp(zmq_msg_data(&id), &qid, sizeof(qid)) != 0) {
		log_debug("%s: stale or malformed reply dropped", __func__);
		goto out;
	}
	if (memchr(zmq_msg_data(&body), '\0', len) != NULL) {
		log_debug("%s: reply with a NUL byte dropped", __func__);
		goto out;
	}
	*out = xmalloc(len + 1);
	memcpy(*out, zmq_msg_data(&body), len);
	(*out)[len] = '\0';
	rc = 1;
out:
	zmq_msg_close(&id);
	zmq_msg_close(&body);
	return rc;
}

/*
 * Send [qid, req] on the DEALER without waiting, then poll for the reply
 * that carries the same qid until "timeout_ms" have passed in total,
 * skipping stale replies on the way. Returns a new NUL-terminated string,
 * or NULL: no daemon, timeout, oversized request, or socket error.
 */
char *
bus_query(struct bus *b, const char *req, size_t len, int timeout_ms)
{
	zmq_pollitem_t pi;
	int64_t deadline, left;
	char *reply = NULL;
	int r;

	if (b == NULL || len > BUS_MSG_MAX)
		return NULL;
	b->qid++;
	if (zmq_send(b->dealer, &b->qid, sizeof(b->qid),
	        ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1 ||
	    zmq_send(b->dealer, req, len, ZMQ_DONTWAIT) == -1) {
		log_debug(
		    "%s: query not sent: %s", __func__, zmq_strerror(errno));
		return NULL;
	}
	deadline = bus_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		left = deadline - bus_now_ms();
		if (left < 0)
			left = 0;
		pi.socket = b->dealer;
		pi.fd = -1;
		pi.events = ZMQ_POLLIN;
		pi.revents = 0;
		r = zmq_poll(&pi, 1, (long)left);
		if (r == -1 && errno != EINTR) {
			log_warnx(
			    "%s: zmq_poll: %s", __func__, zmq_strerror(errno));
			break;
		}
		if (r > 0) {
			r = bus_reply_read(b->dealer, b->qid, &reply);
			if (r != 0)
				break;
		} else if (left == 0)
			break;
	}
	if (reply == NULL)
		log_debug("%s: no answer within %d ms", __func__, timeout_ms);
	return reply;
}
