/* SPDX-License-Identifier: ISC */
/*
 * chat-pushd: the push daemon. One thread on a libuv loop serving
 * Socket.IO (Engine.IO v4, Socket.IO v5) at /socket.io/; the chat
 * application (chat.c, bus.c) plugs into sio.c. The test modes serve the
 * conformance suites' applications on loopback TCP and read no
 * configuration; they must never be what production runs.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "conf.h"
#include "eio.h"
#include "log.h"
#include "sio.h"
#include "testapp.h"

enum main_mode { MODE_CHAT, MODE_TEST_ECHO, MODE_TEST_SOCKET };

/* What the signal handler must stop. */
struct main_ctx {
	struct eio *eio; /* echo mode */
	struct sio *sio; /* socket mode */
	uv_signal_t sig[2];
};

static void
main_usage(void)
{
	fprintf(stderr,
	    "usage: chat-pushd [-nv] -c file\n"
	    "       chat-pushd [-v] --test-echo port | "
	    "--test-socket port\n");
	exit(2);
}

/* SIGINT/SIGTERM: close everything; uv_run() then returns. */
static void
main_signal_cb(uv_signal_t *h, int signum)
{
	struct main_ctx *ctx = h->data;

	log_info("signal %d: stopping", signum);
	if (ctx->eio != NULL)
		eio_stop(ctx->eio);
	if (ctx->sio != NULL)
		sio_stop(ctx->sio);
	uv_close((uv_handle_t *)&ctx->sig[0], NULL);
	uv_close((uv_handle_t *)&ctx->sig[1], NULL);
}

/* Parse the port argument "s". */
static int
main_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		fatalx("bad port: %s", s);
	return (int)v;
}

/*
 * Serve a test application on 127.0.0.1:"port" with the settings the
 * conformance README prescribes, until SIGINT/SIGTERM. Returns the exit
 * status.
 */
static int
main_test(enum main_mode mode, int port)
{
	struct eio_conf ec = {
	    .path = mode == MODE_TEST_ECHO ? "/engine.io/" : "/socket.io/",
	    .ping_interval = 300,
	    .ping_timeout = 200,
	    .cors_origins = NULL,
	    .cors_any = 1,
	    .lim = {.max_payload = 1000000,
	        .max_connections = 10000,
	        .send_queue_max = 4 * 1024 * 1024,
	        .handshake_timeout = 10000},
	};
	struct main_ctx ctx;
	uv_loop_t loop;
	int rc = 1, i;

	memset(&ctx, 0, sizeof(ctx));
	if (uv_loop_init(&loop) != 0)
		fatalx("uv_loop_init failed");
	if (mode == MODE_TEST_ECHO)
		ctx.eio = eio_new(&loop, &ec, &testapp_echo, NULL);
	else
		ctx.sio = testapp_socket_new(&loop, &ec);
	for (i = 0; i < 2; i++) {
		uv_signal_init(&loop, &ctx.sig[i]);
		ctx.sig[i].data = &ctx;
		uv_signal_start(
		    &ctx.sig[i], main_signal_cb, i == 0 ? SIGINT : SIGTERM);
	}
	if (eio_listen_tcp(ctx.eio != NULL ? ctx.eio : sio_eio(ctx.sio),
	        "127.0.0.1", port) == 0) {
		log_info("test mode listening on 127.0.0.1:%d", port);
		rc = 0;
	} else
		main_signal_cb(&ctx.sig[0], 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	eio_free(ctx.eio);
	sio_free(ctx.sio);
	if (uv_loop_close(&loop) != 0)
		log_warnx("%s: handles left open", __func__);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
	    {"test-echo", required_argument, NULL, 'E'},
	    {"test-socket", required_argument, NULL, 'S'}, {NULL, 0, NULL, 0}};
	enum main_mode mode = MODE_CHAT;
	const char *cfile = NULL;
	struct conf cf;
	int ch, check = 0, verbose = 0, port = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:nv", longopts, NULL)) != -1) {
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
		case 'E':
		case 'S':
			mode = ch == 'E' ? MODE_TEST_ECHO : MODE_TEST_SOCKET;
			port = main_port(optarg);
			break;
		default:
			main_usage();
		}
	}
	if (optind != argc || (mode == MODE_CHAT) == (cfile == NULL) ||
	    (mode != MODE_CHAT && check))
		main_usage();
	log_init("chat-pushd", 1, verbose);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	if (mode != MODE_CHAT)
		return main_test(mode, port);
	conf_init(&cf);
	rc = conf_load(&cf, cfile);
	if (rc == 0 && check)
		fprintf(stderr, "%s: configuration OK\n", cfile);
	else if (rc == 0) {
		fprintf(stderr, "chat-pushd: chat application not built\n");
		rc = -1;
	}
	conf_finish(&cf);
	return rc == 0 ? 0 : 1;
}
