/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/chat/multipart.c: the boundary parameter, every broken body
 * shape of docs/testing.md 4.2 item 3, filename* decoding, the caps, and part
 * data that must come out byte for byte whatever the read sizes (each body
 * is fed whole, then 1, 2, 3, 5, 13 and 64 bytes at a time).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/multipart.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "unit.h"

/* What the callbacks saw, as one string independent of the read sizes. */
struct rec {
	char *log;
	size_t len;
	size_t data_seen;   /* bytes passed to part_data */
	size_t abort_after; /* part_data fails past this many bytes, 0: never */
	int in_part;
};

static void
rec_add(struct rec *r, const char *s, size_t n)
{
	r->log = xrealloc(r->log, r->len + n + 1);
	memcpy(r->log + r->len, s, n);
	r->len += n;
	r->log[r->len] = '\0';
}

static int
rec_begin(void *arg, const struct multipart_part *p)
{
	struct rec *r = arg;
	char *s;

	ck_assert(!r->in_part);
	ck_assert_ptr_nonnull(p->name);
	s = xasprintf("[%s|%s|%s|%s]", p->name,
	    p->filename != NULL ? p->filename : "-",
	    p->filename_ext != NULL ? p->filename_ext : "-",
	    p->content_type != NULL ? p->content_type : "-");
	rec_add(r, s, strlen(s));
	free(s);
	r->in_part = 1;
	return 0;
}

static int
rec_data(void *arg, const char *buf, size_t len)
{
	struct rec *r = arg;

	ck_assert(r->in_part);
	ck_assert_uint_gt(len, 0);
	r->data_seen += len;
	if (r->abort_after > 0 && r->data_seen > r->abort_after)
		return -1;
	rec_add(r, buf, len);
	return 0;
}

static int
rec_end(void *arg)
{
	struct rec *r = arg;

	ck_assert(r->in_part);
	r->in_part = 0;
	rec_add(r, "[end]", 5);
	return 0;
}

/* Parse "len" bytes of "body" fed "chunk" bytes at a time. */
static enum multipart_err
run(const char *body, size_t len, const char *bnd, size_t parts_max,
    size_t chunk, struct rec *r)
{
	struct multipart_cb cb = {rec_begin, rec_data, rec_end, r};
	struct multipart *m = multipart_new(bnd, parts_max, &cb);
	enum multipart_err e = MULTIPART_OK, e2;
	size_t off, n;

	for (off = 0; off < len && e == MULTIPART_OK; off += n) {
		n = len - off < chunk ? len - off : chunk;
		e = multipart_feed(m, body + off, n);
	}
	e2 = multipart_finish(m);
	if (e != MULTIPART_OK)
		ck_assert_int_eq(e2, e); /* sticky */
	/* Still sticky afterwards, and no callback runs. */
	ck_assert_int_eq(multipart_feed(m, "\r\n--", 4), e2);
	multipart_free(m);
	return e2;
}

/*
 * Parse "body" with every read size and check that all give "want" and,
 * when "log" is not NULL, exactly that callback log.
 */
static void
expect_len(const char *body, size_t len, const char *bnd, size_t parts_max,
    enum multipart_err want, const char *log, size_t loglen)
{
	static const size_t chunks[] = {0, 1, 2, 3, 5, 13, 64};
	struct rec r;
	size_t i;
	enum multipart_err e;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		memset(&r, 0, sizeof(r));
		e = run(
		    body, len, bnd, parts_max, chunks[i] ? chunks[i] : len, &r);
		ck_assert_msg(e == want, "chunk %zu: got %d (%s), want %d",
		    chunks[i], (int)e, multipart_strerror(e), (int)want);
		if (log != NULL) {
			ck_assert_uint_eq(r.len, loglen);
			ck_assert(
			    r.len == 0 || memcmp(r.log, log, loglen) == 0);
		}
		free(r.log);
	}
}

static void
expect(const char *body, enum multipart_err want, const char *log)
{
	expect_len(body, strlen(body), "XyZ", 16, want, log,
	    log != NULL ? strlen(log) : 0);
}

#define CD   "Content-Disposition: form-data; name="
#define PART "--XyZ\r\n" CD "\"file\"; filename=\"a.png\"\r\n\r\n"

START_TEST(test_boundary)
{
	static const struct {
		const char *ctype, *want;
		enum multipart_err e;
	} t[] = {
	    {"multipart/form-data; boundary=abc", "abc", MULTIPART_OK},
	    {"Multipart/Form-Data;boundary=abc", "abc", MULTIPART_OK},
	    {"  multipart/form-data ; charset=utf-8; BOUNDARY = abc ", "abc",
	        MULTIPART_OK},
	    {"multipart/form-data; boundary=\"a b:c?\"", "a b:c?",
	        MULTIPART_OK},
	    {"multipart/form-data; boundary=\"a\\-b\"", "a-b", MULTIPART_OK},
	    {"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk",
	        "----WebKitFormBoundary7MA4YWxk", MULTIPART_OK},
	    {"multipart/form-data; boundary=abc;", "abc", MULTIPART_OK},
	    {"multipart/form-data; boundary="
	     "1234567890123456789012345678901234567890123456789012345678901234"
	     "567890",
	        "12345678901234567890123456789012345678901234567890123456789012"
	        "34"
	        "567890",
	        MULTIPART_OK},
	    {NULL, NULL, MULTIPART_ERR_CTYPE},
	    {"", NULL, MULTIPART_ERR_CTYPE},
	    {"application/json", NULL, MULTIPART_ERR_CTYPE},
	    {"multipart/mixed; boundary=abc", NULL, MULTIPART_ERR_CTYPE},
	    {"multipart/form-datax; boundary=abc", NULL, MULTIPART_ERR_CTYPE},
	    {"multipart/form-data", NULL, MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data; charset=utf-8", NULL,
	        MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data; boundary=", NULL, MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data; boundary=\"\"", NULL,
	        MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data; boundary="
	     "1234567890123456789012345678901234567890123456789012345678901234"
	     "5678901",
	        NULL, MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data; boundary=a b", NULL, MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data; boundary=\"ab \"", NULL,
	        MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data; boundary=\"a@b\"", NULL,
	        MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data; boundary=\"a\\\"b\"", NULL,
	        MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data; boundary=\"abc", NULL,
	        MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data; boundary=\"a\rb\"", NULL,
	        MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data; boundary=a; boundary=b", NULL,
	        MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data; boundary=a; =b", NULL,
	        MULTIPART_ERR_BOUNDARY},
	    {"multipart/form-data boundary=a", NULL, MULTIPART_ERR_BOUNDARY},
	};
	char out[MULTIPART_BOUNDARY_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		strcpy(out, "untouched");
		ck_assert_msg(multipart_boundary(t[i].ctype, out) == t[i].e,
		    "case %zu", i);
		ck_assert_str_eq(out, t[i].want ? t[i].want : "untouched");
	}
}
END_TEST

START_TEST(test_simple)
{
	expect(PART "hello\r\n--XyZ--\r\n", MULTIPART_OK,
	    "[file|a.png|-|-]hello[end]");
	/* Two parts, a part Content-Type, padding after a delimiter. */
	expect("--XyZ \t\r\n" CD "\"a\"\r\n\r\n1\r\n--XyZ\r\n" CD
	       "\"b\"\r\nContent-Type: Text/Plain; charset=\"utf-8\"\r\n\r\n"
	       "\r\n--XyZ--",
	    MULTIPART_OK, "[a|-|-|-]1[end][b|-|-|text/plain][end]");
	/* Header names are case-insensitive; blanks around values. */
	expect("--XyZ\r\ncontent-disposition:form-data;name=x ;filename=y\r\n"
	       "X-Other: 1\r\n\r\nv\r\n--XyZ--",
	    MULTIPART_OK, "[x|y|-|-]v[end]");
	/* Zero parts is a valid body; the caller finds no "file". */
	expect("--XyZ--\r\n", MULTIPART_OK, "");
	/* Accepted transfer encodings. */
	expect("--XyZ\r\n" CD "\"f\"\r\nContent-Transfer-Encoding: 8BIT\r\n"
	       "\r\nv\r\n--XyZ--",
	    MULTIPART_OK, "[f|-|-|-]v[end]");
	expect("--XyZ\r\n" CD "\"f\"\r\nContent-Transfer-Encoding: binary\r\n"
	       "\r\nv\r\n--XyZ--",
	    MULTIPART_OK, "[f|-|-|-]v[end]");
}
END_TEST

START_TEST(test_preamble_epilogue)
{
	expect("This is the preamble.\r\nIt has --XyZ-ish lines\r\n--XyZ\r\n" CD
	       "\"f\"\r\n\r\ndata\r\n--XyZ--\r\nepilogue\r\n--XyZ\r\n"
	       "garbage \x01\xff\n\n",
	    MULTIPART_OK, "[f|-|-|-]data[end]");
	/* A preamble ending in CR CR LF. */
	expect("pre\r\r\n--XyZ\r\n" CD "\"f\"\r\n\r\nd\r\n--XyZ--",
	    MULTIPART_OK, "[f|-|-|-]d[end]");
}
END_TEST

START_TEST(test_boundary_in_data)
{
	/* Boundary text not at a line start, and partial delimiters. */
	expect(PART "--XyZ x--XyZ\r\n--Xy\r\n--X\r\r\n-\r\n--xyz\r\n"
	            "\r\n\r\n--XyZ--",
	    MULTIPART_OK,
	    "[file|a.png|-|-]--XyZ x--XyZ\r\n--Xy\r\n--X\r\r\n-\r\n--xyz\r\n"
	    "\r\n[end]");
	/* A partial delimiter at the very end of the data. */
	expect(PART "a\r\n--X\r\n--XyZ--", MULTIPART_OK,
	    "[file|a.png|-|-]a\r\n--X[end]");
	/* CR at the end of the data, empty data. */
	expect(PART "\r\r\n--XyZ\r\n" CD "\"e\"\r\n\r\n\r\n--XyZ--",
	    MULTIPART_OK, "[file|a.png|-|-]\r[end][e|-|-|-][end]");
	/* NUL and high bytes are data. */
	expect_len(PART "\0\xff\0\r\n--XyZ--", sizeof(PART) - 1 + 12, "XyZ", 16,
	    MULTIPART_OK, "[file|a.png|-|-]\0\xff\0[end]", 16 + 3 + 5);
	/* The delimiter followed by anything but "--", blanks or CRLF. */
	expect(PART "a\r\n--XyZx\r\n--XyZ--", MULTIPART_ERR_DELIMITER, NULL);
	expect(PART "a\r\n--XyZ-x", MULTIPART_ERR_DELIMITER, NULL);
	expect(PART "a\r\n--XyZ \tx", MULTIPART_ERR_DELIMITER, NULL);
	expect(PART "a\r\n--XyZ\rx", MULTIPART_ERR_DELIMITER, NULL);
	expect(PART "a\r\n--XyZ --", MULTIPART_ERR_DELIMITER, NULL);
}
END_TEST

/*
 * Random part data over a small alphabet rich in delimiter prefixes,
 * random read sizes: the data must come out unchanged.
 */
START_TEST(test_random_data)
{
	static const char abc[] = "\r\n-XyZ\r\r\n--a";
	struct multipart_cb cb;
	struct multipart *m;
	struct rec r;
	char data[600], *body, *want;
	size_t n, len, off, k;
	int round;

	srand(7);
	for (round = 0; round < 300; round++) {
		n = (size_t)rand() % sizeof(data);
		for (k = 0; k < n; k++)
			data[k] = abc[rand() % (int)(sizeof(abc) - 1)];
		if (memmem(data, n, "\r\n--XyZ", 7) != NULL)
			continue;
		body = xmalloc(n + 128);
		len =
		    (size_t)snprintf(body, 128, "--XyZ\r\n%s\"f\"\r\n\r\n", CD);
		memcpy(body + len, data, n);
		len += n;
		memcpy(body + len, "\r\n--XyZ--", 9);
		len += 9;
		memset(&r, 0, sizeof(r));
		cb = (struct multipart_cb){rec_begin, rec_data, rec_end, &r};
		m = multipart_new("XyZ", 1, &cb);
		for (off = 0; off < len; off += k) {
			k = 1 + (size_t)rand() % 9;
			if (k > len - off)
				k = len - off;
			ck_assert_int_eq(
			    multipart_feed(m, body + off, k), MULTIPART_OK);
		}
		ck_assert_int_eq(multipart_finish(m), MULTIPART_OK);
		want = xmalloc(n + 32);
		memcpy(want, "[f|-|-|-]", 9);
		memcpy(want + 9, data, n);
		memcpy(want + 9 + n, "[end]", 5);
		ck_assert_uint_eq(r.len, n + 14);
		ck_assert(memcmp(r.log, want, n + 14) == 0);
		free(want);
		free(r.log);
		free(body);
		multipart_free(m);
	}
}
END_TEST

START_TEST(test_lf_only)
{
	expect("--XyZ\n" CD "\"f\"\n\ndata\n--XyZ--\n", MULTIPART_ERR_LF, NULL);
	expect("preamble\n--XyZ\n" CD "\"f\"\n\ndata\n--XyZ--\n",
	    MULTIPART_ERR_LF, NULL);
	expect("\n--XyZ\r\n" CD "\"f\"\r\n\r\nd\r\n--XyZ--", MULTIPART_ERR_LF,
	    NULL);
	/* A header line ending in LF inside a CRLF body. */
	expect(
	    "--XyZ\r\n" CD "\"f\"\n\r\nd\r\n--XyZ--", MULTIPART_ERR_LF, NULL);
	/* Bare CR in a header. */
	expect("--XyZ\r\n" CD "\"f\"\rX: y\r\n\r\nd\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
}
END_TEST

START_TEST(test_truncated)
{
	expect("", MULTIPART_ERR_TRUNCATED, "");
	expect("no delimiter at all", MULTIPART_ERR_TRUNCATED, "");
	expect("--XyZ", MULTIPART_ERR_TRUNCATED, "");
	expect("--XyZ\r\n" CD "\"f\"\r\n", MULTIPART_ERR_TRUNCATED, "");
	expect(PART "data", MULTIPART_ERR_TRUNCATED, "[file|a.png|-|-]data");
	expect(PART "data\r\n--XyZ", MULTIPART_ERR_TRUNCATED,
	    "[file|a.png|-|-]data[end]");
	expect(PART "data\r\n--XyZ-", MULTIPART_ERR_TRUNCATED,
	    "[file|a.png|-|-]data[end]");
	expect(PART "data\r\n--XyZ\r\n", MULTIPART_ERR_TRUNCATED,
	    "[file|a.png|-|-]data[end]");
}
END_TEST

START_TEST(test_headers)
{
	/* No Content-Disposition, or not form-data, or no name. */
	expect("--XyZ\r\nContent-Type: image/png\r\n\r\nd\r\n--XyZ--",
	    MULTIPART_ERR_DISPOSITION, NULL);
	expect("--XyZ\r\n\r\nd\r\n--XyZ--", MULTIPART_ERR_DISPOSITION, NULL);
	expect("--XyZ\r\nContent-Disposition: attachment; name=\"f\"\r\n\r\n"
	       "d\r\n--XyZ--",
	    MULTIPART_ERR_DISPOSITION, NULL);
	expect("--XyZ\r\nContent-Disposition: form-data; filename=\"a\"\r\n"
	       "\r\nd\r\n--XyZ--",
	    MULTIPART_ERR_DISPOSITION, NULL);
	expect("--XyZ\r\n" CD "\"\"\r\n\r\nd\r\n--XyZ--",
	    MULTIPART_ERR_DISPOSITION, NULL);
	/* Ambiguity: a parameter or a header given twice. */
	expect("--XyZ\r\n" CD "\"a\"; name=\"b\"\r\n\r\nd\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	expect("--XyZ\r\n" CD "\"a\"; filename=x; filename=y\r\n\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	expect("--XyZ\r\n" CD "\"a\"\r\n" CD "\"b\"\r\n\r\nd\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	expect("--XyZ\r\n" CD "\"a\"\r\nContent-Type: a/b\r\n"
	       "Content-Type: c/d\r\n\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	/* Malformed lines and values. */
	expect("--XyZ\r\n" CD "\"a\r\n\r\nd\r\n--XyZ--", MULTIPART_ERR_HEADER,
	    NULL);
	expect("--XyZ\r\n" CD "\"a\"\r\nno colon\r\n\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	expect("--XyZ\r\n" CD "\"a\"\r\nBad Name: x\r\n\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	expect("--XyZ\r\n" CD "\"a\"\r\n folded\r\n\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	expect("--XyZ\r\n" CD "\"a\" junk\r\n\r\n--XyZ--", MULTIPART_ERR_HEADER,
	    NULL);
	expect("--XyZ\r\n" CD "\"a\"\r\nContent-Type: nothing\r\n\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	expect("--XyZ\r\n" CD "\"a\x01\"\r\n\r\n--XyZ--", MULTIPART_ERR_HEADER,
	    NULL);
	expect_len("--XyZ\r\n" CD "\"a\0\"\r\n\r\n--XyZ--",
	    sizeof("--XyZ\r\n" CD "\"a\0\"\r\n\r\n--XyZ--") - 1, "XyZ", 16,
	    MULTIPART_ERR_HEADER, NULL, 0);
	/* Encodings other than the identity ones. */
	expect("--XyZ\r\n" CD "\"f\"\r\nContent-Transfer-Encoding: base64\r\n"
	       "\r\naGVsbG8=\r\n--XyZ--",
	    MULTIPART_ERR_ENCODING, NULL);
	expect("--XyZ\r\n" CD "\"f\"\r\nContent-Transfer-Encoding: "
	       "quoted-printable\r\n\r\nx\r\n--XyZ--",
	    MULTIPART_ERR_ENCODING, NULL);
	/* Nested multipart is refused, not parsed or passed through. */
	expect("--XyZ\r\n" CD "\"f\"\r\nContent-Type: multipart/mixed; "
	       "boundary=in\r\n\r\n--in\r\nContent-Disposition: file; "
	       "filename=\"a.png\"\r\n\r\nx\r\n--in--\r\n--XyZ--",
	    MULTIPART_ERR_NESTED, NULL);
	/* A lying part Content-Type is reported as sent, never judged. */
	expect(PART "<html><script>alert(1)</script>\r\n--XyZ--", MULTIPART_OK,
	    "[file|a.png|-|-]<html><script>alert(1)</script>[end]");
	expect("--XyZ\r\n" CD "\"file\"; filename=\"x.png\"\r\nContent-Type: "
	       "IMAGE/PNG\r\n\r\n<svg/>\r\n--XyZ--",
	    MULTIPART_OK, "[file|x.png|-|image/png]<svg/>[end]");
}
END_TEST

START_TEST(test_duplicate_name)
{
	expect(PART "a\r\n" PART "b\r\n--XyZ--", MULTIPART_ERR_DUPLICATE, NULL);
	expect("--XyZ\r\n" CD "\"x\"\r\n\r\n1\r\n--XyZ\r\n" CD
	       "\"y\"\r\n\r\n2\r\n--XyZ\r\n" CD "x\r\n\r\n3\r\n--XyZ--",
	    MULTIPART_ERR_DUPLICATE, NULL);
}
END_TEST

START_TEST(test_filename)
{
	expect("--XyZ\r\n" CD "\"file\"; filename=\"a\\\"b\\\\c.png\"\r\n\r\n"
	       "\r\n--XyZ--",
	    MULTIPART_OK, "[file|a\"b\\c.png|-|-][end]");
	expect("--XyZ\r\n" CD "\"file\"; filename=\"euro.png\"; "
	       "filename*=UTF-8''%E2%82%AC%20rates.png\r\n\r\n\r\n--XyZ--",
	    MULTIPART_OK, "[file|euro.png|\xe2\x82\xac rates.png|-][end]");
	expect("--XyZ\r\n" CD "\"file\"; filename*=utf-8'en'..%2F..%2Fx\r\n"
	       "\r\n\r\n--XyZ--",
	    MULTIPART_OK, "[file|-|../../x|-][end]");
	/* Another charset: kept out, the plain name stays. */
	expect("--XyZ\r\n" CD "\"file\"; filename=\"a\"; "
	       "filename*=iso-8859-1''%E9\r\n\r\n\r\n--XyZ--",
	    MULTIPART_OK, "[file|a|-|-][end]");
	/* Raw UTF-8 and an empty filename are passed on as sent. */
	expect("--XyZ\r\n" CD "\"file\"; filename=\"\xc3\xa9.png\"\r\n\r\n"
	       "\r\n--XyZ--",
	    MULTIPART_OK, "[file|\xc3\xa9.png|-|-][end]");
	expect("--XyZ\r\n" CD "\"file\"; filename=\"\"\r\n\r\n\r\n--XyZ--",
	    MULTIPART_OK, "[file||-|-][end]");
	/* Broken ext-values. */
	expect("--XyZ\r\n" CD "\"file\"; filename*=UTF-8''%00.png\r\n\r\n"
	       "\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	expect("--XyZ\r\n" CD "\"file\"; filename*=UTF-8''%G0\r\n\r\n"
	       "\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	expect("--XyZ\r\n" CD "\"file\"; filename*=UTF-8''%4\r\n\r\n"
	       "\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	expect("--XyZ\r\n" CD "\"file\"; filename*=UTF-8'x.png\r\n\r\n"
	       "\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	expect("--XyZ\r\n" CD "\"file\"; filename*=\"UTF-8''a b\"\r\n\r\n"
	       "\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
	expect("--XyZ\r\n" CD "\"file\"; filename*=UTF-8''a; "
	       "filename*=UTF-8''b\r\n\r\n\r\n--XyZ--",
	    MULTIPART_ERR_HEADER, NULL);
}
END_TEST

START_TEST(test_header_caps)
{
	char *body, *p, name[MULTIPART_NAME_MAX + 2];
	size_t i, len;

	/* A 1 MB header line without CRLF stops at the block cap. */
	len = 1 << 20;
	body = xmalloc(len + 64);
	p = body + sprintf(body, "--XyZ\r\nX-Big: ");
	memset(p, 'a', len);
	p[len] = '\0';
	expect(body, MULTIPART_ERR_HEADER_SIZE, "");
	/* A block just under the cap is fine. */
	p = body + sprintf(body, "--XyZ\r\n%s\"f\"\r\nX-Big: ", CD);
	i = MULTIPART_HEADER_MAX - (size_t)(p - body - 7) - 4;
	memset(p, 'a', i);
	strcpy(p + i, "\r\n\r\nd\r\n--XyZ--");
	expect(body, MULTIPART_OK, "[f|-|-|-]d[end]");
	/* One byte more is over. */
	p = body + sprintf(body, "--XyZ\r\n%s\"f\"\r\nX-Big: a", CD);
	memset(p, 'a', i);
	strcpy(p + i, "\r\n\r\nd\r\n--XyZ--");
	expect(body, MULTIPART_ERR_HEADER_SIZE, "");
	/* Header field count. */
	p = body + sprintf(body, "--XyZ\r\n%s\"f\"\r\n", CD);
	for (i = 0; i < MULTIPART_FIELDS_MAX - 1; i++)
		p += sprintf(p, "X-%zu: v\r\n", i);
	strcpy(p, "\r\nd\r\n--XyZ--");
	expect(body, MULTIPART_OK, "[f|-|-|-]d[end]");
	strcpy(p, "X-last: v\r\n\r\nd\r\n--XyZ--");
	expect(body, MULTIPART_ERR_HEADER_COUNT, "");
	/* Name length. */
	memset(name, 'n', sizeof(name) - 2);
	name[sizeof(name) - 2] = '\0';
	sprintf(body, "--XyZ\r\n%s\"%s\"\r\n\r\n\r\n--XyZ--", CD, name);
	expect(body, MULTIPART_OK, NULL);
	strcat(name, "n");
	sprintf(body, "--XyZ\r\n%s\"%s\"\r\n\r\n\r\n--XyZ--", CD, name);
	expect(body, MULTIPART_ERR_DISPOSITION, "");
	free(body);
}
END_TEST

START_TEST(test_many_parts)
{
	struct rec r;
	char *body, *p;
	size_t i;

	body = xmalloc(10000 * 64 + 16);
	p = body;
	for (i = 0; i < 10000; i++)
		p += sprintf(p, "--XyZ\r\n%s\"p%zu\"\r\n\r\nx\r\n", CD, i);
	strcpy(p, "--XyZ--");
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(
	    run(body, strlen(body), "XyZ", 16, 4096, &r), MULTIPART_ERR_PARTS);
	/* Exactly 16 parts were opened and closed, none more. */
	ck_assert_uint_eq(r.data_seen, 16);
	free(r.log);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(
	    run(body, strlen(body), "XyZ", 10000, 65536, &r), MULTIPART_OK);
	ck_assert_uint_eq(r.data_seen, 10000);
	free(r.log);
	expect_len(body, strlen(body), "XyZ", 1, MULTIPART_ERR_PARTS, NULL, 0);
	free(body);
}
END_TEST

START_TEST(test_abort)
{
	static const char body[] = PART "0123456789\r\n--XyZ--";
	struct multipart_cb cb;
	struct multipart *m;
	struct rec r;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.abort_after = 4;
	cb = (struct multipart_cb){rec_begin, rec_data, rec_end, &r};
	m = multipart_new("XyZ", 16, &cb);
	for (i = 0; i < sizeof(body) - 1; i++)
		if (multipart_feed(m, body + i, 1) != MULTIPART_OK)
			break;
	ck_assert_int_eq(multipart_feed(m, "x", 1), MULTIPART_ERR_ABORTED);
	ck_assert_int_eq(multipart_finish(m), MULTIPART_ERR_ABORTED);
	ck_assert_uint_eq(r.data_seen, 5);
	ck_assert_uint_eq(multipart_nparts(m), 1);
	multipart_free(m);
	free(r.log);
	/* Callbacks may be NULL. */
	cb = (struct multipart_cb){NULL, NULL, NULL, NULL};
	m = multipart_new("XyZ", 16, &cb);
	ck_assert_int_eq(
	    multipart_feed(m, body, sizeof(body) - 1), MULTIPART_OK);
	ck_assert_int_eq(multipart_finish(m), MULTIPART_OK);
	multipart_free(m);
	multipart_free(NULL);
}
END_TEST

START_TEST(test_strerror)
{
	int i, j;

	for (i = 0; i < MULTIPART_ERR__MAX; i++) {
		ck_assert_ptr_nonnull(multipart_strerror(i));
		ck_assert_str_ne(multipart_strerror(i), "unknown error");
		for (j = 0; j < i; j++)
			ck_assert_str_ne(
			    multipart_strerror(i), multipart_strerror(j));
	}
	ck_assert_str_eq(
	    multipart_strerror(MULTIPART_ERR__MAX), "unknown error");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("multipart");
	TCase *tc = tcase_create("multipart");

	log_init("test-multipart", 1, 0);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_boundary);
	tcase_add_test(tc, test_simple);
	tcase_add_test(tc, test_preamble_epilogue);
	tcase_add_test(tc, test_boundary_in_data);
	tcase_add_test(tc, test_random_data);
	tcase_add_test(tc, test_lf_only);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_headers);
	tcase_add_test(tc, test_duplicate_name);
	tcase_add_test(tc, test_filename);
	tcase_add_test(tc, test_header_caps);
	tcase_add_test(tc, test_many_parts);
	tcase_add_test(tc, test_abort);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
