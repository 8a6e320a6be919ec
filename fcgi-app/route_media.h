/* SPDX-License-Identifier: ISC */
/*
 * The media upload route of the worker, POST /chat/upload_media/, and the
 * per-process upload store it writes to (lib/chat/upload: media directory and
 * libmagic handle). The handler reads the request body itself, streaming,
 * so its route must not go through req_body_read() and its 1 MiB cap.
 */
#ifndef ROUTE_MEDIA_H
#define ROUTE_MEDIA_H

struct conf;
struct db;
struct req;

/*
 * Open the upload store of "cf" (media_dir, upload_types; libmagic is
 * opened and loaded here, once) and remove the temp files and row-less
 * stored files left by dead workers (upload_store_sweep() with "db").
 * Call once at startup, before dropping privileges and before serving.
 * Returns 0, or -1 after logging.
 */
int route_media_init(const struct conf *cf, struct db *db);

/* Close the upload store (safe without route_media_init()). */
void route_media_finish(void);

/*
 * POST /chat/upload_media/: multipart/form-data with one part named
 * "file". Answers 201 {"file_url", "content_type", "size"}, or 400, 401,
 * 413, 415, 422, 429, 503, 507 as docs/api.md section 3 and 5 say.
 */
void route_media_upload(struct req *r);

#endif
