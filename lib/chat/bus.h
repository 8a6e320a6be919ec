/* SPDX-License-Identifier: ISC */
/*
 * The workers' side of the ZeroMQ link to the push daemon: a PUSH socket
 * for event hints and a DEALER socket for presence queries. Events carry
 * ids only; SQLite is the source of truth, so a lost event may delay a push
 * but never lose or reorder a message. Nothing here ever blocks a request:
 * sends use ZMQ_DONTWAIT and ZMQ_IMMEDIATE, queries a short poll.
 * Event formats are documented in docs/architecture.md.
 *
 * Query framing: the DEALER sends [qid, payload], qid being 8 opaque bytes
 * (a per-bus counter). The daemon's ROUTER receives [identity, qid,
 * payload] and must answer [identity, qid, reply] with the qid unchanged;
 * bus_query() drops replies whose qid is not the current one (late answers
 * to queries that timed out) and replies of any other shape.
 */
#ifndef BUS_H
#define BUS_H

#include <stddef.h>
#include <stdint.h>

#define BUS_MSG_MAX 65536 /* ZMQ_MAXMSGSIZE on both sides */

struct bus;

/*
 * Connect to the daemon's "events" (PULL) and "query" (ROUTER) endpoints,
 * "ipc://..." strings or paths. Succeeds when the daemon is absent: ZeroMQ
 * connects in the background. Returns NULL after logging on a bad endpoint.
 */
struct bus *bus_new(const char *events, const char *query);
void bus_free(struct bus *b);

/* {"type":"message","room_id":"R","id":"N"}: message N committed in R. */
void bus_publish_message(struct bus *b, int64_t room, int64_t id);
/* {"type":"room","room_id":"R"}: room R created (members from SQLite). */
void bus_publish_room(struct bus *b, int64_t room);

/*
 * Send the query "req" and wait at most "timeout_ms" for its reply. Returns
 * a new NUL-terminated string, or NULL (daemon absent, slow or broken):
 * callers treat NULL as "unknown" and carry on.
 */
char *bus_query(struct bus *b, const char *req, size_t len, int timeout_ms);

#endif
