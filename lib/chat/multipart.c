/* SPDX-License-Identifier: ISC */
/*
 * Streaming multipart/form-data parser. Part bodies pass straight from the
 * caller's buffer to the part_data callback; the only memory kept is one
 * header block (MULTIPART_HEADER_MAX), the current part's parameters and
 * the names seen, so a body of any size costs the same. It depends on libc,
 * xmalloc and pct only, so that the fuzz target builds on its own.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat/multipart.h"
#include "common/pct.h"
#include "common/xmalloc.h"

#define MULTIPART_PNAME_MAX 32 /* bytes of a parameter name we keep */
/* RFC 2046 bchars: the boundary alphabet, space included. */
#define MULTIPART_BCHARS                                                       \
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"       \
	"'()+_,-./:=? "
/* RFC 9110 tchar. */
#define MULTIPART_TCHARS                                                       \
	"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"                  \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ"

enum multipart_state {
	ST_PREAMBLE,   /* before the first delimiter */
	ST_DELIM,      /* just after "CRLF--boundary" */
	ST_DELIM_DASH, /* after "--boundary-" */
	ST_DELIM_PAD,  /* in transport padding after the delimiter */
	ST_DELIM_CR,   /* after the CR that ends the delimiter line */
	ST_HEADERS,    /* in a part's header block */
	ST_BODY,       /* in a part's body */
	ST_EPILOGUE    /* after the close delimiter */
};

struct multipart {
	struct multipart_cb cb;
	enum multipart_state st;
	enum multipart_err err;
	char delim[4 + MULTIPART_BOUNDARY_MAX + 1]; /* "\r\n--" boundary */
	size_t dlen;
	size_t match; /* bytes of "delim" matched so far */
	size_t carry; /* of those, how many came in earlier feeds */
	int lfonly;   /* the preamble match began at a bare LF */
	size_t parts, parts_max;

	/* The header block of the current part. */
	char line[MULTIPART_HEADER_MAX + 1];
	size_t linelen;
	size_t hbytes;  /* bytes of the block so far */
	size_t nfields; /* header fields so far */
	int cr;         /* the last byte was a CR */
	int has_disp, has_ctype, has_cte;
	char *name, *filename, *filename_ext, *ctype;
	char pval[MULTIPART_HEADER_MAX + 1]; /* a parameter value */

	char **names; /* names of the parts so far */
	size_t nnames;
};

static const char *const multipart_errs[MULTIPART_ERR__MAX] = {
    [MULTIPART_OK] = "no error",
    [MULTIPART_ERR_CTYPE] = "Content-Type is not multipart/form-data",
    [MULTIPART_ERR_BOUNDARY] = "missing or invalid multipart boundary",
    [MULTIPART_ERR_LF] = "multipart lines must end in CRLF, not LF",
    [MULTIPART_ERR_DELIMITER] = "unexpected data after a multipart boundary",
    [MULTIPART_ERR_HEADER] = "malformed part header",
    [MULTIPART_ERR_HEADER_SIZE] = "part headers too large",
    [MULTIPART_ERR_HEADER_COUNT] = "too many part header fields",
    [MULTIPART_ERR_DISPOSITION] =
        "part without a form-data Content-Disposition and a name",
    [MULTIPART_ERR_ENCODING] = "unsupported Content-Transfer-Encoding",
    [MULTIPART_ERR_NESTED] = "nested multipart parts are not supported",
    [MULTIPART_ERR_DUPLICATE] = "two parts with the same name",
    [MULTIPART_ERR_PARTS] = "too many parts",
    [MULTIPART_ERR_TRUNCATED] = "multipart body ended before its closing "
                                "boundary",
    [MULTIPART_ERR_ABORTED] = "multipart processing stopped",
};

const char *
multipart_strerror(enum multipart_err e)
{
	if ((unsigned)e >= MULTIPART_ERR__MAX)
		return "unknown error";
	return multipart_errs[e];
}

/* 1 when "c" is an RFC 9110 tchar. */
static int
multipart_is_tchar(unsigned char c)
{
	return c != '\0' && strchr(MULTIPART_TCHARS, c) != NULL;
}

static const char *
multipart_ows(const char *s)
{
	return s + strspn(s, " \t");
}

/*
 * Parse the next parameter of a header value at "*sp": OWS ";" OWS name
 * OWS "=" OWS value, where value is a token or a quoted-string whose
 * quoted-pairs are unescaped. The name is lower-cased into "name"
 * (MULTIPART_PNAME_MAX + 1 bytes), the value written to "val", which must
 * hold strlen(*sp) + 1 bytes. Returns 1 and advances "*sp", 0 when only
 * blanks (or a last lone ";") remain, -1 on a syntax error.
 */
static int
multipart_param(const char **sp, char *name, char *val)
{
	const unsigned char *s = (const unsigned char *)multipart_ows(*sp);
	size_t n = 0;

	if (*s == '\0')
		return 0;
	if (*s != ';')
		return -1;
	s = (const unsigned char *)multipart_ows((const char *)s + 1);
	if (*s == '\0')
		return 0;
	while (multipart_is_tchar(*s)) {
		if (n == MULTIPART_PNAME_MAX)
			return -1;
		name[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
		s++;
	}
	name[n] = '\0';
	s = (const unsigned char *)multipart_ows((const char *)s);
	if (n == 0 || *s != '=')
		return -1;
	s = (const unsigned char *)multipart_ows((const char *)s + 1);
	n = 0;
	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\\')
				s++;
			if (*s == '\0' || (*s < 0x20 && *s != '\t') ||
			    *s == 0x7f)
				return -1;
			val[n++] = (char)*s;
		}
		s++;
	} else {
		while (multipart_is_tchar(*s))
			val[n++] = (char)*s++;
		if (n == 0)
			return -1;
	}
	val[n] = '\0';
	*sp = (const char *)s;
	return 1;
}

/*
 * 1 when "s" starts with "word" (case-insensitive),
 * followed by the end, blanks or ";".
 */
static int
multipart_word_is(const char *s, const char *word)
{
	size_t n = strlen(word);

	return strncasecmp(s, word, n) == 0 &&
	    (s[n] == '\0' || s[n] == ';' || s[n] == ' ' || s[n] == '\t');
}

enum multipart_err
multipart_boundary(const char *ctype, char out[MULTIPART_BOUNDARY_MAX + 1])
{
	static const char mt[] = "multipart/form-data";
	char name[MULTIPART_PNAME_MAX + 1], *val = NULL;
	char b[MULTIPART_BOUNDARY_MAX + 1];
	const char *s;
	size_t n;
	int r, found = 0;
	enum multipart_err e = MULTIPART_ERR_BOUNDARY;

	if (ctype == NULL)
		return MULTIPART_ERR_CTYPE;
	s = multipart_ows(ctype);
	if (!multipart_word_is(s, mt))
		return MULTIPART_ERR_CTYPE;
	s += sizeof(mt) - 1;
	val = xmalloc(strlen(s) + 1);
	while ((r = multipart_param(&s, name, val)) == 1) {
		if (strcmp(name, "boundary") != 0)
			continue;
		n = strlen(val);
		if (found || n == 0 || n > MULTIPART_BOUNDARY_MAX ||
		    val[n - 1] == ' ' || strspn(val, MULTIPART_BCHARS) != n)
			goto out;
		memcpy(b, val, n + 1);
		found = 1;
	}
	if (r == 0 && found) {
		memcpy(out, b, sizeof(b));
		e = MULTIPART_OK;
	}
out:
	free(val);
	return e;
}

struct multipart *
multipart_new(
    const char *boundary, size_t parts_max, const struct multipart_cb *cb)
{
	struct multipart *m = xcalloc(1, sizeof(*m));
	size_t n = strnlen(boundary, MULTIPART_BOUNDARY_MAX);

	m->cb = *cb;
	memcpy(m->delim, "\r\n--", 4);
	memcpy(m->delim + 4, boundary, n);
	m->dlen = 4 + n;
	m->parts_max = parts_max;
	/* The first delimiter may open the body: act as if after a CRLF. */
	m->st = ST_PREAMBLE;
	m->match = 2;
	return m;
}

/* Release the parameters of the current part. */
static void
multipart_part_clear(struct multipart *m)
{
	free(m->name);
	free(m->filename);
	free(m->filename_ext);
	free(m->ctype);
	m->name = m->filename = m->filename_ext = m->ctype = NULL;
	m->has_disp = m->has_ctype = m->has_cte = 0;
}

void
multipart_free(struct multipart *m)
{
	size_t i;

	if (m == NULL)
		return;
	multipart_part_clear(m);
	for (i = 0; i < m->nnames; i++)
		free(m->names[i]);
	free(m->names);
	free(m);
}

size_t
multipart_nparts(const struct multipart *m)
{
	return m->parts;
}

/*
 * Decode the RFC 5987 ext-value "v" (charset'lang'pct-encoded) into
 * m->filename_ext when the charset is UTF-8; other charsets are ignored
 * (the plain filename stays). Returns 0, or -1 on bad syntax or a %00.
 */
static int
multipart_ext_value(struct multipart *m, const char *v)
{
	static const char attr[] = "!#$&+-.^_`|~";
	const unsigned char *p;
	const char *q1, *q2;
	char *out;
	size_t n = 0;
	int c;

	if ((q1 = strchr(v, '\'')) == NULL ||
	    (q2 = strchr(q1 + 1, '\'')) == NULL)
		return -1;
	out = xmalloc(strlen(q2));
	for (p = (const unsigned char *)q2 + 1; *p != '\0'; p++) {
		if (*p == '%') {
			if ((c = pct_byte_decode((const char *)p + 1)) <= 0)
				goto bad; /* not two hex digits, or %00 */
			out[n++] = (char)c;
			p += 2;
		} else if ((*p >= '0' && *p <= '9') ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    strchr(attr, *p) != NULL)
			out[n++] = (char)*p;
		else
			goto bad;
	}
	out[n] = '\0';
	if (q1 - v == 5 && strncasecmp(v, "UTF-8", 5) == 0)
		m->filename_ext = out;
	else
		free(out);
	return 0;
bad:
	free(out);
	return -1;
}

/* Parse a Content-Disposition value into the current part. */
static enum multipart_err
multipart_disposition(struct multipart *m, const char *v)
{
	char name[MULTIPART_PNAME_MAX + 1];
	size_t n;
	int r;

	if (!multipart_word_is(v, "form-data"))
		return MULTIPART_ERR_DISPOSITION;
	v += 9;
	while ((r = multipart_param(&v, name, m->pval)) == 1) {
		if (strcmp(name, "name") == 0) {
			n = strlen(m->pval);
			if (m->name != NULL)
				return MULTIPART_ERR_HEADER;
			if (n == 0 || n > MULTIPART_NAME_MAX)
				return MULTIPART_ERR_DISPOSITION;
			m->name = xstrdup(m->pval);
		} else if (strcmp(name, "filename") == 0) {
			if (m->filename != NULL)
				return MULTIPART_ERR_HEADER;
			m->filename = xstrdup(m->pval);
		} else if (strcmp(name, "filename*") == 0) {
			if (m->filename_ext != NULL ||
			    multipart_ext_value(m, m->pval) == -1)
				return MULTIPART_ERR_HEADER;
		}
	}
	return r == 0 ? MULTIPART_OK : MULTIPART_ERR_HEADER;
}

/* Parse a part's Content-Type value: type "/" subtype, parameters. */
static enum multipart_err
multipart_part_ctype(struct multipart *m, const char *v)
{
	char name[MULTIPART_PNAME_MAX + 1];
	size_t t, s, i;
	int r;

	t = strspn(v, MULTIPART_TCHARS);
	if (t == 0 || v[t] != '/')
		return MULTIPART_ERR_HEADER;
	s = strspn(v + t + 1, MULTIPART_TCHARS);
	if (s == 0)
		return MULTIPART_ERR_HEADER;
	m->ctype = xstrndup(v, t + 1 + s);
	for (i = 0; m->ctype[i] != '\0'; i++)
		if (m->ctype[i] >= 'A' && m->ctype[i] <= 'Z')
			m->ctype[i] += 32;
	if (strncmp(m->ctype, "multipart/", 10) == 0)
		return MULTIPART_ERR_NESTED;
	v += t + 1 + s;
	while ((r = multipart_param(&v, name, m->pval)) == 1)
		continue;
	return r == 0 ? MULTIPART_OK : MULTIPART_ERR_HEADER;
}

/* Handle one complete header line of m->linelen bytes in m->line. */
static enum multipart_err
multipart_field(struct multipart *m)
{
	char *v = m->line, *end = m->line + m->linelen;
	const char *cte;
	size_t n;

	*end = '\0';
	if (++m->nfields > MULTIPART_FIELDS_MAX)
		return MULTIPART_ERR_HEADER_COUNT;
	/* No NUL or other control byte anywhere, and no obs-fold. */
	for (n = 0; n < m->linelen; n++)
		if (((unsigned char)v[n] < 0x20 && v[n] != '\t') ||
		    v[n] == 0x7f)
			return MULTIPART_ERR_HEADER;
	n = strspn(v, MULTIPART_TCHARS);
	if (n == 0 || v[n] != ':')
		return MULTIPART_ERR_HEADER;
	v[n] = '\0';
	while (end > v + n + 1 && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strcasecmp(v, "Content-Disposition") == 0) {
		if (m->has_disp++)
			return MULTIPART_ERR_HEADER;
		return multipart_disposition(m, multipart_ows(v + n + 1));
	}
	if (strcasecmp(v, "Content-Type") == 0) {
		if (m->has_ctype++)
			return MULTIPART_ERR_HEADER;
		return multipart_part_ctype(m, multipart_ows(v + n + 1));
	}
	if (strcasecmp(v, "Content-Transfer-Encoding") == 0) {
		if (m->has_cte++)
			return MULTIPART_ERR_HEADER;
		cte = multipart_ows(v + n + 1);
		if (strcasecmp(cte, "binary") != 0 &&
		    strcasecmp(cte, "8bit") != 0 &&
		    strcasecmp(cte, "7bit") != 0)
			return MULTIPART_ERR_ENCODING;
	}
	return MULTIPART_OK;
}

/* The header block ended: check it and open the part. */
static enum multipart_err
multipart_part_open(struct multipart *m)
{
	struct multipart_part p;
	size_t i;

	if (m->name == NULL)
		return MULTIPART_ERR_DISPOSITION;
	for (i = 0; i < m->nnames; i++)
		if (strcmp(m->names[i], m->name) == 0)
			return MULTIPART_ERR_DUPLICATE;
	m->names = xreallocarray(m->names, m->nnames + 1, sizeof(*m->names));
	m->names[m->nnames++] = xstrdup(m->name);
	p.name = m->name;
	p.filename = m->filename;
	p.filename_ext = m->filename_ext;
	p.content_type = m->ctype;
	if (m->cb.part_begin != NULL && m->cb.part_begin(m->cb.arg, &p) == -1)
		return MULTIPART_ERR_ABORTED;
	m->st = ST_BODY;
	m->match = m->carry = 0;
	return MULTIPART_OK;
}

/* One byte of a header block. */
static enum multipart_err
multipart_header_byte(struct multipart *m, char c)
{
	enum multipart_err e;

	if (++m->hbytes > MULTIPART_HEADER_MAX)
		return MULTIPART_ERR_HEADER_SIZE;
	if (m->cr) {
		m->cr = 0;
		if (c != '\n')
			return MULTIPART_ERR_HEADER;
		if (m->linelen == 0)
			return multipart_part_open(m);
		if (m->line[0] == ' ' || m->line[0] == '\t')
			return MULTIPART_ERR_HEADER; /* obs-fold */
		e = multipart_field(m);
		m->linelen = 0;
		return e;
	}
	if (c == '\r')
		m->cr = 1;
	else if (c == '\n')
		return MULTIPART_ERR_LF;
	else
		m->line[m->linelen++] = c;
	return MULTIPART_OK;
}

/* One byte of the delimiter line, or the start of a new part. */
static enum multipart_err
multipart_delim_byte(struct multipart *m, char c)
{
	switch (m->st) {
	case ST_DELIM:
	case ST_DELIM_PAD:
		if (c == '-' && m->st == ST_DELIM)
			m->st = ST_DELIM_DASH;
		else if (c == ' ' || c == '\t')
			m->st = ST_DELIM_PAD;
		else if (c == '\r')
			m->st = ST_DELIM_CR;
		else
			return c == '\n' ? MULTIPART_ERR_LF
			                 : MULTIPART_ERR_DELIMITER;
		return MULTIPART_OK;
	case ST_DELIM_DASH:
		if (c != '-')
			return MULTIPART_ERR_DELIMITER;
		m->st = ST_EPILOGUE;
		return MULTIPART_OK;
	default: /* ST_DELIM_CR */
		if (c != '\n')
			return MULTIPART_ERR_DELIMITER;
		if (m->parts == m->parts_max)
			return MULTIPART_ERR_PARTS;
		m->parts++;
		multipart_part_clear(m);
		m->linelen = m->hbytes = m->nfields = 0;
		m->cr = 0;
		m->st = ST_HEADERS;
		return MULTIPART_OK;
	}
}

/*
 * Scan the preamble for the first delimiter. Returns the bytes used; sets
 * m->err for an LF-only body.
 */
static size_t
multipart_preamble(struct multipart *m, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (m->match > 0 && p[i] == m->delim[m->match]) {
			if (++m->match < m->dlen)
				continue;
			if (m->lfonly)
				m->err = MULTIPART_ERR_LF;
			m->st = ST_DELIM;
			m->match = 0;
			return i + 1;
		}
		if (p[i] == '\r') {
			m->match = 1;
			m->lfonly = 0;
		} else if (p[i] == '\n') {
			m->match = 2;
			m->lfonly = 1;
		} else
			m->match = 0;
	}
	return n;
}

/* Hand "len" bytes of part data to the callback. */
static int
multipart_emit(struct multipart *m, const char *p, size_t len)
{
	if (len == 0 || m->cb.part_data == NULL)
		return 0;
	if (m->cb.part_data(m->cb.arg, p, len) == -1) {
		m->err = MULTIPART_ERR_ABORTED;
		return -1;
	}
	return 0;
}

/*
 * Pass part data through until the delimiter. Bytes that may start a
 * delimiter are held back (as a count: they equal the delimiter's prefix,
 * so nothing is buffered) until a mismatch shows they were data. Returns
 * the bytes used; errors go to m->err.
 */
static size_t
multipart_body(struct multipart *m, const char *p, size_t n)
{
	const char *cr;
	size_t i = 0, held;

	while (i < n) {
		if (m->match == 0) {
			if ((cr = memchr(p + i, '\r', n - i)) == NULL) {
				i = n;
				break;
			}
			i = (size_t)(cr - p) + 1;
			m->match = 1;
			continue;
		}
		if (p[i] == m->delim[m->match]) {
			i++;
			if (++m->match < m->dlen)
				continue;
			held = m->match - m->carry;
			if (multipart_emit(m, p, i - held) == -1)
				return i;
			m->match = m->carry = 0;
			m->st = ST_DELIM;
			if (m->cb.part_end != NULL &&
			    m->cb.part_end(m->cb.arg) == -1)
				m->err = MULTIPART_ERR_ABORTED;
			return i;
		}
		/*
		 * Mismatch: the held bytes were data. Those from earlier feeds
		 * are the delimiter's prefix; the rest are in "p" already.
		 * '\r' occurs only at the delimiter's start, so matching
		 * restarts at this byte.
		 */
		if (m->carry > 0 && multipart_emit(m, m->delim, m->carry) == -1)
			return i;
		m->match = m->carry = 0;
	}
	held = m->match - m->carry;
	if (multipart_emit(m, p, n - held) == -1)
		return n;
	m->carry = m->match;
	return n;
}

enum multipart_err
multipart_feed(struct multipart *m, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && m->err == MULTIPART_OK) {
		switch (m->st) {
		case ST_PREAMBLE:
			i += multipart_preamble(m, buf + i, len - i);
			break;
		case ST_BODY:
			i += multipart_body(m, buf + i, len - i);
			break;
		case ST_EPILOGUE:
			i = len;
			break;
		case ST_HEADERS:
			m->err = multipart_header_byte(m, buf[i++]);
			break;
		default:
			m->err = multipart_delim_byte(m, buf[i++]);
			break;
		}
	}
	return m->err;
}

enum multipart_err
multipart_finish(struct multipart *m)
{
	if (m->err == MULTIPART_OK && m->st != ST_EPILOGUE)
		m->err = MULTIPART_ERR_TRUNCATED;
	return m->err;
}
