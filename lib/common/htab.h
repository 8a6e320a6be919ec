/* SPDX-License-Identifier: ISC */
/*
 * One hash table for int64 keys: the push daemon's Socket.IO rooms and
 * users and the chat's online users. Chained and intrusive: the entry is
 * embedded first in its owner, so an insert allocates nothing but, now and
 * then, a doubled bucket array. The keys are ids the server gave out
 * (database row ids), never client bytes, so a fixed multiplicative hash
 * is enough; a table keyed by client input needs a keyed hash instead
 * (lib/common/addrtab). No I/O.
 */
#ifndef HTAB_H
#define HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab_ent {
	int64_t key;
	struct htab_ent *next;
};

struct htab {
	struct htab_ent **b; /* buckets, a power of two of them, or NULL */
	size_t nb, n;        /* buckets, entries */
};

/* An empty table: all zero, with no buckets until the first insert. */
#define HTAB_INIT                                                              \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* The entry of "key" in "t" (borrowed), or NULL. */
struct htab_ent *htab_get(const struct htab *t, int64_t key);

/* Insert "e" (borrowed; its key not in "t"), doubling the buckets when full. */
void htab_put(struct htab *t, struct htab_ent *e);

/* Remove "e", which is in "t". */
void htab_del(struct htab *t, struct htab_ent *e);

/*
 * Empty "t": call "fn" (when not NULL) on every entry, in no order, then
 * free the buckets. "fn" may free its entry; "t" is then as HTAB_INIT.
 */
void htab_finish(struct htab *t, void (*fn)(struct htab_ent *));

#endif
