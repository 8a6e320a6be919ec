/* SPDX-License-Identifier: ISC */
/*
 * The two small applications the official protocol suites need
 * (docs/testing.md, "Protocol conformance"): a raw Engine.IO echo and the
 * socket.io-protocol suite's server. Test modes only; never the chat.
 */
#ifndef TESTAPP_H
#define TESTAPP_H

#include <uv.h>

#include "eio.h"
#include "sio.h"

/* Engine.IO echo: every text and binary message goes back as is. */
extern const struct eio_cbs testapp_echo;

/*
 * The socket suite's server on "loop": namespaces "/" and "/custom", the
 * "auth" echo on connect, "message" -> "message-back", "message-with-ack"
 * acknowledged with the same arguments, binary attachments included.
 */
struct sio *testapp_socket_new(uv_loop_t *loop, const struct eio_conf *conf);

#endif
