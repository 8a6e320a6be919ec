/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for lib/sio/eio_codec.c: polling payload decoding (built
 * with clang -fsanitize=fuzzer,address,undefined). Checks that every
 * packet delivered has a valid type and lies inside the input (or, for
 * binary, is no longer than its base64), and that re-encoding binary
 * packets gives the base64 they came from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio/eio_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_ctx {
	const uint8_t *base;
	size_t size;
};

static int
fuzz_packet(void *arg, int type, int binary, const uint8_t *p, size_t len)
{
	struct fuzz_ctx *c = arg;
	char *b64;

	if (type < 0 || type >= EIO__MAX || len > c->size)
		abort();
	if (!binary) {
		if (p < c->base || p + len > c->base + c->size)
			abort();
		return 0;
	}
	b64 = malloc(eio_b64_len(len) + 1);
	eio_b64_encode(b64, p, len);
	if (memmem(c->base, c->size, b64, eio_b64_len(len)) == NULL)
		abort();
	free(b64);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctx c = {data, size};

	/* The daemon hands an empty polling body over as NULL, 0. */
	if (size == 0)
		data = NULL;
	eio_payload_decode(data, size, fuzz_packet, &c);
	(void)eio_packet_type(data, size);
	return 0;
}
