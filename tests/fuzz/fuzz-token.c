/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for lib/chat/token.c token_check(), the only caller of
 * jwt_decode(), with a fixed 32-byte key and a fixed clock. An input is
 * either a raw token (first byte not 0x01), or, after a 0x01 byte, a
 * header and a payload separated by a newline that the harness encodes and
 * signs with the key itself, so that libjwt's header parsing and our claim
 * checks behind the signature are reached. Every accepted token is checked
 * again here, independently, against docs/security.md 1.2.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "chat/token.h"

#define FUZZ_NOW    1700000000
#define FUZZ_LEEWAY 30

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char fuzz_key_bytes[32] = "fuzz-key-0123456789abcdef012345";
static const struct token_key fuzz_key = {fuzz_key_bytes, 32, NULL};

/* Append the base64url (no padding) of "len" bytes at "p" to "dst". */
static char *
fuzz_b64(char *dst, const void *p, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(
	    len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);

	sodium_bin2base64(
	    dst, n, p, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return dst + strlen(dst);
}

/*
 * "header\npayload" signed with the fuzz key: a new NUL-terminated
 * "b64(header).b64(payload).b64(HMAC-SHA256)".
 */
static char *
fuzz_sign(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl != NULL ? (size_t)(nl - data) : size;
	const uint8_t *pl = nl != NULL ? nl + 1 : data + size;
	size_t plen = (size_t)(data + size - pl);
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char *tok, *p;

	tok = malloc(2 * (size + sizeof(mac)) + 16);
	p = fuzz_b64(tok, data, hlen);
	*p++ = '.';
	p = fuzz_b64(p, pl, plen);
	crypto_auth_hmacsha256(mac, (const unsigned char *)tok,
	    (unsigned long long)(p - tok), fuzz_key_bytes);
	*p++ = '.';
	fuzz_b64(p, mac, sizeof(mac));
	return tok;
}

/* The JSON of base64url segment "seg" of "len" bytes, or NULL. */
static json_t *
fuzz_segment_json(const char *seg, size_t len, size_t flags)
{
	unsigned char *bin = malloc(len + 1);
	size_t binlen = 0;
	json_t *v = NULL;

	if (sodium_base642bin(bin, len + 1, seg, len, NULL, &binlen, NULL,
	        sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0)
		v = json_loadb((const char *)bin, binlen, flags, NULL);
	free(bin);
	return v;
}

/*
 * Abort unless the accepted token "tok" meets docs/security.md 1.2 on its
 * own terms: at most TOKEN_MAX bytes, alg HS256, typ JWT if any, a claims
 * object without duplicate keys with iss and aud exactly TOKEN_ISS and
 * TOKEN_AUD, and whose exp, nbf, iat and sub agree with what token_check()
 * returned.
 */
static void
fuzz_accepted(const char *tok, int64_t uid, int64_t iat)
{
	const char *d1, *d2, *s;
	json_t *h, *c, *v;
	char sub[24];

	if (strlen(tok) > TOKEN_MAX || uid <= 0 ||
	    (d1 = strchr(tok, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL)
		abort();
	h = fuzz_segment_json(tok, (size_t)(d1 - tok), 0);
	c = fuzz_segment_json(
	    d1 + 1, (size_t)(d2 - d1 - 1), JSON_REJECT_DUPLICATES);
	if (!json_is_object(h) || !json_is_object(c))
		abort();
	s = json_string_value(json_object_get(h, "alg"));
	if (s == NULL || strcasecmp(s, "HS256") != 0)
		abort();
	s = json_string_value(json_object_get(h, "typ"));
	if (s != NULL && strcasecmp(s, "JWT") != 0)
		abort();
	v = json_object_get(c, "iss");
	if (!json_is_string(v) || strcmp(json_string_value(v), TOKEN_ISS) != 0)
		abort();
	v = json_object_get(c, "aud");
	if (!json_is_string(v) || strcmp(json_string_value(v), TOKEN_AUD) != 0)
		abort();
	v = json_object_get(c, "exp");
	if (!json_is_integer(v) ||
	    json_integer_value(v) <= FUZZ_NOW - FUZZ_LEEWAY)
		abort();
	v = json_object_get(c, "nbf");
	if (v != NULL &&
	    (!json_is_integer(v) ||
	        json_integer_value(v) > FUZZ_NOW + FUZZ_LEEWAY))
		abort();
	v = json_object_get(c, "iat");
	if (v != NULL ? !json_is_integer(v) || json_integer_value(v) != iat ||
	            iat > FUZZ_NOW + FUZZ_LEEWAY
	              : iat != 0)
		abort();
	snprintf(sub, sizeof(sub), "%lld", (long long)uid);
	s = json_string_value(json_object_get(c, "sub"));
	if (s == NULL || strcmp(s, sub) != 0)
		abort();
	json_decref(h);
	json_decref(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t uid = 0, iat = 0;
	char *tok;

	if (size > 0 && data[0] == 0x01)
		tok = fuzz_sign(data + 1, size - 1);
	else {
		tok = malloc(size + 1);
		memcpy(tok, data, size);
		tok[size] = '\0';
	}
	if (token_check(&fuzz_key, tok, FUZZ_NOW, FUZZ_LEEWAY, &uid, &iat) ==
	    CHAT_OK)
		fuzz_accepted(tok, uid, iat);
	free(tok);
	return 0;
}
