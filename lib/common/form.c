/* SPDX-License-Identifier: ISC */
/*
 * application/x-www-form-urlencoded and query-string parsing (see form.h).
 * Untrusted bytes come straight from the client here, so every length is
 * capped before anything is allocated, and nothing is logged: callers turn
 * the error code into a 422.
 */
#include <stdlib.h>
#include <string.h>

#include "common/form.h"
#include "common/pct.h"
#include "common/valid.h"
#include "common/xmalloc.h"

static const char *const form_errstr[FORM_ERR__MAX] = {
    [FORM_OK] = "Success",
    [FORM_ERR_ESCAPE] = "Invalid percent-encoding",
    [FORM_ERR_UTF8] = "Invalid UTF-8 or NUL character",
    [FORM_ERR_DUP] = "Duplicate parameter",
    [FORM_ERR_TOO_MANY] = "Too many parameters",
    [FORM_ERR_TOO_LONG] = "Parameter too long",
};

const char *
form_strerror(enum form_err e)
{
	if ((unsigned)e >= FORM_ERR__MAX)
		return "Unknown error";
	return form_errstr[e];
}

/*
 * Decode the "len" bytes at "s" ("%XX" escapes, "+" as space) into a new
 * NUL-terminated string "*out" of "*outlen" bytes, at most "max" of them,
 * valid UTF-8 without NUL. "*out" is set only on FORM_OK. Input longer
 * than 3 * "max" cannot decode to "max" bytes or fewer, so it is refused
 * before any allocation.
 */
static enum form_err
form_decode(const char *s, size_t len, size_t max, char **out, size_t *outlen)
{
	enum form_err rc = FORM_ERR_TOO_LONG;
	char *buf = NULL;
	size_t i, n = 0;
	int c;

	if (len > 3 * max)
		goto out;
	buf = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			buf[n++] = ' ';
		else if (s[i] != '%')
			buf[n++] = s[i];
		else {
			if (len - i < 3 ||
			    (c = pct_byte_decode(s + i + 1)) < 0) {
				rc = FORM_ERR_ESCAPE;
				goto out;
			}
			buf[n++] = (char)c;
			i += 2;
		}
	}
	buf[n] = '\0';
	if (n > max)
		goto out;
	if (!valid_utf8(buf, n)) {
		rc = FORM_ERR_UTF8;
		goto out;
	}
	*out = buf;
	*outlen = n;
	buf = NULL;
	rc = FORM_OK;
out:
	free(buf);
	return rc;
}

/*
 * Parse one non-empty "key[=value]" segment of "len" bytes at "s" and
 * append it to "f", which has room for it.
 */
static enum form_err
form_pair_parse(struct form *f, const char *s, size_t len)
{
	struct form_pair p = {NULL, NULL, 0};
	const char *eq;
	size_t klen, vlen, i;
	enum form_err rc;

	eq = memchr(s, '=', len);
	klen = eq != NULL ? (size_t)(eq - s) : len;
	vlen = eq != NULL ? len - klen - 1 : 0;
	if ((rc = form_decode(s, klen, FORM_KEY_MAX, &p.key, &i)) != FORM_OK)
		goto out;
	if ((rc = form_decode(eq != NULL ? eq + 1 : s + len, vlen,
	         FORM_VALUE_MAX, &p.val, &p.vallen)) != FORM_OK)
		goto out;
	for (i = 0; i < f->n; i++)
		if (strcmp(f->pairs[i].key, p.key) == 0) {
			rc = FORM_ERR_DUP;
			goto out;
		}
	f->pairs[f->n++] = p;
	p.key = p.val = NULL;
out:
	free(p.key);
	free(p.val);
	return rc;
}

enum form_err
form_parse(struct form *f, const char *s, size_t len)
{
	enum form_err rc = FORM_OK;
	size_t start, stop;

	f->pairs = xcalloc(FORM_PAIRS_MAX, sizeof(*f->pairs));
	f->n = 0;
	for (start = 0; start < len; start = stop + 1) {
		for (stop = start; stop < len && s[stop] != '&'; stop++)
			continue;
		if (stop == start)
			continue;
		if (f->n == FORM_PAIRS_MAX) {
			rc = FORM_ERR_TOO_MANY;
			break;
		}
		rc = form_pair_parse(f, s + start, stop - start);
		if (rc != FORM_OK)
			break;
	}
	if (rc != FORM_OK)
		form_finish(f);
	return rc;
}

const char *
form_get(const struct form *f, const char *key)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->pairs[i].key, key) == 0)
			return f->pairs[i].val;
	return NULL;
}

void
form_finish(struct form *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->pairs[i].key);
		free(f->pairs[i].val);
	}
	free(f->pairs);
	f->pairs = NULL;
	f->n = 0;
}
