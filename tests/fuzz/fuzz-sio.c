/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for lib/sio/sio_codec.c (clang -fsanitize=fuzzer plus
 * address,undefined). A packet that decodes must satisfy the promises the
 * daemon relies on (attachments <= SIO_ATTACH_MAX, ack id a safe integer,
 * event name a string) and must survive encode -> decode unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio/sio_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sio_packet p, q;
	size_t len;
	char *s;

	if (sio_packet_decode(&p, (const char *)data, size) != 0) {
		if (p.data != NULL)
			abort();
		return 0;
	}
	if (p.attachments < 0 || p.attachments > SIO_ATTACH_MAX || p.ack < -1 ||
	    p.ack > SIO_ACK_MAX || p.nsp[0] != '/')
		abort();
	if ((p.type == SIO_EVENT || p.type == SIO_BINARY_EVENT) &&
	    !json_is_string(json_array_get(p.data, 0)))
		abort();
	s = sio_packet_encode(&p, 0, &len);
	if (sio_packet_decode(&q, s, len) != 0 || q.type != p.type ||
	    q.ack != p.ack || q.attachments != p.attachments ||
	    strcmp(q.nsp, p.nsp) != 0 || (q.data == NULL) != (p.data == NULL) ||
	    (p.data != NULL && !json_equal(q.data, p.data)))
		abort();
	sio_packet_finish(&q);
	sio_packet_finish(&p);
	free(s);
	return 0;
}
