/* SPDX-License-Identifier: ISC */
/*
 * chat-pushd-test: the Socket.IO library (lib/sio, on lib/common alone) with
 * the two small applications the protocol conformance suites drive, run
 * as `chat-pushd-test --test-echo PORT` and `--test-socket PORT` on
 * 127.0.0.1. They accept everyone and read no configuration: this program
 * is built for the tests only and never installed, so the production
 * chat-pushd carries none of it.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <uv.h>

#include "common/log.h"
#include "sio/eio.h"
#include "sio/sio.h"

enum testapp_mode { MODE_NONE, MODE_TEST_ECHO, MODE_TEST_SOCKET };

/* What the signal handler must stop. */
struct testapp_ctx {
	struct eio *eio; /* echo mode */
	struct sio *sio; /* socket mode */
	uv_signal_t sig[2];
};

/* Engine.IO message: send it back unchanged. */
static void
testapp_echo_message(
    void *arg, struct eio_sess *s, int binary, uint8_t *data, size_t len)
{
	struct http_buf *m = eio_msg_new(binary, data, len);

	(void)arg;
	eio_sess_send(s, m);
	http_buf_unref(m);
}

/* Right after CONNECT: emit ["auth", <the CONNECT payload>]. */
static void
testapp_connected(void *app, struct sio_socket *s, json_t *auth)
{
	json_t *args = json_pack("[sO]", "auth", auth);

	(void)app;
	sio_emit(s, args, NULL, 0);
	json_decref(args);
}

/* "message" comes back as "message-back"; "message-with-ack" is acked. */
static void
testapp_event(void *app, struct sio_socket *s, json_t *args, int64_t ack,
    const struct sio_bin *bins, size_t nbins)
{
	const char *name = json_string_value(json_array_get(args, 0));
	json_t *out;

	(void)app;
	if (strcmp(name, "message") == 0) {
		out = json_copy(args);
		json_array_set_new(out, 0, json_string("message-back"));
		sio_emit(s, out, bins, nbins);
		json_decref(out);
	} else if (strcmp(name, "message-with-ack") == 0 && ack >= 0) {
		out = json_copy(args);
		json_array_remove(out, 0);
		sio_ack(s, ack, out, bins, nbins);
		json_decref(out);
	}
}

/*
 * The socket suite's server on "loop": namespaces "/" and "/custom", the
 * "auth" echo on connect, "message" -> "message-back", "message-with-ack"
 * acknowledged with the same arguments, binary attachments included.
 */
static struct sio *
testapp_socket_new(uv_loop_t *loop, const struct eio_conf *conf)
{
	static const struct sio_ops ops = {
	    NULL, testapp_connected, testapp_event, NULL, NULL};
	struct sio *srv = sio_new(loop, conf, &ops, NULL);

	sio_nsp_add(srv, "/custom");
	return srv;
}

static void
testapp_usage(void)
{
	fprintf(stderr,
	    "usage: chat-pushd-test [-v] --test-echo port | "
	    "--test-socket port\n");
	exit(2);
}

/* SIGINT/SIGTERM: close everything; uv_run() then returns. */
static void
testapp_signal_cb(uv_signal_t *h, int signum)
{
	struct testapp_ctx *ctx = h->data;

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
testapp_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		fatalx("bad port: %s", s);
	return (int)v;
}

/*
 * Serve a test application on 127.0.0.1:"port" until SIGINT/SIGTERM, with
 * the timings the suites expect (ping every 300 ms, 200 ms to answer),
 * any origin, and limits no test reaches. Returns the exit status.
 */
static int
testapp_serve(enum testapp_mode mode, int port)
{
	static const struct eio_cbs echo = {
	    NULL, testapp_echo_message, NULL, NULL};
	struct eio_conf ec = {
	    .path = mode == MODE_TEST_ECHO ? "/engine.io/" : "/socket.io/",
	    .ping_interval = 300,
	    .ping_timeout = 200,
	    .cors_origins = NULL,
	    .cors_any = 1,
	    .lim = {.max_payload = 1000000,
	        .max_connections = 10000,
	        .max_conns_per_addr = 10000,
	        .send_queue_max = 4 * 1024 * 1024,
	        .handshake_timeout = 10000,
	        .frame_burst = 1000000,
	        .frame_rate = 1000000},
	};
	struct testapp_ctx ctx;
	uv_loop_t loop;
	int rc = 1, i;

	memset(&ctx, 0, sizeof(ctx));
	if (uv_loop_init(&loop) != 0)
		fatalx("uv_loop_init failed");
	if (mode == MODE_TEST_ECHO)
		ctx.eio = eio_new(&loop, &ec, &echo, NULL);
	else
		ctx.sio = testapp_socket_new(&loop, &ec);
	for (i = 0; i < 2; i++) {
		uv_signal_init(&loop, &ctx.sig[i]);
		ctx.sig[i].data = &ctx;
		uv_signal_start(
		    &ctx.sig[i], testapp_signal_cb, i == 0 ? SIGINT : SIGTERM);
	}
	if (eio_listen_tcp(ctx.eio != NULL ? ctx.eio : sio_eio(ctx.sio),
	        "127.0.0.1", port) == 0) {
		log_info("test mode listening on 127.0.0.1:%d", port);
		rc = 0;
	} else
		testapp_signal_cb(&ctx.sig[0], 0);
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
	enum testapp_mode mode = MODE_NONE;
	int ch, verbose = 0, port = 0;

	while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			verbose = 1;
			break;
		case 'E':
		case 'S':
			mode = ch == 'E' ? MODE_TEST_ECHO : MODE_TEST_SOCKET;
			port = testapp_port(optarg);
			break;
		default:
			testapp_usage();
		}
	}
	if (optind != argc || mode == MODE_NONE)
		testapp_usage();
	log_init("chat-pushd-test", 1, verbose);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	return testapp_serve(mode, port);
}
