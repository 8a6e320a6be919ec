/* SPDX-License-Identifier: ISC */
/*
 * The JSON text writer of jsonw.h: appends escaped strings and raw
 * punctuation to one heap buffer that doubles as it grows, so a page of
 * fifty messages costs a handful of allocations. It must stay equal to
 * jansson's compact output; tests/unit/common/test-jsonw.c compares the two.
 */
#include <stdlib.h>
#include <string.h>

#include "common/jsonw.h"
#include "common/utf8.h"
#include "common/xmalloc.h"

void
jsonw_init(struct jsonw *w)
{
	w->s = NULL;
	w->len = 0;
	w->cap = 0;
}

void
jsonw_finish(struct jsonw *w)
{
	free(w->s);
	jsonw_init(w);
}

/* Make room for "n" more bytes and the NUL. */
static void
jsonw_reserve(struct jsonw *w, size_t n)
{
	size_t need = w->len + n + 1;

	if (need <= w->cap)
		return;
	if (w->cap == 0)
		w->cap = 1024;
	while (w->cap < need)
		w->cap *= 2;
	w->s = xrealloc(w->s, w->cap);
}

void
jsonw_raw_add(struct jsonw *w, const char *s, size_t n)
{
	jsonw_reserve(w, n);
	memcpy(w->s + w->len, s, n);
	w->len += n;
	w->s[w->len] = '\0';
}

int
jsonw_string_add(struct jsonw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	size_t i;
	char *o;

	if (utf8_feed(UTF8_ACCEPT, p, n) != UTF8_ACCEPT)
		return -1;
	/* At worst six bytes out per byte in (\u00XX), plus the quotes. */
	jsonw_reserve(w, 6 * n + 2);
	o = w->s + w->len;
	*o++ = '"';
	for (i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') {
			*o++ = (char)p[i];
			continue;
		}
		*o++ = '\\';
		switch (p[i]) {
		case '"':
		case '\\':
			*o++ = (char)p[i];
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[p[i] >> 4];
			o[4] = hex[p[i] & 0xf];
			o += 5;
			break;
		}
	}
	*o++ = '"';
	*o = '\0';
	w->len = (size_t)(o - w->s);
	return 0;
}

/* Digits by hand: snprintf() was a tenth of a message page's cost. */
void
jsonw_id_add(struct jsonw *w, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	*--p = '"';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		*--p = '-';
	*--p = '"';
	jsonw_raw_add(w, p, (size_t)(buf + sizeof(buf) - p));
}

char *
jsonw_steal(struct jsonw *w, size_t *len)
{
	char *s = w->s != NULL ? w->s : xstrdup("");

	*len = w->len;
	jsonw_init(w);
	return s;
}
