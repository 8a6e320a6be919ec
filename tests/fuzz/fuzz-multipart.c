/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for lib/chat/multipart.c, built with clang -fsanitize=fuzzer
 * (plus address,undefined). The first input line is the request
 * Content-Type (its boundary is used when valid, else "XyZ"), the next
 * byte picks the read size, and the rest is the body. Besides memory
 * safety it checks the parser's promises: balanced callbacks, the part
 * cap, NUL-free names, and that the part data and the result do not depend
 * on the read size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/multipart.h"

#define FUZZ_PARTS_MAX 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_rec {
	uint64_t hash; /* FNV-1a over events and data */
	size_t begins, ends;
	int in_part;
};

static void
fuzz_hash(struct fuzz_rec *r, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++)
		r->hash = (r->hash ^ s[i]) * 1099511628211ULL;
}

static int
fuzz_begin(void *arg, const struct multipart_part *p)
{
	struct fuzz_rec *r = arg;

	if (r->in_part || p->name == NULL || *p->name == '\0' ||
	    strlen(p->name) > MULTIPART_NAME_MAX)
		abort();
	r->in_part = 1;
	r->begins++;
	fuzz_hash(r, "B", 1);
	fuzz_hash(r, p->name, strlen(p->name) + 1);
	if (p->filename != NULL)
		fuzz_hash(r, p->filename, strlen(p->filename) + 1);
	if (p->filename_ext != NULL)
		fuzz_hash(r, p->filename_ext, strlen(p->filename_ext) + 1);
	if (p->content_type != NULL)
		fuzz_hash(r, p->content_type, strlen(p->content_type) + 1);
	return 0;
}

static int
fuzz_data(void *arg, const char *buf, size_t len)
{
	struct fuzz_rec *r = arg;

	if (!r->in_part || len == 0)
		abort();
	fuzz_hash(r, buf, len);
	return 0;
}

static int
fuzz_end(void *arg)
{
	struct fuzz_rec *r = arg;

	if (!r->in_part)
		abort();
	r->in_part = 0;
	r->ends++;
	fuzz_hash(r, "E", 1);
	return 0;
}

/* Parse "body" fed "chunk" bytes at a time; fill "r", return the result. */
static enum multipart_err
fuzz_run(const char *bnd, const char *body, size_t len, size_t chunk,
    struct fuzz_rec *r)
{
	struct multipart_cb cb = {fuzz_begin, fuzz_data, fuzz_end, r};
	struct multipart *m = multipart_new(bnd, FUZZ_PARTS_MAX, &cb);
	enum multipart_err e = MULTIPART_OK;
	size_t off, n;

	memset(r, 0, sizeof(*r));
	r->hash = 14695981039346656037ULL;
	for (off = 0; off < len && e == MULTIPART_OK; off += n) {
		n = len - off < chunk ? len - off : chunk;
		e = multipart_feed(m, body + off, n);
	}
	e = multipart_finish(m);
	if (multipart_nparts(m) > FUZZ_PARTS_MAX || r->begins > r->ends + 1 ||
	    (e == MULTIPART_OK && (r->in_part || r->begins != r->ends)))
		abort();
	multipart_free(m);
	return e;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char bnd[MULTIPART_BOUNDARY_MAX + 1] = "XyZ", *ctype;
	const uint8_t *nl = memchr(data, '\n', size);
	struct fuzz_rec a, b;
	enum multipart_err ea, eb;
	size_t clen, chunk;

	if (nl == NULL || (size_t)(nl - data) + 2 > size)
		return 0;
	clen = (size_t)(nl - data);
	ctype = malloc(clen + 1);
	memcpy(ctype, data, clen);
	ctype[clen] = '\0';
	if (multipart_boundary(ctype, bnd) == MULTIPART_OK &&
	    (strlen(bnd) == 0 || strlen(bnd) > MULTIPART_BOUNDARY_MAX))
		abort();
	free(ctype);
	chunk = 1 + nl[1] % 17;
	data = nl + 2;
	size -= clen + 2;
	ea = fuzz_run(bnd, (const char *)data, size, size > 0 ? size : 1, &a);
	eb = fuzz_run(bnd, (const char *)data, size, chunk, &b);
	if (ea != eb || a.hash != b.hash || a.begins != b.begins)
		abort();
	return 0;
}
