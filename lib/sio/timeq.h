/* SPDX-License-Identifier: ISC */
/*
 * Deadline queues for timeouts that share one duration (ping interval,
 * ping timeout, handshake timeout): entries are appended in time order,
 * so the queue stays sorted and each operation is O(1). One event loop
 * timer per queue replaces one timer per connection (about 150 bytes
 * each in libuv). Pure: the caller supplies the clock and the timer.
 */
#ifndef TIMEQ_H
#define TIMEQ_H

#include <stdint.h>

/* An entry, embedded in the object it times; zero-filled means unqueued. */
struct timeq_ent {
	struct timeq_ent *prev, *next;
	uint64_t deadline;
};

struct timeq {
	struct timeq_ent head; /* sentinel of a circular list */
	uint64_t delay;        /* duration every entry gets */
};

/* Prepare "q" whose entries expire "delay" after they are added. */
void timeq_init(struct timeq *q, uint64_t delay);

/*
 * Queue "e" (removing it first from any queue it is in) to expire at
 * "now" plus the queue's delay. Returns 1 when "e" is now the first entry
 * (the caller arms its timer), else 0.
 */
int timeq_add(struct timeq *q, struct timeq_ent *e, uint64_t now);

/* Remove "e" from its queue, if any. */
void timeq_del(struct timeq_ent *e);

/* 1 when "e" is in a queue. */
int timeq_queued(const struct timeq_ent *e);

/* The first entry expired at "now" (removed from "q"), or NULL. */
struct timeq_ent *timeq_pop(struct timeq *q, uint64_t now);

/* The deadline of the first entry, or UINT64_MAX for an empty queue. */
uint64_t timeq_next(const struct timeq *q);

#endif
