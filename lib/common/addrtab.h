/* SPDX-License-Identifier: ISC */
/*
 * Counts per client address: how many connections each address holds, so
 * that the push daemon can cap them. A chained hash table keyed by a
 * 16-byte address (IPv4 mapped into IPv6) with a per-table random SipHash
 * key, so that chosen addresses cannot pile into one bucket; an entry
 * lives only while its count is above zero, so memory follows the open
 * connections. No I/O.
 */
#ifndef ADDRTAB_H
#define ADDRTAB_H

#include <stddef.h>
#include <stdint.h>

#define ADDRTAB_LEN 16 /* bytes of an address */

struct addrtab_ent {
	struct addrtab_ent *next;
	uint8_t addr[ADDRTAB_LEN];
	uint32_t n; /* holders, > 0 */
};

struct addrtab {
	struct addrtab_ent **b; /* buckets, a power of two of them */
	size_t nb, n;           /* buckets, entries */
	uint8_t key[16];        /* SipHash key */
};

/* Prepare an empty "t" with a fresh random key. */
void addrtab_init(struct addrtab *t);

/* Release every entry and bucket of "t". */
void addrtab_finish(struct addrtab *t);

/*
 * Take one slot of "addr" unless it holds "max" already. Returns its
 * entry (borrowed: give it back with addrtab_put()), or NULL when full.
 */
struct addrtab_ent *addrtab_take(
    struct addrtab *t, const uint8_t addr[ADDRTAB_LEN], uint32_t max);

/* Give back one slot of "e"; the entry is freed when none is left. */
void addrtab_put(struct addrtab *t, struct addrtab_ent *e);

/*
 * Parse the text address "s" ("len" bytes, IPv4 or IPv6, surrounding
 * blanks allowed) into "addr". Returns 0, or -1 when it is no address.
 */
int addrtab_parse(const char *s, size_t len, uint8_t addr[ADDRTAB_LEN]);

#endif
