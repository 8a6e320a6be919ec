/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for lib/sio/ws_codec.c, built with clang -fsanitize=fuzzer
 * (plus address,undefined). The input is parsed twice: whole, and in
 * pieces the way ws.c feeds it (unconsumed bytes carried over, never more
 * than a header plus a control frame). Both must agree, text delivered
 * must be valid UTF-8, and no message may exceed the limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "sio/ws_codec.h"

#define FUZZ_MAX_MSG 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_rec {
	uint64_t bytes, msgs, ctl;
	uint64_t cur; /* bytes of the open message */
	uint32_t utf8;
};

static int
fuzz_data(void *arg, int op, uint8_t *p, size_t len, int first, int last)
{
	struct fuzz_rec *r = arg;

	if (first)
		r->cur = 0, r->utf8 = UTF8_ACCEPT;
	r->cur += len;
	r->bytes += len;
	if (r->cur > FUZZ_MAX_MSG)
		abort();
	if (op == WS_OP_TEXT) {
		r->utf8 = utf8_feed(r->utf8, p, len);
		if (r->utf8 == UTF8_REJECT || (last && r->utf8 != UTF8_ACCEPT))
			abort();
	}
	r->msgs += last;
	return 0;
}

static int
fuzz_control(void *arg, int op, uint8_t *p, size_t len)
{
	struct fuzz_rec *r = arg;

	(void)p;
	if (len > WS_CONTROL_MAX || op < WS_OP_CLOSE)
		abort();
	r->ctl++;
	return 0;
}

static const struct ws_parser_cb fuzz_cb = {fuzz_data, fuzz_control, NULL};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_parser p1, p2;
	struct fuzz_rec r1, r2;
	uint8_t *whole, acc[WS_CLIENT_HDR_MAX + WS_CONTROL_MAX + 64];
	size_t used, have = 0, i, step;
	int rc1, rc2 = 0;

	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	whole = malloc(size + 1);
	memcpy(whole, data, size);
	ws_parser_init(&p1, FUZZ_MAX_MSG);
	rc1 = ws_parser_run(&p1, whole, size, &used, &fuzz_cb, &r1);
	if (rc1 == 0 && used > size)
		abort();
	free(whole);
	ws_parser_init(&p2, FUZZ_MAX_MSG);
	for (i = 0; i < size && rc2 == 0; i += step) {
		step = 1 + (data[i] & 63);
		if (step > size - i)
			step = size - i;
		if (step > sizeof(acc) - have)
			step = sizeof(acc) - have;
		memcpy(acc + have, data + i, step);
		have += step;
		rc2 = ws_parser_run(&p2, acc, have, &used, &fuzz_cb, &r2);
		if (rc2 != 0)
			break;
		memmove(acc, acc + used, have - used);
		have -= used;
		if (have > WS_CLIENT_HDR_MAX + WS_CONTROL_MAX)
			abort();
	}
	if (rc1 != rc2 ||
	    (rc1 == 0 &&
	        (r1.msgs != r2.msgs || r1.bytes != r2.bytes ||
	            r1.ctl != r2.ctl)))
		abort();
	return 0;
}
