/* SPDX-License-Identifier: ISC */
/*
 * chat-pushd: the push daemon. One thread on a libuv loop serving
 * Socket.IO (Engine.IO v4, Socket.IO v5) at /socket.io/; the chat
 * application (chat_app.c, bus_srv.c) plugs into lib/sio. The conformance
 * suites' test applications are a separate program, chat-pushd-test
 * (tests/conformance/testapp.c), never linked in here.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sodium.h>
#include <uv.h>

#include "chat/db.h"
#include "chat/token.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/sandbox.h"
#include "common/xmalloc.h"
#include "sio/eio.h"
#include "sio/sio.h"
#include "chat_app.h"

/* What the signal handler must stop. */
struct main_ctx {
	struct chat_app *app; /* the chat */
	uv_signal_t sig[2];
};

static void
main_usage(void)
{
	fprintf(stderr, "usage: chat-pushd [-nv] -c file\n");
	exit(2);
}

/* SIGINT/SIGTERM: close everything; uv_run() then returns. */
static void
main_signal_cb(uv_signal_t *h, int signum)
{
	struct main_ctx *ctx = h->data;

	log_info("signal %d: stopping", signum);
	if (ctx->app != NULL)
		chat_app_stop(ctx->app);
	uv_close((uv_handle_t *)&ctx->sig[0], NULL);
	uv_close((uv_handle_t *)&ctx->sig[1], NULL);
}

/*
 * Create the folder of the Unix socket or ipc:// endpoint "ep" (mode 0700)
 * when it is missing, owned by the service user when root is to be
 * dropped ("pv"); its parent must exist. tcp:// needs nothing.
 * Returns 0, or -1 after logging.
 */
static int
main_dir_make(const struct priv *pv, const char *ep)
{
	char *dir, *slash;
	int rc = 0;

	if (strncmp(ep, "tcp://", 6) == 0)
		return 0;
	if (strncmp(ep, "ipc://", 6) == 0)
		ep += 6;
	dir = xstrdup(ep);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) == 0)
			rc = priv_chown(pv, dir);
		else if (errno != EEXIST) {
			log_warn("%s: %s", __func__, dir);
			rc = -1;
		}
	}
	free(dir);
	return rc;
}

/*
 * Also serve on "spec", "ip:port" (push_listen_tcp, for benchmarks that
 * reach the daemon without the web server); nothing when it is empty.
 * Returns 0, or -1 after logging.
 */
static int
main_listen_tcp(struct eio *e, const char *spec)
{
	const char *colon = strrchr(spec, ':');
	char *host, *end;
	long port;
	int rc = -1;

	if (*spec == '\0')
		return 0;
	if (colon == NULL) {
		log_warnx("%s: push_listen_tcp: want ip:port", __func__);
		return -1;
	}
	host = xstrndup(spec, (size_t)(colon - spec));
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
		log_warnx("%s: push_listen_tcp: bad port", __func__);
	else if (eio_listen_tcp(e, host, (int)port) == 0) {
		log_info("serving /socket.io/ on %s too", spec);
		rc = 0;
	}
	free(host);
	return rc;
}

/*
 * Once everything is open: hand what root created (the push socket, the
 * ipc:// files, the database) to the service user, become that user when
 * "pv" says so, and enter the sandbox. Returns 0, or -1 after logging.
 */
static int
main_confine(const struct priv *pv, const struct conf *cf)
{
	const char *ep[] = {cf->bus_events, cf->bus_query};
	size_t i;

	if (priv_chown(pv, cf->push_socket) == -1 ||
	    priv_db_chown(pv, cf->database) == -1)
		return -1;
	for (i = 0; i < sizeof(ep) / sizeof(ep[0]); i++)
		if (strncmp(ep[i], "ipc://", 6) == 0 &&
		    priv_chown(pv, ep[i] + 6) == -1)
			return -1;
	if (priv_drop(pv) == -1)
		return -1;
	return sandbox_enter("chat-pushd");
}

/*
 * Serve the chat as "cf" says until SIGINT/SIGTERM: the database, the JWT
 * key (refused below TOKEN_KEY_MIN bytes), the ZeroMQ endpoints, then the
 * HTTP Unix socket the web server proxies /socket.io/ to; then root is
 * dropped as "pv" says and the sandbox entered. Returns the exit status;
 * everything is released on the way out.
 */
static int
main_chat(const struct conf *cf, const struct priv *pv)
{
	struct eio_conf ec = {
	    .path = "/socket.io/",
	    .ping_interval = (uint64_t)cf->ping_interval,
	    .ping_timeout = (uint64_t)cf->ping_timeout,
	    .cors_origins =
	        cf->cors_origins[0] != '\0' ? cf->cors_origins : NULL,
	    .cors_any = 0,
	    .lim = {.max_payload = (uint64_t)cf->max_payload,
	        .max_connections = (uint64_t)cf->max_connections,
	        .max_conns_per_addr = (uint64_t)cf->max_connections_per_addr,
	        .send_queue_max = (uint64_t)cf->send_queue_max,
	        .handshake_timeout = (uint64_t)cf->handshake_timeout,
	        .frame_burst = (uint64_t)cf->ws_frame_burst,
	        .frame_rate = cf->ws_frame_rate},
	};
	struct token_key key = {NULL, 0, NULL};
	struct main_ctx ctx;
	struct db *db = NULL;
	uv_loop_t loop;
	int rc = 1, i, loop_up = 0;

	memset(&ctx, 0, sizeof(ctx));
	if (main_dir_make(pv, cf->push_socket) == -1 ||
	    main_dir_make(pv, cf->bus_events) == -1 ||
	    main_dir_make(pv, cf->bus_query) == -1)
		goto out;
	if ((db = db_open(cf->database, (int)cf->busy_timeout)) == NULL ||
	    db_cache_grow(db) == -1 ||
	    token_key_load(&key, cf->secret_file) == -1)
		goto out;
	if (uv_loop_init(&loop) != 0) {
		log_warnx("%s: uv_loop_init failed", __func__);
		goto out;
	}
	loop_up = 1;
	if ((ctx.app = chat_app_new(&loop, cf, db, &key, &ec)) == NULL)
		goto out;
	for (i = 0; i < 2; i++) {
		uv_signal_init(&loop, &ctx.sig[i]);
		ctx.sig[i].data = &ctx;
		uv_signal_start(
		    &ctx.sig[i], main_signal_cb, i == 0 ? SIGINT : SIGTERM);
	}
	if (eio_listen_unix(sio_eio(chat_app_sio(ctx.app)), cf->push_socket) ==
	        0 &&
	    main_listen_tcp(
	        sio_eio(chat_app_sio(ctx.app)), cf->push_listen_tcp) == 0 &&
	    main_confine(pv, cf) == 0) {
		log_info("serving /socket.io/ on %s", cf->push_socket);
		rc = 0;
	} else
		main_signal_cb(&ctx.sig[0], 0);
	uv_run(&loop, UV_RUN_DEFAULT);
out:
	chat_app_free(ctx.app);
	if (loop_up && uv_loop_close(&loop) != 0)
		log_warnx("%s: handles left open", __func__);
	token_key_finish(&key);
	db_free(db);
	return rc;
}

int
main(int argc, char *argv[])
{
	const char *cfile = NULL;
	struct priv pv;
	struct conf cf;
	int ch, check = 0, verbose = 0, rc;

	while ((ch = getopt(argc, argv, "c:nv")) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			main_usage();
		}
	}
	if (optind != argc || cfile == NULL)
		main_usage();
	log_init("chat-pushd", 1, verbose);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	conf_init(&cf);
	rc = conf_load(&cf, cfile);
	if (rc == 0 && check)
		fprintf(stderr, "%s: configuration OK\n", cfile);
	else if (rc == 0 &&
	    (rc = priv_init(&pv, cf.user, (int)cf.allow_root)) == 0)
		rc = main_chat(&cf, &pv) == 0 ? 0 : -1;
	conf_finish(&cf);
	return rc == 0 ? 0 : 1;
}
