/* SPDX-License-Identifier: ISC */
/*
 * WAL checkpoints of the chat application, off the loop thread
 * (docs/architecture.md, "WAL checkpoints"). The daemon's own connection
 * never checkpoints in its commits (that would block the loop on two
 * fsyncs); a second connection, used only by
 * a libuv thread-pool worker, checkpoints when the daemon's commits have
 * left DB_WAL_CKPT_PAGES in the WAL and added CHAT_WAL_OWN_PAGES since the
 * last one, on every tick, and when hints say that workers write while the
 * last checkpoint found CHAT_WAL_BUSY_PAGES or more, CHAT_WAL_HINT_MS after
 * the last one ended (any turn that read new rows, a worker's hint or our
 * own commit, counts): workers posting fast add pages far quicker than the
 * tick keeps up with, while a few messages a second are left to the tick. One
 * checkpoint runs at a time. Below CHAT_WAL_WAIT_PAST it restarts the WAL only
 * when nobody holds it; past that, it waits for the lock while the loop keeps
 * its commits back. When readers or writers kept a WAL from restarting, the
 * next try waits CHAT_WAL_BACKOFF_MS, twice that after a second failure and so
 * on up to a second (only the tick tries then): short readers and the loop's
 * own commits let go soon, a reader inside a long transaction (sqlite3 CLI)
 * does not.
 */
#include <stdlib.h>

#include <uv.h>

#include "chat/db.h"
#include "common/conf.h"
#include "common/log.h"
#include "chat_int.h"

/*
 * Past this WAL size the checkpoint waits for the write lock to restart the
 * WAL, and the loop keeps its commits back meanwhile; below it, it restarts
 * the WAL only when the lock happens to be free. A restart holds every
 * writer back for the tail's copy and fsyncs, too often if it waited at
 * every DB_WAL_LIMIT (bench/results/notes-db.md).
 */
#define CHAT_WAL_WAIT_PAST (64 * 1024 * 1024)
/*
 * Our commits start a checkpoint once the WAL holds DB_WAL_CKPT_PAGES and
 * grew by this many pages since the last one started: small checkpoints
 * often keep each fsync short, without one on every turn
 * (bench/results/notes-db.md).
 */
#define CHAT_WAL_OWN_PAGES  200
#define CHAT_WAL_BACKOFF_MS 50   /* after the WAL was held: wait, doubling */
#define CHAT_WAL_QUIET_MS   1000 /* up to this, then tick only */
#define CHAT_WAL_BUSY_PAGES 100  /* found by the last one: hints may poke */
#define CHAT_WAL_HINT_MS    100  /* from the last one's end to a hint's */

/* Thread pool: checkpoint on the connection that only this uses. */
static void
chat_wal_work_cb(uv_work_t *w)
{
	struct chat_app *a = w->data;

	a->ckpt_err = db_checkpoint(a->ckpt_db, CHAT_WAL_WAIT_PAST,
	    &a->ckpt_pages, &a->ckpt_how, &a->ckpt_restarting);
}

/* Loop thread: the checkpoint is over (a failure was logged by db). */
static void
chat_wal_after_cb(uv_work_t *w, int status)
{
	struct chat_app *a = w->data;

	a->ckpt_running = 0;
	a->ckpt_end = uv_now(a->loop);
	if (status != 0 || a->ckpt_err != CHAT_OK) {
		a->ckpt_pages = 0;
		return;
	}
	if (a->ckpt_how != DB_CKPT_HELD) {
		a->ckpt_backoff = 0;
		if (a->ckpt_how == DB_CKPT_RESTART)
			log_debug("%s: WAL copied, restarts from its start",
			    __func__);
		return;
	}
	a->ckpt_backoff =
	    a->ckpt_backoff == 0 ? CHAT_WAL_BACKOFF_MS : 2 * a->ckpt_backoff;
	if (a->ckpt_backoff > CHAT_WAL_QUIET_MS)
		a->ckpt_backoff = CHAT_WAL_QUIET_MS;
	a->ckpt_quiet = a->ckpt_end + a->ckpt_backoff;
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
 * Start a checkpoint for the reason "why" (chat_int.h), unless one is
 * running or the daemon stops.
 */
void
chat_wal_poke(struct chat_app *a, enum chat_wal_why why)
{
	uint64_t now = uv_now(a->loop);

	if (a->ckpt_running || a->stopping || a->ckpt_db == NULL)
		return;
	if (why != CHAT_WAL_TICK && now < a->ckpt_quiet)
		return;
	if (why == CHAT_WAL_HINT &&
	    (a->ckpt_pages < CHAT_WAL_BUSY_PAGES ||
	        now < a->ckpt_end + CHAT_WAL_HINT_MS))
		return;
	if (why == CHAT_WAL_OWN) {
		/* CHAT_WAL_OWN_PAGES since the last started, or restarted. */
		int p = db_wal_pages(a->db);

		if (p < DB_WAL_CKPT_PAGES ||
		    p - (p >= a->ckpt_own ? a->ckpt_own : 0) <
		        CHAT_WAL_OWN_PAGES)
			return;
	}
	if (uv_queue_work(a->loop, &a->ckpt_work, chat_wal_work_cb,
	        chat_wal_after_cb) != 0) {
		log_warnx("%s: uv_queue_work failed", __func__);
		return;
	}
	a->ckpt_running = 1;
	a->ckpt_own = db_wal_pages(a->db);
}

/* Close the checkpoint connection (no checkpoint may be running). */
void
chat_wal_finish(struct chat_app *a)
{
	db_free(a->ckpt_db);
	a->ckpt_db = NULL;
}
