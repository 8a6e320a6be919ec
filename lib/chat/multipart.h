/* SPDX-License-Identifier: ISC */
/*
 * Streaming push parser for multipart/form-data request bodies (RFC 7578
 * over RFC 2046): bytes go in as they arrive, parts come out through
 * callbacks, and memory stays bounded whatever the body size. It does no
 * I/O and never interprets part contents; anything ambiguous (bare LF,
 * nested multipart, encodings, duplicate fields) is an error, not a guess.
 */
#ifndef MULTIPART_H
#define MULTIPART_H

#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX 70   /* RFC 2046 section 5.1.1 */
#define MULTIPART_HEADER_MAX   8192 /* bytes of one part's header block */
#define MULTIPART_FIELDS_MAX   16   /* header fields in one part */
#define MULTIPART_NAME_MAX     255  /* bytes of one form field name */

enum multipart_err {
	MULTIPART_OK = 0,
	MULTIPART_ERR_CTYPE,        /* request is not multipart/form-data */
	MULTIPART_ERR_BOUNDARY,     /* boundary parameter missing or bad */
	MULTIPART_ERR_LF,           /* a line ends in LF without CR */
	MULTIPART_ERR_DELIMITER,    /* junk after a boundary delimiter */
	MULTIPART_ERR_HEADER,       /* malformed part header line */
	MULTIPART_ERR_HEADER_SIZE,  /* part header block over its cap */
	MULTIPART_ERR_HEADER_COUNT, /* too many part header fields */
	MULTIPART_ERR_DISPOSITION,  /* no usable Content-Disposition */
	MULTIPART_ERR_ENCODING,     /* Content-Transfer-Encoding not 8bit */
	MULTIPART_ERR_NESTED,       /* a part is itself multipart */
	MULTIPART_ERR_DUPLICATE,    /* two parts with the same name */
	MULTIPART_ERR_PARTS,        /* more parts than allowed */
	MULTIPART_ERR_TRUNCATED,    /* body ended before the close delimiter */
	MULTIPART_ERR_ABORTED,      /* a callback returned -1 */
	MULTIPART_ERR__MAX
};

/*
 * What a part's headers said, handed to part_begin. Every string is
 * NUL-free and borrowed from the parser until part_end returns.
 */
struct multipart_part {
	const char *name;         /* Content-Disposition name, non-empty */
	const char *filename;     /* filename parameter as sent, or NULL */
	const char *filename_ext; /* filename* (RFC 5987) decoded, or NULL */
	const char *content_type; /* the part's media type, lower case,
	                             without parameters, or NULL */
};

/*
 * Callbacks; each returns 0 to go on or -1 to stop the parser, which then
 * answers MULTIPART_ERR_ABORTED (the callback knows why). part_data gets
 * the part's bytes in pieces of any size, possibly several per feed.
 */
struct multipart_cb {
	int (*part_begin)(void *arg, const struct multipart_part *p);
	int (*part_data)(void *arg, const char *buf, size_t len);
	int (*part_end)(void *arg);
	void *arg;
};

struct multipart;

/*
 * Find the boundary in the request Content-Type "ctype" (NULL allowed):
 * multipart/form-data, then a single boundary parameter, quoted or not, of
 * 1..MULTIPART_BOUNDARY_MAX characters of RFC 2046's bchars, not ending in
 * a space. Copies it, NUL-terminated, into "out". Returns MULTIPART_OK,
 * MULTIPART_ERR_CTYPE or MULTIPART_ERR_BOUNDARY ("out" then untouched).
 */
enum multipart_err multipart_boundary(
    const char *ctype, char out[MULTIPART_BOUNDARY_MAX + 1]);

/*
 * A new parser for a body delimited by "boundary" (as multipart_boundary()
 * returned it) accepting at most "parts_max" parts; "cb" is copied.
 */
struct multipart *multipart_new(
    const char *boundary, size_t parts_max, const struct multipart_cb *cb);

/* Release "m" (NULL-safe). No callback runs. */
void multipart_free(struct multipart *m);

/*
 * Parse the next "len" bytes of the body. Returns MULTIPART_OK or the
 * first error, which sticks: later calls return it again and run no
 * callback. Bytes after the close delimiter (the epilogue) are ignored.
 */
enum multipart_err multipart_feed(
    struct multipart *m, const char *buf, size_t len);

/*
 * Tell "m" the body ended. Returns MULTIPART_OK when the close delimiter
 * was seen, else the sticky error or MULTIPART_ERR_TRUNCATED.
 */
enum multipart_err multipart_finish(struct multipart *m);

/* The number of parts begun so far. */
size_t multipart_nparts(const struct multipart *m);

/* A short English description of "e", fit for a 400 detail. */
const char *multipart_strerror(enum multipart_err e);

#endif
