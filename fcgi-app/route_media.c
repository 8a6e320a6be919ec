/* SPDX-License-Identifier: ISC */
/*
 * POST /chat/upload_media/: the request body streams from FastCGI stdin
 * through lib/chat/multipart into lib/chat/upload in MEDIA_CHUNK pieces, so
 * memory stays bounded whatever the upload size. The size is checked three
 * times: CONTENT_LENGTH before reading, the bytes actually read, and the file
 * part's bytes. Client input never becomes a path, and a bad body is a
 * 4xx, never a 5xx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/db.h"
#include "chat/multipart.h"
#include "chat/upload.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "req.h"
#include "route_media.h"

#define MEDIA_CHUNK 65536
/* Room for the multipart framing and small fields around the file. */
#define MEDIA_ENVELOPE_MAX 65536
#define MEDIA_FIELD        "file"

/*
 * The worker's upload store. It lives here, not in struct app, because
 * only this route uses it; the worker is single-threaded, so one libmagic
 * handle per process is one per thread.
 */
static struct upload_store *route_media_store;

/* One upload request in progress: the multipart callbacks' state. */
struct media_ctx {
	const struct conf *cf;
	struct upload *up;    /* the "file" part, once begun */
	enum upload_err uerr; /* why a callback stopped the parser */
	int in_file;          /* inside the "file" part */
	char *orig;           /* the client's filename, if any */
};

int
route_media_init(const struct conf *cf, struct db *db)
{
	if ((route_media_store =
	            upload_store_new(cf->media_dir, cf->upload_types)) == NULL)
		return -1;
	if (upload_store_sweep(route_media_store, db) == -1) {
		route_media_finish();
		return -1;
	}
	return 0;
}

void
route_media_finish(void)
{
	upload_store_free(route_media_store);
	route_media_store = NULL;
}

/* part_begin: open the temp file for the "file" part, skip the others. */
static int
media_part_begin(void *arg, const struct multipart_part *p)
{
	struct media_ctx *c = arg;
	const char *name;

	if (strcmp(p->name, MEDIA_FIELD) != 0)
		return 0;
	/* filename* (RFC 5987) is the better name when the client sent it. */
	name = p->filename_ext != NULL ? p->filename_ext : p->filename;
	c->orig = name != NULL ? xstrdup(name) : NULL;
	c->uerr = upload_new(route_media_store, c->cf->upload_max, &c->up);
	if (c->uerr != UPLOAD_OK)
		return -1;
	c->in_file = 1;
	return 0;
}

/* part_data: the "file" part goes to the temp file, the rest nowhere. */
static int
media_part_data(void *arg, const char *buf, size_t len)
{
	struct media_ctx *c = arg;

	if (!c->in_file)
		return 0;
	if ((c->uerr = upload_write(c->up, buf, len)) != UPLOAD_OK)
		return -1;
	return 0;
}

static int
media_part_end(void *arg)
{
	struct media_ctx *c = arg;

	c->in_file = 0;
	return 0;
}

/*
 * Read and drop what is left of the body, up to a total of "cap" bytes
 * ("*total" already read). A worker that answers and closes with unread
 * input makes the kernel reset the connection, and the web server may
 * then turn the answer into a 502.
 */
static void
media_drain(struct req *r, char *buf, int64_t *total, int64_t cap)
{
	int n;

	while (
	    *total < cap && (n = FCGX_GetStr(buf, MEDIA_CHUNK, r->fr->in)) > 0)
		*total += n;
}

/* The answer for an upload that stopped on "e". */
static void
media_upload_fail(struct req *r, enum upload_err e)
{
	switch (e) {
	case UPLOAD_ERR_TOO_LARGE:
		req_error(r, 413, "File too large");
		break;
	case UPLOAD_ERR_TYPE:
		req_error(r, 415, "Unsupported file type");
		break;
	case UPLOAD_ERR_FULL:
		req_fail(r, CHAT_ERR_FULL);
		break;
	case UPLOAD_ERR_BUSY:
		req_fail(r, CHAT_ERR_BUSY);
		break;
	default:
		req_fail(r, CHAT_ERR_DB);
		break;
	}
}

/* 400 {"detail": "Invalid multipart body: <why>"}. */
static void
media_bad_body(struct req *r, enum multipart_err e)
{
	char detail[128];

	snprintf(detail, sizeof(detail), "Invalid multipart body: %s",
	    multipart_strerror(e));
	req_error(r, 400, detail);
}

/* 422 with FastAPI's answer for a missing UploadFile parameter. */
static void
media_missing_file(struct req *r)
{
	json_t *errs = json_array();

	req_verr_add(errs, req_loc("body", MEDIA_FIELD), "Field required",
	    "missing", NULL);
	req_invalid(r, errs);
}

void
route_media_upload(struct req *r)
{
	const struct conf *cf = &r->app->conf;
	struct media_ctx c = {cf, NULL, UPLOAD_OK, 0, NULL};
	struct multipart_cb cb = {
	    media_part_begin, media_part_data, media_part_end, &c};
	char bnd[MULTIPART_BOUNDARY_MAX + 1], *key = NULL;
	char *buf = xmalloc(MEDIA_CHUNK);
	struct multipart *m = NULL;
	struct upload_result res;
	int64_t limit = cf->upload_max + MEDIA_ENVELOPE_MAX, len = -1;
	int64_t total = 0;
	enum multipart_err me;
	enum upload_err ue;
	enum chat_err e;
	int n;

	if (route_media_store == NULL) {
		log_warnx("%s: route_media_init() was not called", __func__);
		req_fail(r, CHAT_ERR_DB);
		goto drain;
	}
	if (!r->authed && req_auth(r) == -1)
		goto drain;
	key = xasprintf("upload:%lld", (long long)r->user.id);
	e = req_rate_take(r, key, (double)cf->upload_burst, cf->upload_rate, 1);
	if (e != CHAT_OK) {
		if (e != CHAT_ERR_RATE)
			req_fail(r, e);
		goto drain;
	}
	if ((me = multipart_boundary(r->ctype, bnd)) == MULTIPART_ERR_CTYPE) {
		media_missing_file(r);
		goto drain;
	}
	if (me != MULTIPART_OK) {
		media_bad_body(r, me);
		goto drain;
	}
	if (req_content_length(r, &len) == -1)
		goto drain;
	if (len > limit) {
		req_error(r, 413, "File too large");
		goto drain;
	}

	m = multipart_new(bnd, (size_t)cf->upload_parts_max, &cb);
	me = MULTIPART_OK;
	while ((n = FCGX_GetStr(buf, MEDIA_CHUNK, r->fr->in)) > 0) {
		if ((total += n) > limit) {
			req_error(r, 413, "File too large");
			goto drain;
		}
		if ((me = multipart_feed(m, buf, (size_t)n)) != MULTIPART_OK)
			break;
	}
	if (me == MULTIPART_OK)
		me = multipart_finish(m);
	if (me == MULTIPART_ERR_ABORTED) {
		media_upload_fail(r, c.uerr);
		goto drain;
	}
	if (me != MULTIPART_OK) {
		media_bad_body(r, me);
		goto drain;
	}
	if (c.up == NULL) {
		media_missing_file(r);
		goto out;
	}
	ue = upload_commit(
	    c.up, r->app->db, r->user.id, c.orig, r->now_ms, &res);
	if (ue != UPLOAD_OK) {
		media_upload_fail(r, ue);
		goto out;
	}
	log_debug("%s: user %lld stored %s (%s, %lld bytes)", __func__,
	    (long long)r->user.id, res.name, res.content_type,
	    (long long)res.size);
	req_reply(r, 201,
	    json_pack("{s:s+, s:s, s:I}", "file_url", "/media/", res.name,
	        "content_type", res.content_type, "size",
	        (json_int_t)res.size));
	goto out;
drain:
	media_drain(r, buf, &total, 2 * limit);
out:
	upload_free(c.up);
	multipart_free(m);
	free(c.orig);
	free(key);
	free(buf);
}
