/* SPDX-License-Identifier: ISC */
/*
 * WAL checkpoints of the chat application, off the loop thread. The
 * daemon's own connection no longer checkpoints in its commits (that
 * would block the loop on two fsyncs); a second connection, used only by
 * a libuv thread-pool worker, checkpoints when the daemon's commits have
 * left DB_WAL_CKPT_PAGES in the WAL and on every tick, which also covers
 * the workers' commits. One checkpoint runs at a time.
 */
#include <stdlib.h>

#include <uv.h>

#include "chat_int.h"
#include "conf.h"
#include "db.h"
#include "log.h"

/* Thread pool: checkpoint on the connection that only this uses. */
static void
chat_wal_work_cb(uv_work_t *w)
{
	struct chat_app *a = w->data;

	a->ckpt_err = db_checkpoint(a->ckpt_db, &a->ckpt_pages, &a->ckpt_cut);
}

/* Loop thread: the checkpoint is over (a failure was logged by db). */
static void
chat_wal_after_cb(uv_work_t *w, int status)
{
	struct chat_app *a = w->data;

	a->ckpt_running = 0;
	if (status == 0 && a->ckpt_err == CHAT_OK && a->ckpt_cut)
		log_debug("%s: WAL copied and truncated", __func__);
}

/*
 * Open the checkpoint connection and stop the daemon's own from
 * checkpointing. Returns 0, or -1 (logged by db).
 */
int
chat_wal_init(struct chat_app *a)
{
	if ((a->ckpt_db = db_open(a->cf->database, (int)a->cf->busy_timeout)) ==
	    NULL)
		return -1;
	db_wal_manual(a->db);
	a->ckpt_work.data = a;
	return 0;
}

/*
 * Start a checkpoint unless one is running or the daemon stops: always
 * with "any" set (the tick), else once the daemon's last commit left
 * DB_WAL_CKPT_PAGES or more in the WAL.
 */
void
chat_wal_poke(struct chat_app *a, int any)
{
	if (a->ckpt_running || a->stopping || a->ckpt_db == NULL)
		return;
	if (!any && db_wal_pages(a->db) < DB_WAL_CKPT_PAGES)
		return;
	if (uv_queue_work(a->loop, &a->ckpt_work, chat_wal_work_cb,
	        chat_wal_after_cb) != 0) {
		log_warnx("%s: uv_queue_work failed", __func__);
		return;
	}
	a->ckpt_running = 1;
}

/* Close the checkpoint connection (no checkpoint may be running). */
void
chat_wal_finish(struct chat_app *a)
{
	db_free(a->ckpt_db);
	a->ckpt_db = NULL;
}
