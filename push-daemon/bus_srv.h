/* SPDX-License-Identifier: ISC */
/*
 * The daemon's side of the ZeroMQ link with the workers (lib/chat/bus.c is the
 * other side): a PULL socket for event hints and a ROUTER socket for
 * presence queries, both bound and driven by the libuv loop. It parses
 * nothing but the frames' shape: events and queries go to callbacks.
 */
#ifndef PUSHD_BUS_SRV_H
#define PUSHD_BUS_SRV_H

#include <stddef.h>

#include <uv.h>

struct bus_srv;

struct bus_srv_cb {
	/* One event hint, "data" of "len" bytes (not NUL-terminated). */
	void (*event)(void *arg, const char *data, size_t len);
	/*
	 * One query; returns a new NUL-terminated reply (freed by the
	 * caller), or NULL to send no reply.
	 */
	char *(*query)(void *arg, const char *data, size_t len);
	void *arg;
};

/*
 * Bind "events" (PULL) and "query" (ROUTER), "ipc://" endpoints or paths,
 * and watch them on "loop". Returns NULL after logging.
 */
struct bus_srv *bus_srv_new(uv_loop_t *loop, const char *events,
    const char *query, const struct bus_srv_cb *cb);
/* Read whatever is pending on both sockets now (safe to call any time). */
void bus_srv_drain(struct bus_srv *b);
/* Stop watching and close; the handles finish closing in the loop. */
void bus_srv_free(struct bus_srv *b);

#endif
