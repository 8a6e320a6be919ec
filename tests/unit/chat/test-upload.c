/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/chat/upload.c with the real libmagic, a temporary media
 * directory and a temporary database: every allowed type from a tiny
 * sample built here, disguised and active content refused, the polyglots
 * of docs/security.md 3.1 (stored, as the image type: serving headers must
 * make them inert), the size limit, failures that must leave nothing on disk,
 * filename cleaning, random names, and the sweep of stale temp files
 * and of stored files with no row.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "chat/upload.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "unit.h"

#define T0   1795844623123LL
#define TMPL "/tmp/test-upload-XXXXXX"

struct sample {
	const char *name;
	const char *data;
	size_t len;
	const char *type; /* NULL: refused */
	const char *ext;
};
#define S(n, d, t, e)                                                          \
	{                                                                      \
		n, d, sizeof(d) - 1, t, e                                      \
	}

/* Each header is what libmagic 5.44 needs to name the type. */
static const struct sample allowed[] = {
    S("png",
        "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01"
        "\x08\x00\x00\x00\x00:~\x9bU",
        "image/png", "png"),
    S("jpeg",
        "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00"
        "\x00\xff\xd9",
        "image/jpeg", "jpg"),
    S("gif", "GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif", "gif"),
    S("webp",
        "RIFF\x1a\x00\x00\x00WEBPVP8 \x0e\x00\x00\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        "image/webp", "webp"),
    S("pdf", "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        "application/pdf", "pdf"),
    S("mp4",
        "\x00\x00\x00\x18"
        "ftypisom\x00\x00\x02\x00isomiso2\x00\x00\x00\x08"
        "free",
        "video/mp4", "mp4"),
    S("mp3",
        "ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90"
        "d\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        "audio/mpeg", "mp3"),
    S("ogg",
        "OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00"
        "\x00\x00\x00\x00\x00\x00\x00\x01\x1e\x01vorbis\x00\x00\x00\x00\x02"
        "D\xac\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xb8"
        "\x01",
        "audio/ogg", "ogg"),
};

/* Active or unknown content, whatever name the client gives it. */
static const struct sample refused[] = {
    S("html.png",
        "<!DOCTYPE html><html><body><script>alert(document.cookie)"
        "</script></body></html>\n",
        NULL, NULL),
    S("svg.png",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)"
        "</script></svg>\n",
        NULL, NULL),
    S("svg-xml.gif",
        "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\">"
        "<script>alert(1)</script></svg>\n",
        NULL, NULL),
    S("elf.jpg",
        "\x7f"
        "ELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00"
        "\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00@\x00\x00\x00\x00"
        "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00@\x00"
        "8\x00\x00\x00@\x00\x00\x00\x00\x00",
        NULL, NULL),
    S("text.pdf", "just some text\n", NULL, NULL),
    S("js.mp3", "alert(1);\n", NULL, NULL),
    S("empty.png", "", NULL, NULL),
    S("zip.webp",
        "PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00"
        "evil.html",
        NULL, NULL),
    /* The other rows of docs/security.md 3.1's table. */
    S("html-gzip.gif",
        "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xb3\x51\x74\xf1\x77\x0e"
        "\x89\x0c\x70\x55\xc8\x28\xc9\xcd\xb1\xb3\x81\x90\x49\xf9\x29\x95"
        "\x76\x36\xc5\xc9\x45\x99\x05\x25\x76\x89\x39\xa9\x45\x25\x1a\x29"
        "\xf9\xc9\xa5\xb9\xa9\x79\x25\x7a\xc9\xf9\xf9\xd9\x99\xa9\x9a\x36"
        "\xfa\x50\x69\x1b\x7d\x88\x6a\x7d\xb0\x56\x2e\x00\x66\xef\xef\xb8"
        "\x51\x00\x00\x00",
        NULL, NULL),
    S("html-utf16.png",
        "\xff\xfe\x3c\x00\x21\x00\x44\x00\x4f\x00\x43\x00\x54\x00\x59\x00"
        "\x50\x00\x45\x00\x20\x00\x68\x00\x74\x00\x6d\x00\x6c\x00\x3e\x00"
        "\x3c\x00\x68\x00\x74\x00\x6d\x00\x6c\x00\x3e\x00\x3c\x00\x62\x00"
        "\x6f\x00\x64\x00\x79\x00\x3e\x00\x3c\x00\x73\x00\x63\x00\x72\x00"
        "\x69\x00\x70\x00\x74\x00\x3e\x00\x61\x00\x6c\x00\x65\x00\x72\x00"
        "\x74\x00\x28\x00\x64\x00\x6f\x00\x63\x00\x75\x00\x6d\x00\x65\x00"
        "\x6e\x00\x74\x00\x2e\x00\x63\x00\x6f\x00\x6f\x00\x6b\x00\x69\x00"
        "\x65\x00\x29\x00\x3c\x00\x2f\x00\x73\x00\x63\x00\x72\x00\x69\x00"
        "\x70\x00\x74\x00\x3e\x00\x3c\x00\x2f\x00\x62\x00\x6f\x00\x64\x00"
        "\x79\x00\x3e\x00\x3c\x00\x2f\x00\x68\x00\x74\x00\x6d\x00\x6c\x00"
        "\x3e\x00\x0a\x00",
        NULL, NULL),
    S("prose-script.jpg",
        "Dear reader,\nthis is a plain letter about nothing at all.\n"
        "Kind regards, the sender.\n<script>alert(document.cookie)"
        "</script>\n",
        NULL, NULL),
};

/*
 * Polyglots libmagic labels as allowed types (docs/security.md 3.1);
 * the PDF's OpenAction runs JavaScript in a viewer, so it is only ever
 * served as an attachment.
 */
static const struct sample polyglots[] = {
    S("gif-js.gif",
        "GIF89a/*\x01\x00\x00\x00\x00*/=1;alert(1)//<html><script>alert(1)"
        "</script>",
        "image/gif", "gif"),
    S("png-zip.png",
        "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01"
        "\x08\x00\x00\x00\x00:~\x9bU"
        "PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00"
        "evil.html<script>alert(1)</script>",
        "image/png", "png"),
    S("jpeg-com.jpg",
        "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00"
        "\x00\xff\xfe\x00\x22<script>alert(1)</script>\n\n\n\n\n\n\xff\xd9",
        "image/jpeg", "jpg"),
    S("pdf-openaction.pdf",
        "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction 3 0 R>>"
        "endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n3 0 obj<</S"
        "/JavaScript/JS(app.alert(1))>>endobj\ntrailer<</Root 1 0 R>>\n"
        "%%EOF\n",
        "application/pdf", "pdf"),
};

static char tmpdir[sizeof(TMPL)];
static char *mediadir, *dbpath;
static struct db *db;
static struct upload_store *store;
static struct conf cf;
static int64_t alice;

static void
setup(void)
{
	memcpy(tmpdir, TMPL, sizeof(TMPL));
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	mediadir = xasprintf("%s/media", tmpdir);
	ck_assert_int_eq(mkdir(mediadir, 0750), 0);
	dbpath = xasprintf("%s/chat.db", tmpdir);
	ck_assert_ptr_nonnull(db = db_open(dbpath, 1000));
	ck_assert_int_eq(db_user_insert(db, "alice", "alice@example.com", NULL,
	                     "$argon2id$x", T0, &alice),
	    CHAT_OK);
	conf_init(&cf);
	store = upload_store_new(mediadir, cf.upload_types);
	ck_assert_ptr_nonnull(store);
	umask(022);
}

/* Remove every file left in "dir" and the directory itself. */
static void
rm_dir(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char *p;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

static void
teardown(void)
{
	upload_store_free(store);
	db_free(db);
	conf_finish(&cf);
	rm_dir(mediadir);
	rm_dir(tmpdir);
	free(mediadir);
	free(dbpath);
}

/* The names in the media directory, sorted, joined with spaces. */
static char *
dir_list(void)
{
	struct dirent **ents;
	char *s = xstrdup(""), *t;
	int i, n;

	n = scandir(mediadir, &ents, NULL, alphasort);
	ck_assert_int_ge(n, 0);
	for (i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") != 0 &&
		    strcmp(ents[i]->d_name, "..") != 0) {
			t = xasprintf(
			    "%s%s%s", s, *s ? " " : "", ents[i]->d_name);
			free(s);
			s = t;
		}
		free(ents[i]);
	}
	free(ents);
	return s;
}

static void
assert_dir_empty(void)
{
	char *s = dir_list();

	ck_assert_str_eq(s, "");
	free(s);
}

/* Store "len" bytes in pieces of "chunk" under the limit "max". */
static enum upload_err
store_bytes(const char *data, size_t len, size_t chunk, int64_t max,
    const char *orig, int64_t uploader, struct upload_result *res)
{
	struct upload *u = NULL;
	enum upload_err e;
	size_t off, n;

	if ((e = upload_new(store, max, &u)) != UPLOAD_OK)
		return e;
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		if ((e = upload_write(u, data + off, n)) != UPLOAD_OK)
			goto out;
	}
	e = upload_commit(u, db, uploader, orig, T0, res);
out:
	upload_free(u);
	return e;
}

/* The stored file "name" must hold exactly "len" bytes of "data". */
static void
assert_file(const char *name, const char *data, size_t len)
{
	char *path = xasprintf("%s/%s", mediadir, name), *buf;
	struct stat st;
	FILE *fp;

	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0640);
	ck_assert_int_eq(st.st_size, (off_t)len);
	buf = xmalloc(len + 1);
	ck_assert_ptr_nonnull(fp = fopen(path, "rb"));
	ck_assert_uint_eq(fread(buf, 1, len + 1, fp), len);
	ck_assert(len == 0 || memcmp(buf, data, len) == 0);
	fclose(fp);
	free(buf);
	free(path);
}

/* "name" must be 32 lowercase hex digits, ".", then "ext". */
static void
assert_name(const char *name, const char *ext)
{
	size_t i;

	ck_assert_uint_eq(strlen(name), 33 + strlen(ext));
	for (i = 0; i < 32; i++)
		ck_assert_msg((name[i] >= '0' && name[i] <= '9') ||
		        (name[i] >= 'a' && name[i] <= 'f'),
		    "%s", name);
	ck_assert_int_eq(name[32], '.');
	ck_assert_str_eq(name + 33, ext);
}

/*
 * The row of "name": "*orig" is a new string (NULL when SQL NULL).
 * Read straight from SQLite: lib/chat/db has no media getter.
 */
static void
row_get(const char *name, int64_t *uploader, int64_t *size, char **type,
    char **orig)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	const unsigned char *o;

	ck_assert_int_eq(
	    sqlite3_open_v2(dbpath, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h,
	                     "SELECT uploader_id, size, content_type, "
	                     "original_name FROM media WHERE name = ?",
	                     -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	*uploader = sqlite3_column_int64(st, 0);
	*size = sqlite3_column_int64(st, 1);
	*type = xstrdup((const char *)sqlite3_column_text(st, 2));
	o = sqlite3_column_text(st, 3);
	*orig = o != NULL ? xstrdup((const char *)o) : NULL;
	sqlite3_finalize(st);
	sqlite3_close(h);
}

START_TEST(test_allowed_types)
{
	const struct sample *s = &allowed[_i];
	struct upload_result res;
	int64_t uploader, size;
	char *type, *orig, *list;

	ck_assert_int_eq(
	    store_bytes(s->data, s->len, 7, 1 << 20, s->name, alice, &res),
	    UPLOAD_OK);
	ck_assert_str_eq(res.content_type, s->type);
	ck_assert_int_eq(res.size, (int64_t)s->len);
	assert_name(res.name, s->ext);
	assert_file(res.name, s->data, s->len);
	list = dir_list();
	ck_assert_str_eq(list, res.name); /* no temp file left */
	free(list);
	ck_assert_int_eq(db_media_exists(db, res.name), CHAT_OK);
	row_get(res.name, &uploader, &size, &type, &orig);
	ck_assert_int_eq(uploader, alice);
	ck_assert_int_eq(size, (int64_t)s->len);
	ck_assert_str_eq(type, s->type);
	ck_assert_str_eq(orig, s->name);
	free(type);
	free(orig);
}
END_TEST

START_TEST(test_refused_types)
{
	const struct sample *s = &refused[_i];
	struct upload_result res;

	ck_assert_int_eq(
	    store_bytes(s->data, s->len, 5, 1 << 20, s->name, alice, &res),
	    UPLOAD_ERR_TYPE);
	assert_dir_empty();
}
END_TEST

START_TEST(test_polyglots)
{
	const struct sample *s = &polyglots[_i];
	struct upload_result res;

	ck_assert_int_eq(
	    store_bytes(s->data, s->len, 3, 1 << 20, s->name, alice, &res),
	    UPLOAD_OK);
	ck_assert_str_eq(res.content_type, s->type);
	assert_name(res.name, s->ext);
	assert_file(res.name, s->data, s->len);
}
END_TEST

/* A real ELF binary and a large file whose type is decided on its head. */
START_TEST(test_big_and_binary)
{
	struct upload_result res;
	char *buf = xmalloc(300000);
	size_t n;
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen("/bin/true", "rb"));
	n = fread(buf, 1, 300000, fp);
	fclose(fp);
	ck_assert_uint_gt(n, 1000);
	ck_assert_int_eq(
	    store_bytes(buf, n, 65536, 1 << 20, "true.png", alice, &res),
	    UPLOAD_ERR_TYPE);
	assert_dir_empty();
	/* A PDF of 300000 bytes, written in 64 KiB pieces. */
	memset(buf, '\n', 300000);
	memcpy(buf, allowed[4].data, allowed[4].len);
	ck_assert_int_eq(
	    store_bytes(buf, 300000, 65536, 300000, "big.pdf", alice, &res),
	    UPLOAD_OK);
	ck_assert_str_eq(res.content_type, "application/pdf");
	assert_file(res.name, buf, 300000);
	free(buf);
}
END_TEST

START_TEST(test_too_large)
{
	struct upload_result res;
	struct upload *u;
	char buf[600], *p;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, allowed[0].data, allowed[0].len);
	/* Exactly the limit is fine, one byte more is not. */
	ck_assert_int_eq(
	    store_bytes(buf, 600, 100, 600, NULL, alice, &res), UPLOAD_OK);
	p = xasprintf("%s/%s", mediadir, res.name);
	ck_assert_int_eq(unlink(p), 0);
	free(p);
	ck_assert_int_eq(store_bytes(buf, 600, 100, 599, NULL, alice, &res),
	    UPLOAD_ERR_TOO_LARGE);
	assert_dir_empty();
	/* The refused write stored nothing; the temp file exists until free. */
	ck_assert_int_eq(upload_new(store, 1000, &u), UPLOAD_OK);
	ck_assert_int_eq(upload_write(u, buf, 600), UPLOAD_OK);
	ck_assert_int_eq(upload_write(u, buf, 600), UPLOAD_ERR_TOO_LARGE);
	upload_free(u);
	assert_dir_empty();
}
END_TEST

/* A failing database insert (unknown uploader) leaves no file. */
START_TEST(test_db_failure)
{
	struct upload_result res;

	ck_assert_int_ne(store_bytes(allowed[0].data, allowed[0].len, 100, 1000,
	                     "a.png", alice + 1000, &res),
	    UPLOAD_OK);
	assert_dir_empty();
}
END_TEST

START_TEST(test_random_names)
{
	struct upload_result a, b;

	ck_assert_int_eq(store_bytes(allowed[2].data, allowed[2].len, 100, 1000,
	                     "same.gif", alice, &a),
	    UPLOAD_OK);
	ck_assert_int_eq(store_bytes(allowed[2].data, allowed[2].len, 100, 1000,
	                     "same.gif", alice, &b),
	    UPLOAD_OK);
	ck_assert_str_ne(a.name, b.name);
	ck_assert(strstr(a.name, "same") == NULL);
}
END_TEST

START_TEST(test_name_clean)
{
	static const struct {
		const char *in, *want;
	} t[] = {
	    {"cat.png", "cat.png"},
	    {"../../etc/passwd", "passwd"},
	    {"..%2f..%2fx.png", "..%2f..%2fx.png"},
	    {"..\\..\\boot.ini", "boot.ini"},
	    {"C:\\Users\\me\\a.png", "a.png"},
	    {"/abs/path.png", "path.png"},
	    {"a/../../b", "b"},
	    {"x.png%00.html", "x.png%00.html"},
	    {"CON", "CON"},
	    {".htaccess", ".htaccess"},
	    {"", NULL},
	    {".", NULL},
	    {"..", NULL},
	    {"dir/", NULL},
	    {"a\x01"
	     "b\x7f"
	     "c\td\r\ne.png",
	        "abcde.png"},
	    {"evil\xe2\x80\xaegnp.exe", "evilgnp.exe"}, /* U+202E */
	    {"\xe2\x81\xa6x\xe2\x81\xa9.png", "x.png"}, /* U+2066/9 */
	    {"a\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c.png",
	        "a.png"}, /* LRM RLM ALM */
	    {"a\xc2\x85"
	     "b",
	        "ab"}, /* C1 NEL */
	    {"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80.jpg",
	        "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80.jpg"},
	    {"\xc0\xaf.png", "__.png"},      /* overlong */
	    {"\xed\xa0\x80.png", "___.png"}, /* surrogate */
	    {"\xf4\x90\x80\x80.png", "____.png"},
	    {"\xe2\x82", "__"}, /* truncated */
	    {"\xff", "_"},
	};
	char *r, big[400];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		r = upload_name_clean(t[i].in);
		if (t[i].want == NULL)
			ck_assert_msg(r == NULL, "case %zu", i);
		else {
			ck_assert_msg(r != NULL, "case %zu", i);
			ck_assert_str_eq(r, t[i].want);
		}
		free(r);
	}
	/* 300 bytes: cut to 255. */
	memset(big, 'a', 300);
	big[300] = '\0';
	r = upload_name_clean(big);
	ck_assert_uint_eq(strlen(r), UPLOAD_ORIG_MAX);
	free(r);
	/* Cut at a character boundary: 127 x 2-byte "é" + "a" = 255. */
	for (i = 0; i < 130; i++)
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	big[260] = '\0';
	r = upload_name_clean(big);
	ck_assert_uint_eq(strlen(r), 254);
	free(r);
	big[0] = 'a';
	memmove(big + 1, big + 2, 260);
	r = upload_name_clean(big);
	ck_assert_uint_eq(strlen(r), 255);
	ck_assert_int_eq((unsigned char)r[254], 0xa9);
	free(r);
}
END_TEST

/* Traversal names land under a random name; the cleaned name is kept. */
START_TEST(test_traversal_stored)
{
	static const char *const names[] = {"../../etc/passwd", "..\\..\\x.png",
	    "/abs", "\xe2\x80\xae..", "a\nb.png", ""};
	static const char *const kept[] = {
	    "passwd", "x.png", "abs", NULL, "ab.png", NULL};
	struct upload_result res;
	int64_t uploader, size;
	char *type, *orig, *list;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ck_assert_int_eq(store_bytes(allowed[0].data, allowed[0].len,
		                     100, 1000, names[i], alice, &res),
		    UPLOAD_OK);
		assert_name(res.name, "png");
		row_get(res.name, &uploader, &size, &type, &orig);
		if (kept[i] == NULL)
			ck_assert_ptr_null(orig);
		else
			ck_assert_str_eq(orig, kept[i]);
		free(type);
		free(orig);
		list = dir_list();
		ck_assert_str_eq(list, res.name);
		free(list);
		list = xasprintf("%s/%s", mediadir, res.name);
		unlink(list);
		free(list);
	}
	/* Nothing escaped the media directory into its parent. */
	list = xasprintf("%s/passwd", tmpdir);
	ck_assert_int_eq(access(list, F_OK), -1);
	free(list);
}
END_TEST

START_TEST(test_sweep)
{
	struct upload_result res;
	struct upload *live;
	char *p, *list;
	int fd, held;

	/* An orphan, one held by a live process, a symlink, a kept file. */
	p = xasprintf("%s/.tmp-0123456789abcdef0123456789abcdef", mediadir);
	ck_assert_int_ne(fd = open(p, O_CREAT | O_WRONLY, 0640), -1);
	close(fd);
	free(p);
	p = xasprintf("%s/.tmp-held", mediadir);
	ck_assert_int_ne(held = open(p, O_CREAT | O_WRONLY, 0640), -1);
	ck_assert_int_eq(flock(held, LOCK_EX), 0);
	free(p);
	p = xasprintf("%s/.tmp-link", mediadir);
	ck_assert_int_eq(symlink(dbpath, p), 0);
	free(p);
	p = xasprintf("%s/keep.png", mediadir);
	ck_assert_int_ne(fd = open(p, O_CREAT | O_WRONLY, 0640), -1);
	close(fd);
	free(p);
	ck_assert_int_eq(upload_new(store, 1000, &live), UPLOAD_OK);
	ck_assert_int_eq(
	    upload_write(live, allowed[0].data, allowed[0].len), UPLOAD_OK);

	ck_assert_int_eq(upload_store_sweep(store, db), 2);
	list = dir_list();
	ck_assert_msg(strstr(list, ".tmp-held") != NULL, "%s", list);
	ck_assert_msg(strstr(list, "keep.png") != NULL, "%s", list);
	ck_assert_msg(strstr(list, ".tmp-0123") == NULL, "%s", list);
	ck_assert_msg(strstr(list, ".tmp-link") == NULL, "%s", list);
	free(list);
	ck_assert_int_eq(access(dbpath, F_OK), 0); /* link target kept */
	/* The live upload survived and still commits. */
	ck_assert_int_eq(
	    upload_commit(live, db, alice, "live.png", T0, &res), UPLOAD_OK);
	upload_free(live);
	assert_file(res.name, allowed[0].data, allowed[0].len);
	/* Once its holder is gone, the held one goes too. */
	close(held);
	ck_assert_int_eq(upload_store_sweep(store, db), 1);
	ck_assert_int_eq(upload_store_sweep(store, db), 0);
}
END_TEST

/* 1 when "name" is one of the space-separated names of "list". */
static int
in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = list; (p = strstr(p, name)) != NULL; p++)
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

/*
 * A worker that died between rename and row insert leaves a final-named
 * file with no row: the sweep removes it once no process holds its lock,
 * and keeps files with a row, names not of our form and symlinks.
 */
START_TEST(test_sweep_rowless)
{
	static const char orphan[] = "0123456789abcdef0123456789abcdef.png";
	static const char held_name[] = "fedcba9876543210fedcba9876543210.pdf";
	static const char *const kept[] = {
	    "0123456789ABCDEF0123456789ABCDEF.png", /* not our hex */
	    "0123456789abcdef0123456789abcdef.exe", /* not our extension */
	    "0123456789abcdef0123456789abcde.png",  /* 31 digits */
	    "0123456789abcdef0123456789abcdef.png.x",
	    "keep.png",
	};
	struct upload_result res;
	char *p, *list;
	size_t i;
	int fd, held;

	ck_assert_int_eq(store_bytes(allowed[0].data, allowed[0].len, 100, 1000,
	                     "a.png", alice, &res),
	    UPLOAD_OK);
	p = xasprintf("%s/%s", mediadir, orphan);
	ck_assert_int_ne(fd = open(p, O_CREAT | O_WRONLY, 0640), -1);
	close(fd);
	free(p);
	/* Held like an upload between rename and commit. */
	p = xasprintf("%s/%s", mediadir, held_name);
	ck_assert_int_ne(held = open(p, O_CREAT | O_WRONLY, 0640), -1);
	ck_assert_int_eq(flock(held, LOCK_EX), 0);
	free(p);
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		p = xasprintf("%s/%s", mediadir, kept[i]);
		ck_assert_int_ne(fd = open(p, O_CREAT | O_WRONLY, 0640), -1);
		close(fd);
		free(p);
	}
	p = xasprintf("%s/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.gif", mediadir);
	ck_assert_int_eq(symlink(dbpath, p), 0);
	free(p);

	/* Without a database only temp files are candidates. */
	ck_assert_int_eq(upload_store_sweep(store, NULL), 0);
	ck_assert_int_eq(upload_store_sweep(store, db), 1);
	list = dir_list();
	ck_assert_msg(!in_list(list, orphan), "%s", list);
	ck_assert_msg(in_list(list, res.name), "%s", list);
	ck_assert_msg(in_list(list, held_name), "%s", list);
	ck_assert_msg(
	    in_list(list, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.gif"), "%s", list);
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		ck_assert_msg(in_list(list, kept[i]), "%s", list);
	free(list);
	assert_file(res.name, allowed[0].data, allowed[0].len);
	ck_assert_int_eq(access(dbpath, F_OK), 0);
	/* Its holder gone (a crash releases the lock), it goes too. */
	close(held);
	ck_assert_int_eq(upload_store_sweep(store, db), 1);
	ck_assert_int_eq(upload_store_sweep(store, db), 0);
	assert_file(res.name, allowed[0].data, allowed[0].len);
}
END_TEST

START_TEST(test_store_new)
{
	struct upload_store *s;
	struct upload_result res;

	ck_assert_ptr_null(upload_store_new(mediadir, "image/svg+xml"));
	ck_assert_ptr_null(upload_store_new(mediadir, "image/png text/html"));
	ck_assert_ptr_null(upload_store_new(mediadir, "image/pn"));
	ck_assert_ptr_null(upload_store_new(mediadir, " "));
	ck_assert_ptr_null(upload_store_new("/nonexistent/media", "image/png"));
	/* A narrower allowlist refuses what the default allows. */
	s = upload_store_new(mediadir, "  image/gif\timage/png ");
	ck_assert_ptr_nonnull(s);
	upload_store_free(store);
	store = s;
	ck_assert_int_eq(store_bytes(allowed[4].data, allowed[4].len, 100, 1000,
	                     "a.pdf", alice, &res),
	    UPLOAD_ERR_TYPE);
	ck_assert_int_eq(store_bytes(allowed[2].data, allowed[2].len, 100, 1000,
	                     "a.gif", alice, &res),
	    UPLOAD_OK);
	upload_store_free(NULL);
	upload_free(NULL);
}
END_TEST

START_TEST(test_strerror)
{
	int i, j;

	for (i = 0; i < UPLOAD_ERR__MAX; i++) {
		ck_assert_str_ne(upload_strerror(i), "unknown error");
		for (j = 0; j < i; j++)
			ck_assert_str_ne(
			    upload_strerror(i), upload_strerror(j));
	}
	ck_assert_str_eq(upload_strerror(UPLOAD_ERR__MAX), "unknown error");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("upload");
	TCase *tc = tcase_create("upload");

	log_init("test-upload", 1, 0);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_allowed_types, 0,
	    (int)(sizeof(allowed) / sizeof(allowed[0])));
	tcase_add_loop_test(tc, test_refused_types, 0,
	    (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_loop_test(tc, test_polyglots, 0,
	    (int)(sizeof(polyglots) / sizeof(polyglots[0])));
	tcase_add_test(tc, test_big_and_binary);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_db_failure);
	tcase_add_test(tc, test_random_names);
	tcase_add_test(tc, test_name_clean);
	tcase_add_test(tc, test_traversal_stored);
	tcase_add_test(tc, test_sweep);
	tcase_add_test(tc, test_sweep_rowless);
	tcase_add_test(tc, test_store_new);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
