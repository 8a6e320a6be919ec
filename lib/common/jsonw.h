/* SPDX-License-Identifier: ISC */
/*
 * JSON text written straight into a growing buffer, for the hot responses
 * (message pages) where building a jansson tree only to serialise it cost
 * more than the query. The output is byte for byte what json_dumps() with
 * JSON_COMPACT writes for the same values; it never parses anything.
 */
#ifndef JSONW_H
#define JSONW_H

#include <stddef.h>
#include <stdint.h>

struct jsonw {
	char *s;    /* NUL-terminated once anything was added */
	size_t len; /* bytes written, without the NUL */
	size_t cap;
};

/* An empty buffer (no allocation yet). */
void jsonw_init(struct jsonw *w);
/* Release the buffer; "w" is empty again. */
void jsonw_finish(struct jsonw *w);
/* Append the "n" bytes of "s" unchanged (JSON punctuation, keys). */
void jsonw_raw_add(struct jsonw *w, const char *s, size_t n);
/* jsonw_raw_add() of the string literal "lit" (its length known). */
#define JSONW_LIT(w, lit) jsonw_raw_add((w), (lit), sizeof(lit) - 1)
/*
 * Append the "n" bytes of "s" as a JSON string, escaped as jansson does
 * (quote, backslash, \b \f \n \r \t, other controls as \u00XX, the rest
 * as is). Returns 0, or -1 with nothing appended when "s" is not UTF-8.
 */
int jsonw_string_add(struct jsonw *w, const char *s, size_t n);
/* Append "v" in decimal as a JSON string ("42"), as ids are sent. */
void jsonw_id_add(struct jsonw *w, int64_t v);
/* The text (a new string, "" when empty) and its length; "w" is emptied. */
char *jsonw_steal(struct jsonw *w, size_t *len);

#endif
