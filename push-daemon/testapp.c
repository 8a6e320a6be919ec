/* SPDX-License-Identifier: ISC */
/*
 * Test applications for the conformance suites, run by `chat-pushd
 * --test-echo PORT` and `--test-socket PORT`. They accept everyone: they
 * exist to exercise the protocol layers, and must stay out of the
 * production path (main.c selects them only by those flags).
 */
#include <string.h>

#include <jansson.h>

#include "testapp.h"

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

const struct eio_cbs testapp_echo = {NULL, testapp_echo_message, NULL, NULL};

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

struct sio *
testapp_socket_new(uv_loop_t *loop, const struct eio_conf *conf)
{
	static const struct sio_ops ops = {
	    NULL, testapp_connected, testapp_event, NULL, NULL};
	struct sio *srv = sio_new(loop, conf, &ops, NULL);

	sio_nsp_add(srv, "/custom");
	return srv;
}
