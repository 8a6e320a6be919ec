/* SPDX-License-Identifier: ISC */
/*
 * Parser for application/x-www-form-urlencoded bodies and URL query
 * strings: "&"-separated "key=value" pairs, percent-decoding and "+" as a
 * space. It checks bounds and encodings and nothing else: it never
 * interprets a value, and every decoded key and value is valid UTF-8
 * without NUL, so callers may use them as C strings.
 */
#ifndef FORM_H
#define FORM_H

#include <stddef.h>

#define FORM_PAIRS_MAX 64   /* pairs in one form or query string */
#define FORM_KEY_MAX   128  /* bytes of one key, after decoding */
#define FORM_VALUE_MAX 4096 /* bytes of one value, after decoding */

enum form_err {
	FORM_OK = 0,
	FORM_ERR_ESCAPE,   /* "%" not followed by two hex digits */
	FORM_ERR_UTF8,     /* decoded key or value not UTF-8, or has NUL */
	FORM_ERR_DUP,      /* the same key twice */
	FORM_ERR_TOO_MANY, /* more than FORM_PAIRS_MAX pairs */
	FORM_ERR_TOO_LONG, /* a key or value over its cap */
	FORM_ERR__MAX
};

struct form_pair {
	char *key; /* decoded, NUL-terminated */
	char *val; /* decoded, NUL-terminated; "" for "key" or "key=" */
	size_t vallen;
};

struct form {
	struct form_pair *pairs;
	size_t n;
};

/*
 * Parse the "len" bytes at "s" into "f". Empty segments ("a=1&&b=2", a
 * leading or trailing "&") are skipped; a segment without "=" is a key
 * with an empty value. A key given twice is an error (FORM_ERR_DUP), so
 * that no two layers can disagree on which one counts. On any error "f"
 * is left empty; either way release it with form_finish().
 */
enum form_err form_parse(struct form *f, const char *s, size_t len);

/* The decoded value of "key" (borrowed from "f"), or NULL when absent. */
const char *form_get(const struct form *f, const char *key);

/* Release what form_parse() stored in "f" and leave it empty. */
void form_finish(struct form *f);

/* A short English description of "e", fit for a 422 detail message. */
const char *form_strerror(enum form_err e);

#endif
