/* SPDX-License-Identifier: ISC */
/*
 * The per-address counts of addrtab.h. The table doubles when it holds
 * more entries than buckets and never shrinks below its first size; an
 * entry is unlinked as soon as its count drops to zero, so a table that
 * once counted many addresses only keeps its bucket array.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/addrtab.h"
#include "common/xmalloc.h"

#define ADDRTAB_MIN 64 /* buckets of a new table */

void
addrtab_init(struct addrtab *t)
{
	t->nb = ADDRTAB_MIN;
	t->n = 0;
	t->b = xcalloc(t->nb, sizeof(*t->b));
	randombytes_buf(t->key, sizeof(t->key));
}

void
addrtab_finish(struct addrtab *t)
{
	struct addrtab_ent *e, *next;
	size_t i;

	for (i = 0; i < t->nb; i++)
		for (e = t->b[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}

/* The bucket of "addr" in "t". */
static size_t
addrtab_bucket(const struct addrtab *t, const uint8_t addr[ADDRTAB_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, addr, ADDRTAB_LEN, t->key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (t->nb - 1));
}

/* Double the buckets of "t" and rehash its entries. */
static void
addrtab_grow(struct addrtab *t)
{
	struct addrtab_ent **old = t->b, *e, *next;
	size_t onb = t->nb, i, j;

	t->nb *= 2;
	t->b = xcalloc(t->nb, sizeof(*t->b));
	for (i = 0; i < onb; i++)
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			j = addrtab_bucket(t, e->addr);
			e->next = t->b[j];
			t->b[j] = e;
		}
	free(old);
}

struct addrtab_ent *
addrtab_take(struct addrtab *t, const uint8_t addr[ADDRTAB_LEN], uint32_t max)
{
	struct addrtab_ent *e;
	size_t i = addrtab_bucket(t, addr);

	for (e = t->b[i]; e != NULL; e = e->next)
		if (memcmp(e->addr, addr, ADDRTAB_LEN) == 0)
			break;
	if (e != NULL) {
		if (e->n >= max)
			return NULL;
		e->n++;
		return e;
	}
	if (max == 0)
		return NULL;
	if (t->n >= t->nb) {
		addrtab_grow(t);
		i = addrtab_bucket(t, addr);
	}
	e = xmalloc(sizeof(*e));
	memcpy(e->addr, addr, ADDRTAB_LEN);
	e->n = 1;
	e->next = t->b[i];
	t->b[i] = e;
	t->n++;
	return e;
}

void
addrtab_put(struct addrtab *t, struct addrtab_ent *e)
{
	struct addrtab_ent **pp;

	if (--e->n > 0)
		return;
	for (pp = &t->b[addrtab_bucket(t, e->addr)]; *pp != e;
	     pp = &(*pp)->next)
		;
	*pp = e->next;
	t->n--;
	free(e);
}

int
addrtab_parse(const char *s, size_t len, uint8_t addr[ADDRTAB_LEN])
{
	char buf[INET6_ADDRSTRLEN];
	struct in_addr a4;

	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &a4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, buf, addr) == 1 ? 0 : -1;
}
