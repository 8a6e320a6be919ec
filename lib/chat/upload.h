/* SPDX-License-Identifier: ISC */
/*
 * The media store: an uploaded file streams into a temp file in the media
 * directory, libmagic decides its type from the bytes (never the client's
 * name or Content-Type), and only an allowed type is fsynced, renamed to a
 * random 128-bit name with the extension of that type and recorded in the
 * database. Any failure leaves no file behind. The client's filename is
 * kept, cleaned, as metadata only and never used in a path.
 */
#ifndef UPLOAD_H
#define UPLOAD_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define UPLOAD_NAME_LEN   40    /* "<32 hex>.<ext>" and its NUL fit */
#define UPLOAD_HEAD_MAX   65536 /* leading bytes libmagic looks at */
#define UPLOAD_ORIG_MAX   255   /* bytes kept of the original filename */
#define UPLOAD_TMP_PREFIX ".tmp-"

enum upload_err {
	UPLOAD_OK = 0,
	UPLOAD_ERR_TOO_LARGE, /* over the size limit: 413 */
	UPLOAD_ERR_TYPE,      /* detected type not allowed: 415 */
	UPLOAD_ERR_FULL,      /* disk, quota or database full: 507 */
	UPLOAD_ERR_BUSY,      /* database locked past its timeout: 503 */
	UPLOAD_ERR_IO,        /* any other failure, logged: 500 */
	UPLOAD_ERR__MAX
};

/* What a stored upload became. */
struct upload_result {
	char name[UPLOAD_NAME_LEN]; /* "<32 hex>.<ext>", the URL's last part */
	const char *content_type;   /* static string, e.g. "image/png" */
	int64_t size;               /* bytes */
};

/* Process-wide: the media directory, the libmagic handle, the allowlist. */
struct upload_store;
/* One file being received. */
struct upload;

/*
 * Open the media directory "dir" and libmagic (magic_open + magic_load,
 * once per process: the handle is not thread-safe), and parse "types",
 * the space-separated allowlist of conf upload_types. Every listed type
 * must be one this module knows an extension for (image/png, image/jpeg,
 * image/gif, image/webp, video/mp4, audio/mpeg, audio/ogg,
 * application/pdf), so active content cannot be allowed by configuration.
 * Call before dropping privileges. Returns a new store, or NULL after
 * logging.
 */
struct upload_store *upload_store_new(const char *dir, const char *types);
void upload_store_free(struct upload_store *s);

/*
 * Remove what dead processes left in the media directory: temp files
 * ("UPLOAD_TMP_PREFIX*"), and final-named files ("<32 hex>.<ext>") that
 * have no row in "db" (a worker that died between rename and row insert;
 * NULL "db" skips these). Each upload keeps an exclusive flock on its file
 * from upload_new() to upload_free(), so a sibling worker's upload in
 * progress, even between rename and commit, is left alone; so is a file
 * whose row cannot be looked up. Returns the number removed, or -1 after
 * logging when the directory cannot be read.
 */
int upload_store_sweep(struct upload_store *s, struct db *db);

/*
 * Start receiving a file of at most "max" bytes into a new temp file
 * (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0640) in the store's directory. Sets
 * "*out" on UPLOAD_OK; else returns UPLOAD_ERR_FULL or UPLOAD_ERR_IO.
 */
enum upload_err upload_new(
    struct upload_store *s, int64_t max, struct upload **out);

/*
 * Append "len" bytes. Returns UPLOAD_OK, UPLOAD_ERR_TOO_LARGE past the
 * limit (nothing written), UPLOAD_ERR_FULL or UPLOAD_ERR_IO. After an
 * error, only upload_free() is useful.
 */
enum upload_err upload_write(struct upload *u, const void *buf, size_t len);

/*
 * Finish the file: detect its type, refuse it (UPLOAD_ERR_TYPE) unless
 * allowed, fsync it, rename it to its random final name, fsync the
 * directory, then insert the database row for "uploader" with the
 * cleaned "original" filename (NULL allowed) at "now_ms". Fills "*res" on
 * UPLOAD_OK. On any error the file is gone from the directory.
 */
enum upload_err upload_commit(struct upload *u, struct db *db, int64_t uploader,
    const char *original, int64_t now_ms, struct upload_result *res);

/*
 * Release "u" (NULL-safe). Unless upload_commit() succeeded, the file is
 * removed, whatever its state.
 */
void upload_free(struct upload *u);

/*
 * The client's filename "name" made fit to keep as metadata: its last
 * path segment (after any "/" or "\"), without control characters, bidi
 * controls (U+200E-200F, U+202A-202E, U+2066-2069, U+061C) or invalid
 * UTF-8 (each bad byte becomes "_"), cut to UPLOAD_ORIG_MAX bytes at a
 * character boundary. Returns a new string, or NULL when nothing usable
 * is left ("", ".", "..").
 */
char *upload_name_clean(const char *name);

/* A short English description of "e", fit for an error detail. */
const char *upload_strerror(enum upload_err e);

#endif
