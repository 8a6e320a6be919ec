/* SPDX-License-Identifier: ISC */
/*
 * Sorted-by-construction deadline queues: an intrusive circular list per
 * duration. No allocation and no clock: callers pass "now".
 */
#include <stddef.h>

#include "sio/timeq.h"

void
timeq_init(struct timeq *q, uint64_t delay)
{
	q->head.prev = q->head.next = &q->head;
	q->head.deadline = 0;
	q->delay = delay;
}

void
timeq_del(struct timeq_ent *e)
{
	if (e->next == NULL)
		return;
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
}

int
timeq_queued(const struct timeq_ent *e)
{
	return e->next != NULL;
}

int
timeq_add(struct timeq *q, struct timeq_ent *e, uint64_t now)
{
	timeq_del(e);
	e->deadline = now + q->delay;
	e->prev = q->head.prev;
	e->next = &q->head;
	q->head.prev->next = e;
	q->head.prev = e;
	return q->head.next == e;
}

struct timeq_ent *
timeq_pop(struct timeq *q, uint64_t now)
{
	struct timeq_ent *e = q->head.next;

	if (e == &q->head || e->deadline > now)
		return NULL;
	timeq_del(e);
	return e;
}

uint64_t
timeq_next(const struct timeq *q)
{
	if (q->head.next == &q->head)
		return UINT64_MAX;
	return q->head.next->deadline;
}
