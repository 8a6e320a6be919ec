/* SPDX-License-Identifier: ISC */
/*
 * Engine.IO packet and polling payload codec (engine.io-parser v5
 * semantics). Every byte comes from a client: nothing is trusted, and a
 * malformed payload is reported, never partly guessed at.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/xmalloc.h"
#include "sio/eio_codec.h"

int
eio_packet_type(const uint8_t *s, size_t len)
{
	if (len == 0 || s[0] < '0' || s[0] >= '0' + EIO__MAX)
		return -1;
	return s[0] - '0';
}

/*
 * 1 when the "len" bytes at "s" are strict padded base64: libsodium's
 * decoder alone was found (by fuzz-eio) to skip some invalid bytes.
 */
static int
eio_b64_valid(const uint8_t *s, size_t len)
{
	size_t i, pad = 0;

	if (len % 4 != 0)
		return 0;
	if (len > 0 && s[len - 1] == '=')
		pad = len > 1 && s[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		        (s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '+' ||
		        s[i] == '/'))
			return 0;
	return 1;
}

/* Decode and deliver one "b" packet of "len" base64 bytes at "s". */
static int
eio_payload_binary(const uint8_t *s, size_t len,
    int (*cb)(void *, int, int, const uint8_t *, size_t), void *arg)
{
	uint8_t *bin;
	size_t binlen;
	int rc = -1;

	bin = xmalloc(len / 4 * 3 + 3);
	if (!eio_b64_valid(s, len) ||
	    sodium_base642bin(bin, len / 4 * 3 + 3, (const char *)s, len, NULL,
	        &binlen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	rc = cb(arg, EIO_MESSAGE, 1, bin, binlen) ? -1 : 0;
out:
	free(bin);
	return rc;
}

int
eio_payload_decode(const uint8_t *buf, size_t len,
    int (*cb)(void *, int, int, const uint8_t *, size_t), void *arg)
{
	const uint8_t *p, *end, *sep;
	size_t n;
	int type;

	if (len == 0) /* no packet; "buf" may be NULL */
		return -1;
	p = buf;
	end = buf + len;
	for (;;) {
		sep = memchr(p, EIO_SEP, (size_t)(end - p));
		n = (size_t)((sep != NULL ? sep : end) - p);
		if (n > 0 && p[0] == 'b') {
			if (eio_payload_binary(p + 1, n - 1, cb, arg) != 0)
				return -1;
		} else {
			if ((type = eio_packet_type(p, n)) < 0 ||
			    cb(arg, type, 0, p + 1, n - 1) != 0)
				return -1;
		}
		if (sep == NULL)
			return 0;
		p = sep + 1;
	}
}

size_t
eio_b64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void
eio_b64_encode(char *dst, const uint8_t *src, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3, dst += 4) {
		v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 |
		    src[i + 2];
		dst[0] = tab[v >> 18];
		dst[1] = tab[v >> 12 & 63];
		dst[2] = tab[v >> 6 & 63];
		dst[3] = tab[v & 63];
	}
	if (i < n) {
		v = (uint32_t)src[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)src[i + 1] << 8;
		dst[0] = tab[v >> 18];
		dst[1] = tab[v >> 12 & 63];
		dst[2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		dst[3] = '=';
	}
}
