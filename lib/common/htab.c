/* SPDX-License-Identifier: ISC */
/*
 * The int64-keyed intrusive hash table of lib/common/htab.h: Fibonacci hashing
 * (the key times 2^64 / phi, the high bits folded down) into a power of
 * two of buckets, doubled when there are as many entries as buckets, so
 * chains stay short; the table never shrinks. Pure: no I/O.
 */
#include <stdlib.h>

#include "common/htab.h"
#include "common/xmalloc.h"

#define HTAB_FIRST 64 /* buckets of the first array */

/* Bucket of "key" among "nb" (a power of two). */
static size_t
htab_slot(int64_t key, size_t nb)
{
	uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ull;

	return (size_t)(h ^ h >> 29) & (nb - 1);
}

struct htab_ent *
htab_get(const struct htab *t, int64_t key)
{
	struct htab_ent *e;

	if (t->nb == 0)
		return NULL;
	for (e = t->b[htab_slot(key, t->nb)]; e != NULL; e = e->next)
		if (e->key == key)
			return e;
	return NULL;
}

void
htab_put(struct htab *t, struct htab_ent *e)
{
	struct htab_ent **nb, *p, *next;
	size_t i, slot, n;

	if (t->n >= t->nb) {
		n = t->nb == 0 ? HTAB_FIRST : t->nb * 2;
		nb = xcalloc(n, sizeof(*nb));
		for (i = 0; i < t->nb; i++)
			for (p = t->b[i]; p != NULL; p = next) {
				next = p->next;
				slot = htab_slot(p->key, n);
				p->next = nb[slot];
				nb[slot] = p;
			}
		free(t->b);
		t->b = nb;
		t->nb = n;
	}
	slot = htab_slot(e->key, t->nb);
	e->next = t->b[slot];
	t->b[slot] = e;
	t->n++;
}

void
htab_del(struct htab *t, struct htab_ent *e)
{
	struct htab_ent **pp = &t->b[htab_slot(e->key, t->nb)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			t->n--;
			return;
		}
}

void
htab_finish(struct htab *t, void (*fn)(struct htab_ent *))
{
	struct htab_ent *e, *next;
	size_t i;

	if (fn != NULL)
		for (i = 0; i < t->nb; i++)
			for (e = t->b[i]; e != NULL; e = next) {
				next = e->next;
				fn(e);
			}
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}
