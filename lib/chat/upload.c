/* SPDX-License-Identifier: ISC */
/*
 * The media store behind POST /chat/upload_media/. Files are opened only
 * relative to the media directory's fd, never by a client-derived name;
 * the type comes from libmagic on the first UPLOAD_HEAD_MAX bytes; the
 * order temp file -> fsync -> rename -> fsync(dir) -> database row means a
 * row always names a complete file, and every failure path unlinks what
 * it created; what a crashed process leaves (a temp file, or a final name
 * before its row) is removed by the next startup sweep. libmagic runs with its
 * compressed, CDF, ELF, tar, JSON and CSV parsers off: less parser surface, and
 * no peeking inside archives.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <magic.h>
#include <sodium.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "chat/upload.h"
#include "common/fault.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/valid.h"
#include "common/xmalloc.h"

#define UPLOAD_MAGIC_FLAGS                                                     \
	(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_CDF |      \
	    MAGIC_NO_CHECK_ELF | MAGIC_NO_CHECK_TAR | MAGIC_NO_CHECK_JSON |    \
	    MAGIC_NO_CHECK_CSV)
#define UPLOAD_HEX_LEN VALID_MEDIA_HEX /* 128 random bits */

/* The only types that can ever be stored, and their extensions. */
static const struct upload_type {
	const char *mime;
	const char *ext;
} upload_types[] = {
    {"image/png", "png"},
    {"image/jpeg", "jpg"},
    {"image/gif", "gif"},
    {"image/webp", "webp"},
    {"video/mp4", "mp4"},
    {"audio/mpeg", "mp3"},
    {"audio/ogg", "ogg"},
    {"application/pdf", "pdf"},
};
#define UPLOAD_NTYPES (sizeof(upload_types) / sizeof(upload_types[0]))

struct upload_store {
	int dirfd;
	magic_t magic;
	int allowed[UPLOAD_NTYPES];
};

struct upload {
	struct upload_store *store; /* borrowed */
	int fd;
	int64_t max, size;
	unsigned char *head; /* the first UPLOAD_HEAD_MAX bytes */
	size_t headlen;
	char tmp[sizeof(UPLOAD_TMP_PREFIX) + UPLOAD_HEX_LEN];
	char final[UPLOAD_NAME_LEN];
	const char *ondisk; /* "tmp" or "final" while ours to remove */
};

static const char *const upload_errs[UPLOAD_ERR__MAX] = {
    [UPLOAD_OK] = "no error",
    [UPLOAD_ERR_TOO_LARGE] = "File too large",
    [UPLOAD_ERR_TYPE] = "Unsupported file type",
    [UPLOAD_ERR_FULL] = "Insufficient storage",
    [UPLOAD_ERR_BUSY] = "Service temporarily unavailable",
    [UPLOAD_ERR_IO] = "Internal Server Error",
};

const char *
upload_strerror(enum upload_err e)
{
	if ((unsigned)e >= UPLOAD_ERR__MAX)
		return "unknown error";
	return upload_errs[e];
}

/* The error for a failed system call with "errno" "err". */
static enum upload_err
upload_errno(int err)
{
	return err == ENOSPC || err == EDQUOT ? UPLOAD_ERR_FULL : UPLOAD_ERR_IO;
}

struct upload_store *
upload_store_new(const char *dir, const char *types)
{
	struct upload_store *s = xcalloc(1, sizeof(*s));
	const char *p = types;
	size_t n, i;
	int any = 0;

	s->dirfd = -1;
	while (*(p += strspn(p, " \t")) != '\0') {
		n = strcspn(p, " \t");
		for (i = 0; i < UPLOAD_NTYPES; i++)
			if (strlen(upload_types[i].mime) == n &&
			    strncmp(upload_types[i].mime, p, n) == 0)
				break;
		if (i == UPLOAD_NTYPES) {
			log_warnx("%s: upload_types: %.*s is not a type that "
			          "can be stored",
			    __func__, (int)(n > 64 ? 64 : n), p);
			goto fail;
		}
		s->allowed[i] = any = 1;
		p += n;
	}
	if (!any) {
		log_warnx("%s: upload_types is empty", __func__);
		goto fail;
	}
	if ((s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("%s: %s", __func__, dir);
		goto fail;
	}
	if ((s->magic = magic_open(UPLOAD_MAGIC_FLAGS)) == NULL) {
		log_warn("%s: magic_open", __func__);
		goto fail;
	}
	if (magic_load(s->magic, NULL) == -1) {
		log_warnx(
		    "%s: magic_load: %s", __func__, magic_error(s->magic));
		goto fail;
	}
	return s;
fail:
	upload_store_free(s);
	return NULL;
}

void
upload_store_free(struct upload_store *s)
{
	if (s == NULL)
		return;
	if (s->magic != NULL)
		magic_close(s->magic);
	if (s->dirfd != -1)
		close(s->dirfd);
	free(s);
}

/* 1 when "name" has the form of a stored file: "<32 hex>.<known ext>". */
static int
upload_name_is_final(const char *name)
{
	size_t i;

	if (!valid_media_name(name))
		return 0;
	for (i = 0; i < UPLOAD_NTYPES; i++)
		if (strcmp(name + UPLOAD_HEX_LEN + 1, upload_types[i].ext) == 0)
			return 1;
	return 0;
}

/*
 * Whether the sweep may remove "name", a final-named file of the store
 * opened as "fd" (-1 for a symlink) and locked: only when "db" has no
 * media row for it.
 */
static int
upload_sweep_orphan(struct db *db, const char *name, int fd)
{
	struct stat st;
	enum chat_err e;

	/* Unlinked by its uploader after a failed commit: nothing to do. */
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_nlink == 0)
		return 0;
	if ((e = db_media_exists(db, name)) == CHAT_ERR_NOTFOUND)
		return 1;
	if (e != CHAT_OK)
		log_warnx(
		    "%s: %s: cannot look up its row; kept", __func__, name);
	return 0;
}

int
upload_store_sweep(struct upload_store *s, struct db *db)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0, tmp;

	if ((fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	        -1 ||
	    (d = fdopendir(fd)) == NULL) {
		log_warn("%s: media directory", __func__);
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		tmp = strncmp(de->d_name, UPLOAD_TMP_PREFIX,
		          sizeof(UPLOAD_TMP_PREFIX) - 1) == 0;
		if (!tmp && (db == NULL || !upload_name_is_final(de->d_name)))
			continue;
		/*
		 * Almost every final name has its row: skip those with one
		 * indexed lookup, without opening the file. The check under
		 * the lock below is the one that decides.
		 */
		if (!tmp &&
		    db_media_exists(db, de->d_name) != CHAT_ERR_NOTFOUND)
			continue;
		fd = openat(s->dirfd, de->d_name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		/* A symlink under our prefix is never ours: drop the link. */
		if (fd == -1 && (errno != ELOOP || !tmp))
			continue;
		/*
		 * A live upload holds the lock from upload_new() until
		 * upload_free(), so through rename and row insert too: leave
		 * it alone. Once the lock is ours, no process is between
		 * rename and commit on this file, so a final name with no row
		 * is the leftover of a worker that died there.
		 */
		if (fd != -1 && flock(fd, LOCK_EX | LOCK_NB) == -1) {
			close(fd);
			continue;
		}
		if (tmp || upload_sweep_orphan(db, de->d_name, fd)) {
			if (unlinkat(s->dirfd, de->d_name, 0) == 0)
				n++;
			else if (errno != ENOENT)
				log_warn("%s: unlink", __func__);
		}
		if (fd != -1)
			close(fd);
	}
	closedir(d);
	if (n > 0)
		log_info("%s: removed %d stale file%s", __func__, n,
		    n == 1 ? "" : "s");
	return n;
}

/*
 * Fill "hex" with UPLOAD_HEX_LEN lowercase hex digits of fresh randomness.
 * Every random byte of the programs (upload names, token ids, session and
 * socket ids, the address table's hash key, the dummy password) comes from
 * libsodium's randombytes_buf: libsodium is linked for Argon2id anyway, and
 * its call cannot fail or return short (getrandom underneath, retried), so
 * there is one random source and no error path to test.
 */
static void
upload_random_hex(char hex[UPLOAD_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char b[UPLOAD_HEX_LEN / 2];
	size_t i;

	randombytes_buf(b, sizeof(b));
	for (i = 0; i < sizeof(b); i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 15];
	}
	hex[UPLOAD_HEX_LEN] = '\0';
}

enum upload_err
upload_new(struct upload_store *s, int64_t max, struct upload **out)
{
	struct upload *u = xcalloc(1, sizeof(*u));
	char hex[UPLOAD_HEX_LEN + 1];
	enum upload_err e = UPLOAD_ERR_IO;
	struct stat st;
	int tries;

	u->store = s;
	u->fd = -1;
	u->max = max;
	/*
	 * Create, then lock. A sweep that got in between has unlinked the
	 * file (it unlinks only what it locked): then try a new name.
	 */
	for (tries = 0; tries < 3; tries++) {
		upload_random_hex(hex);
		snprintf(
		    u->tmp, sizeof(u->tmp), "%s%s", UPLOAD_TMP_PREFIX, hex);
		u->fd = openat(s->dirfd, u->tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (u->fd == -1) {
			log_warn("%s: create temp file", __func__);
			e = upload_errno(errno);
			goto out;
		}
		u->ondisk = u->tmp;
		if (flock(u->fd, LOCK_EX) == -1 || fstat(u->fd, &st) == -1) {
			log_warn("%s: lock temp file", __func__);
			goto out;
		}
		if (st.st_nlink > 0)
			break;
		close(u->fd);
		u->fd = -1;
		u->ondisk = NULL;
	}
	if (u->fd == -1) {
		log_warnx("%s: temp files keep disappearing", __func__);
		goto out;
	}
	u->head = xmalloc(UPLOAD_HEAD_MAX);
	*out = u;
	u = NULL;
	e = UPLOAD_OK;
out:
	upload_free(u);
	return e;
}

enum upload_err
upload_write(struct upload *u, const void *buf, size_t len)
{
	const char *p = buf;
	size_t n;
	ssize_t w;

	if (len > (uint64_t)(u->max - u->size))
		return UPLOAD_ERR_TOO_LARGE;
	if (u->headlen < UPLOAD_HEAD_MAX) {
		n = UPLOAD_HEAD_MAX - u->headlen;
		n = n < len ? n : len;
		memcpy(u->head + u->headlen, p, n);
		u->headlen += n;
	}
	for (n = 0; n < len; n += (size_t)w) {
		if ((w = write(u->fd, p + n, len - n)) == -1) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			log_warn("%s: write", __func__);
			return upload_errno(errno);
		}
	}
	fault_hit("upload_mid_write");
	u->size += (int64_t)len;
	return UPLOAD_OK;
}

/* The allowed type libmagic finds in the head of "u", or NULL. */
static const struct upload_type *
upload_type_detect(struct upload *u)
{
	const char *mime;
	size_t i;

	mime = magic_buffer(u->store->magic, u->head, u->headlen);
	if (mime == NULL) {
		log_warnx("%s: magic_buffer: %s", __func__,
		    magic_error(u->store->magic));
		return NULL;
	}
	for (i = 0; i < UPLOAD_NTYPES; i++)
		if (u->store->allowed[i] &&
		    strcmp(upload_types[i].mime, mime) == 0)
			return &upload_types[i];
	log_debug("%s: refused type %s", __func__, mime);
	return NULL;
}

enum upload_err
upload_commit(struct upload *u, struct db *db, int64_t uploader,
    const char *original, int64_t now_ms, struct upload_result *res)
{
	const struct upload_type *t;
	char hex[UPLOAD_HEX_LEN + 1], *orig = NULL;
	enum upload_err e = UPLOAD_ERR_IO;
	enum chat_err ce;

	if ((t = upload_type_detect(u)) == NULL) {
		e = UPLOAD_ERR_TYPE;
		goto out;
	}
	if (fsync(u->fd) == -1) {
		log_warn("%s: fsync", __func__);
		e = upload_errno(errno);
		goto out;
	}
	upload_random_hex(hex);
	snprintf(u->final, sizeof(u->final), "%s.%s", hex, t->ext);
	if (renameat2(u->store->dirfd, u->tmp, u->store->dirfd, u->final,
	        RENAME_NOREPLACE) == -1) {
		log_warn("%s: rename", __func__);
		e = upload_errno(errno);
		goto out;
	}
	u->ondisk = u->final;
	if (fsync(u->store->dirfd) == -1) {
		log_warn("%s: fsync media directory", __func__);
		e = upload_errno(errno);
		goto out;
	}
	/* A crash here leaves a final-named file with no row: swept. */
	fault_hit("upload_before_row");
	orig = original != NULL ? upload_name_clean(original) : NULL;
	ce = db_media_insert(
	    db, u->final, uploader, u->size, t->mime, orig, now_ms);
	if (ce != CHAT_OK) {
		e = ce == CHAT_ERR_FULL   ? UPLOAD_ERR_FULL
		    : ce == CHAT_ERR_BUSY ? UPLOAD_ERR_BUSY
		                          : UPLOAD_ERR_IO;
		goto out;
	}
	u->ondisk = NULL;
	memcpy(res->name, u->final, sizeof(res->name));
	res->content_type = t->mime;
	res->size = u->size;
	e = UPLOAD_OK;
out:
	free(orig);
	return e;
}

void
upload_free(struct upload *u)
{
	if (u == NULL)
		return;
	/* Unlink while the lock is held, so no sweep can race us. */
	if (u->ondisk != NULL && unlinkat(u->store->dirfd, u->ondisk, 0) == -1)
		log_warn("%s: unlink", __func__);
	if (u->fd != -1)
		close(u->fd);
	free(u->head);
	free(u);
}

/* 1 for the characters a kept filename must not contain. */
static int
upload_char_dropped(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
	    cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

char *
upload_name_clean(const char *name)
{
	const unsigned char *s = (const unsigned char *)name, *p, *c;
	size_t n, len, clen, k, out = 0;
	uint32_t cp;
	char *r;

	/* The last path segment, whichever separator the client uses. */
	for (p = s; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			s = p + 1;
	n = strlen((const char *)s);
	r = xmalloc(UPLOAD_ORIG_MAX + 1);
	for (k = 0; k < n; k += len) {
		if ((len = utf8_decode(s + k, n - k, &cp)) == 0) {
			len = 1;
			c = (const unsigned char *)"_"; /* one bad byte */
			clen = 1;
		} else if (upload_char_dropped(cp))
			continue;
		else {
			c = s + k;
			clen = len;
		}
		if (out + clen > UPLOAD_ORIG_MAX)
			break;
		memcpy(r + out, c, clen);
		out += clen;
	}
	r[out] = '\0';
	if (out == 0 || strcmp(r, ".") == 0 || strcmp(r, "..") == 0) {
		free(r);
		return NULL;
	}
	return r;
}
