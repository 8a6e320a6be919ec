/* SPDX-License-Identifier: ISC */
/*
 * WebSocket connections of the push daemon.
 *
 * Not on wslay (INSTALL says why): its per-connection context is far over
 * an idle connection's memory budget, and it copies every outgoing message
 * into each connection's queue. Our server frames are unmasked, hence
 * byte-identical for every receiver: ws_frame_new() builds one and each
 * connection queues a reference. The framing itself (lib/sio/ws_codec.c) is a
 * small state machine with the complete RFC 6455 validation, unit-tested
 * and fuzzed.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "sio/http.h"
#include "sio/ws.h"
#include "sio/ws_codec.h"

struct http_buf *
ws_frame_new(
    int op, const void *prefix, size_t plen, const void *data, size_t len)
{
	uint8_t hdr[WS_HDR_MAX];
	size_t hl = ws_frame_header(hdr, op, plen + len);
	struct http_buf *b = http_buf_new(hl + plen + len);

	memcpy(b->data, hdr, hl);
	if (plen > 0)
		memcpy(b->data + hl, prefix, plen);
	if (len > 0)
		memcpy(b->data + hl + plen, data, len);
	b->hdr = (uint8_t)hl;
	return b;
}

void
ws_conn_close(struct http_conn *c, int code)
{
	uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};
	struct http_buf *b;

	if (c->state != HTTP_CONN_WS)
		return;
	b = ws_frame_new(WS_OP_CLOSE, payload, sizeof(payload), NULL, 0);
	http_conn_send(c, b, 0);
	http_buf_unref(b);
	http_conn_close_after(c);
}

int
ws_conn_accept(
    struct http_conn *c, const struct http_req *req, uint64_t max_msg)
{
	static const char fmt[] = "HTTP/1.1 101 Switching Protocols\r\n"
	                          "Upgrade: websocket\r\n"
	                          "Connection: Upgrade\r\n"
	                          "Sec-WebSocket-Accept: %s\r\n\r\n";
	char accept[WS_ACCEPT_LEN + 1];
	struct http_buf *b;
	int status;

	c->keep_alive = 0;
	if ((status = http_req_ws_check(req, accept)) != 0) {
		http_conn_respond(c, status,
		    status == 426 ? "Sec-WebSocket-Version: 13\r\n" : NULL,
		    NULL, NULL, 0);
		return -1;
	}
	b = http_buf_new(sizeof(fmt) + WS_ACCEPT_LEN);
	b->len = (uint32_t)snprintf((char *)b->data, b->len, fmt, accept);
	http_conn_send(c, b, 0);
	http_buf_unref(b);
	ws_parser_init(&c->ws, max_msg);
	c->ws_tat = 0;
	c->state = HTTP_CONN_WS;
	return 0;
}

/* 1 while "c" still takes input: upgraded and not closing. */
static int
ws_conn_alive(const struct http_conn *c)
{
	return c->state == HTTP_CONN_WS && !c->close_after;
}

/* Parser callback: a piece of a data message. */
static int
ws_on_data(void *arg, int op, uint8_t *p, size_t len, int first, int last)
{
	struct http_conn *c = arg;
	struct http_srv *srv = c->srv;

	if (first && last) { /* whole message in this read: no copy */
		srv->cbs.message(srv->arg, c, op == WS_OP_BINARY, p, len);
		return ws_conn_alive(c) ? 0 : -1;
	}
	if (len > 0) {
		c->msg = xrealloc(c->msg, c->msg_len + len);
		memcpy(c->msg + c->msg_len, p, len);
		c->msg_len += (uint32_t)len;
	}
	if (last) {
		uint8_t *m = c->msg;
		size_t n = c->msg_len;

		c->msg = NULL;
		c->msg_len = 0;
		srv->cbs.message(srv->arg, c, op == WS_OP_BINARY, m, n);
		free(m);
	}
	return ws_conn_alive(c) ? 0 : -1;
}

/* Parser callback: ping, pong or a valid close. */
static int
ws_on_control(void *arg, int op, uint8_t *p, size_t len)
{
	struct http_conn *c = arg;
	struct http_buf *b;

	switch (op) {
	case WS_OP_PING:
		b = ws_frame_new(WS_OP_PONG, p, len, NULL, 0);
		http_conn_send(c, b, 0);
		http_buf_unref(b);
		break;
	case WS_OP_CLOSE:
		ws_conn_close(c, len >= 2 ? p[0] << 8 | p[1] : WS_CLOSE_NORMAL);
		return -1;
	default:
		break; /* unsolicited pong */
	}
	return ws_conn_alive(c) ? 0 : -1;
}

/*
 * Parser callback: a frame begins. Every frame, control frames and
 * fragments included, spends the connection's budget, a generic cell
 * rate algorithm (the token bucket of msg_rate in one double): a burst of
 * frame_burst frames, then frame_rate per second. A client over it is
 * closed with 1008 before the frame is looked at, so that a flood of tiny
 * frames costs the loop a few instructions each.
 */
static int
ws_on_frame(void *arg, int op)
{
	struct http_conn *c = arg;
	struct http_srv *srv = c->srv;
	double now = (double)uv_now(srv->loop);
	double step = 1000.0 / srv->lim.frame_rate;
	uint64_t n;

	(void)op;
	if (c->ws_tat < now)
		c->ws_tat = now;
	if (c->ws_tat - now <= step * (double)(srv->lim.frame_burst - 1)) {
		c->ws_tat += step;
		return 0;
	}
	if (http_srv_log_due(srv, HTTP_LOG_FLOOD, &n))
		log_warnx("%s: %llu WebSocket connection(s) closed over "
		          "ws_frame_rate",
		    __func__, (unsigned long long)n);
	ws_conn_close(c, WS_CLOSE_POLICY);
	return -1;
}

static const struct ws_parser_cb ws_cb = {
    ws_on_data, ws_on_control, ws_on_frame};

void
ws_conn_input(struct http_conn *c, uint8_t *buf, size_t len)
{
	size_t used = 0;
	int rc;

	if (!ws_conn_alive(c))
		return; /* closing: the rest is ignored */
	rc = ws_parser_run(&c->ws, buf, len, &used, &ws_cb, c);
	if (rc > 0) {
		log_debug("%s: protocol error, closing with %d", __func__, rc);
		ws_conn_close(c, rc);
		return;
	}
	if (rc < 0 || !ws_conn_alive(c) || used == len)
		return;
	c->tail_len = (uint32_t)(len - used);
	c->tail = xmalloc(c->tail_len);
	memcpy(c->tail, buf + used, c->tail_len);
}
