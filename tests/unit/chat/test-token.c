/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/chat/token.c: every row of the libjwt 1.10.2 table in
 * docs/security.md 1.1 that can be built, the checks of 1.2 (iss, aud), the
 * exp/nbf/iat boundaries with an injected clock, the length cap, and the
 * key file rules. Tokens are crafted by hand (base64url + HMAC from libsodium),
 * never with libjwt.
 */
#include <check.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "chat/token.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "unit.h"

#define T0       INT64_C(1800000000) /* the injected "now" */
#define LIFETIME INT64_C(1800)
#define HDR256   "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
/* The iss and aud every valid payload carries, then a comma. */
#define ISSAUD "\"iss\":\"" TOKEN_ISS "\",\"aud\":\"" TOKEN_AUD "\","

static unsigned char test_keybytes[] = "0123456789abcdef0123456789abcdef";
static const struct token_key test_key = {test_keybytes, 32, NULL};

enum sig { SIG_HS256, SIG_HS384, SIG_HS512, SIG_EMPTY, SIG_GARBAGE };

/* base64url without padding of "len" bytes; a new string. */
static char *
b64url(const void *p, size_t len)
{
	size_t sz = sodium_base64_ENCODED_LEN(
	    len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = xmalloc(sz);

	sodium_bin2base64(
	    s, sz, p, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

/*
 * HMAC-SHA-384 (RFC 2104, block 128) from libsodium's SHA-512 state: SHA-384
 * is SHA-512 with other initial values, truncated to 48 bytes. libsodium
 * has no SHA-384 of its own; hmac384_vector checks this against RFC 4231.
 */
static void
sha384_init(crypto_hash_sha512_state *st)
{
	static const uint64_t iv[8] = {0xcbbb9d5dc1059ed8ULL,
	    0x629a292a367cd507ULL, 0x9159015a3070dd17ULL, 0x152fecd8f70e5939ULL,
	    0x67332667ffc00b31ULL, 0x8eb44a8768581511ULL, 0xdb0c2e0d64f98fa7ULL,
	    0x47b5481dbefa4fa4ULL};

	crypto_hash_sha512_init(st);
	memcpy(st->state, iv, sizeof(iv));
}

static void
hmac384(unsigned char out[48], const unsigned char *key, size_t keylen,
    const void *msg, size_t len)
{
	crypto_hash_sha512_state st;
	unsigned char k[128], pad[128], full[64];
	size_t i;

	ck_assert_uint_le(keylen, sizeof(k));
	memset(k, 0, sizeof(k));
	memcpy(k, key, keylen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	sha384_init(&st);
	crypto_hash_sha512_update(&st, pad, sizeof(pad));
	crypto_hash_sha512_update(&st, msg, len);
	crypto_hash_sha512_final(&st, full);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	sha384_init(&st);
	crypto_hash_sha512_update(&st, pad, sizeof(pad));
	crypto_hash_sha512_update(&st, full, 48);
	crypto_hash_sha512_final(&st, full);
	memcpy(out, full, 48);
}

/*
 * Build "b64(hdr).b64(payload).sig" signed with "key" as "sig" says
 * (independently of what the header claims). A new string.
 */
static char *
craft_key(const char *hdr, const char *payload, enum sig sig,
    const unsigned char *key, size_t keylen)
{
	unsigned char mac[64];
	size_t maclen = 0;
	char *h = b64url(hdr, strlen(hdr)),
	     *p = b64url(payload, strlen(payload));
	char *input = xasprintf("%s.%s", h, p), *s, *out;

	switch (sig) {
	case SIG_HS256: {
		crypto_auth_hmacsha256_state st;

		crypto_auth_hmacsha256_init(&st, key, keylen);
		crypto_auth_hmacsha256_update(
		    &st, (unsigned char *)input, strlen(input));
		crypto_auth_hmacsha256_final(&st, mac);
		maclen = 32;
		break;
	}
	case SIG_HS384:
		hmac384(mac, key, keylen, input, strlen(input));
		maclen = 48;
		break;
	case SIG_HS512: {
		crypto_auth_hmacsha512_state st;

		crypto_auth_hmacsha512_init(&st, key, keylen);
		crypto_auth_hmacsha512_update(
		    &st, (unsigned char *)input, strlen(input));
		crypto_auth_hmacsha512_final(&st, mac);
		maclen = 64;
		break;
	}
	case SIG_GARBAGE:
		memset(mac, 0xa5, 32);
		maclen = 32;
		break;
	case SIG_EMPTY:
		break;
	}
	s = b64url(mac, maclen);
	out = xasprintf("%s.%s", input, s);
	free(h);
	free(p);
	free(input);
	free(s);
	return out;
}

static char *
craft(const char *hdr, const char *payload, enum sig sig)
{
	return craft_key(hdr, payload, sig, test_key.key, test_key.len);
}

/*
 * The fixture key loaded with token_key_load(), so with a cache of
 * verified tokens; loaded once per test process.
 */
static const struct token_key *
cached_key(void)
{
	static struct token_key k = {NULL, 0, NULL};
	char path[] = "/tmp/test-token-key.XXXXXX";
	int fd;

	if (k.key != NULL)
		return &k;
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, test_keybytes, 32), 32);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(token_key_load(&k, path), 0);
	ck_assert_ptr_nonnull(k.cache);
	unlink(path);
	return &k;
}

/*
 * token_check() with the fixture key at "now"; uid/iat set on CHAT_OK.
 * Every row also runs twice on the cached key (a miss, then a hit when the
 * token was accepted before, at any "now"), which must answer the same.
 */
static enum chat_err
check_at(
    const char *tok, int64_t now, int64_t leeway, int64_t *uid, int64_t *iat)
{
	enum chat_err e = token_check(&test_key, tok, now, leeway, uid, iat);
	int64_t u2 = -5, i2 = -5;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		ck_assert_int_eq(
		    token_check(cached_key(), tok, now, leeway, &u2, &i2), e);
		if (e == CHAT_OK) {
			ck_assert_int_eq(u2, *uid);
			ck_assert_int_eq(i2, *iat);
		}
	}
	return e;
}

/* Expect "tok" to be rejected at T0, and "uid" to stay untouched. */
static void
expect_reject(char *tok)
{
	int64_t uid = -7, iat = -7;

	ck_assert_int_eq(check_at(tok, T0, 30, &uid, &iat), CHAT_ERR_AUTH);
	ck_assert_int_eq(uid, -7);
	ck_assert_int_eq(iat, -7);
	free(tok);
}

/* A payload valid at T0 with the given extra text spliced in first. */
static char *
payload_valid(const char *extra)
{
	return xasprintf("{%s" ISSAUD "\"sub\":\"42\",\"iat\":%" PRId64
	                 ",\"exp\":%" PRId64 "}",
	    extra, T0, T0 + LIFETIME);
}

START_TEST(hmac384_vector)
{
	/* RFC 4231 test case 2. */
	static const char want[] =
	    "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47"
	    "e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649";
	unsigned char mac[48];
	char hex[97];

	hmac384(mac, (const unsigned char *)"Jefe", 4,
	    "what do ya want for nothing?", 28);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	ck_assert_str_eq(hex, want);
}
END_TEST

/* Assert that the payload of "tok" has exactly our iss and aud strings. */
static void
expect_issaud(const char *tok)
{
	const char *p = strchr(tok, '.') + 1, *e = strrchr(tok, '.');
	unsigned char bin[TOKEN_MAX];
	size_t binlen = 0;
	json_t *c;

	ck_assert_int_eq(
	    sodium_base642bin(bin, sizeof(bin), p, (size_t)(e - p), NULL,
	        &binlen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	    0);
	c = json_loadb((const char *)bin, binlen, 0, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(
	    json_string_value(json_object_get(c, "iss")), TOKEN_ISS);
	ck_assert_str_eq(
	    json_string_value(json_object_get(c, "aud")), TOKEN_AUD);
	json_decref(c);
}

START_TEST(issue_roundtrip)
{
	char *tok = NULL, *tok2 = NULL;
	int64_t uid = 0, iat = 0;

	ck_assert_int_eq(token_issue(&test_key, 42, T0, LIFETIME, &tok), 0);
	ck_assert_ptr_nonnull(tok);
	ck_assert_uint_le(strlen(tok), TOKEN_MAX);
	ck_assert_int_eq(check_at(tok, T0, 30, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(uid, 42);
	ck_assert_int_eq(iat, T0);
	expect_issaud(tok);
	/* jti makes two tokens for the same user and second differ. */
	ck_assert_int_eq(token_issue(&test_key, 42, T0, LIFETIME, &tok2), 0);
	ck_assert_str_ne(tok, tok2);
	free(tok);
	free(tok2);
	ck_assert_int_eq(
	    token_issue(&test_key, INT64_MAX, T0, LIFETIME, &tok), 0);
	ck_assert_int_eq(check_at(tok, T0, 0, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(uid, INT64_MAX);
	free(tok);
}
END_TEST

START_TEST(issue_refuses)
{
	struct token_key shortkey = {test_keybytes, 31, NULL};
	char sentinel[] = "untouched", *tok = sentinel;

	ck_assert_int_eq(token_issue(&shortkey, 42, T0, LIFETIME, &tok), -1);
	ck_assert_int_eq(token_issue(&test_key, 0, T0, LIFETIME, &tok), -1);
	ck_assert_int_eq(token_issue(&test_key, -1, T0, LIFETIME, &tok), -1);
	ck_assert_int_eq(token_issue(&test_key, 1, T0, 0, &tok), -1);
	ck_assert_int_eq(
	    token_issue(&test_key, 1, INT64_MAX, LIFETIME, &tok), -1);
	ck_assert_ptr_eq(tok, sentinel);
}
END_TEST

START_TEST(crafted_valid)
{
	char *p = payload_valid(""), *tok = craft(HDR256, p, SIG_HS256);
	int64_t uid = 0, iat = 0;

	/* Proves the crafting is right, so the rejections below mean it. */
	ck_assert_int_eq(check_at(tok, T0, 30, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(uid, 42);
	ck_assert_int_eq(iat, T0);
	free(tok);
	free(p);
	/* No "typ" header and no iat: accepted, iat reported as 0. */
	p = xasprintf("{" ISSAUD "\"sub\":\"9\",\"exp\":%" PRId64 "}", T0 + 10);
	tok = craft("{\"alg\":\"HS256\"}", p, SIG_HS256);
	ck_assert_int_eq(check_at(tok, T0, 0, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(uid, 9);
	ck_assert_int_eq(iat, 0);
	free(tok);
	free(p);
}
END_TEST

START_TEST(tampered)
{
	char *p = payload_valid(""), *other = payload_valid("\"x\":1,");
	char *tok = craft(HDR256, p, SIG_HS256), *t2, *mix;
	static unsigned char k2[] = "0123456789abcdef0123456789abcdeX";

	/* Flip a bit in the first signature character. */
	tok[strrchr(tok, '.') - tok + 1] ^= 1;
	expect_reject(tok);
	expect_reject(craft(HDR256, p, SIG_GARBAGE));
	/* Another payload under the first payload's signature. */
	tok = craft(HDR256, p, SIG_HS256);
	t2 = craft(HDR256, other, SIG_HS256);
	mix = xasprintf(
	    "%.*s%s", (int)(strrchr(t2, '.') - t2), t2, strrchr(tok, '.'));
	expect_reject(mix);
	free(t2);
	free(tok);
	/* Right shape, other key. */
	expect_reject(craft_key(HDR256, p, SIG_HS256, k2, 32));
	free(other);
	free(p);
}
END_TEST

START_TEST(cache_rows)
{
	const struct token_key *k = cached_key();
	int64_t uid = 0, iat = 0, i;
	char *tok = NULL, *bad, *many[3 * TOKEN_CACHE_SLOTS];

	ck_assert_int_eq(token_issue(&test_key, 6, T0, LIFETIME, &tok), 0);
	ck_assert_int_eq(token_check(k, tok, T0, 0, &uid, &iat), CHAT_OK);
	/* Cached, yet still expired at exp and not yet valid before iat. */
	ck_assert_int_eq(
	    token_check(k, tok, T0 + LIFETIME, 0, &uid, &iat), CHAT_ERR_AUTH);
	ck_assert_int_eq(
	    token_check(k, tok, T0 - 1, 0, &uid, &iat), CHAT_ERR_AUTH);
	/* One signature bit off: not the cached token. */
	bad = xstrdup(tok);
	bad[strlen(bad) - 2] ^= 1;
	ck_assert_int_eq(token_check(k, bad, T0, 0, &uid, &iat), CHAT_ERR_AUTH);
	free(bad);
	/* More tokens than slots: evictions never accept a wrong user. */
	for (i = 0; i < 3 * TOKEN_CACHE_SLOTS; i++)
		ck_assert_int_eq(
		    token_issue(&test_key, i + 1, T0, LIFETIME, &many[i]), 0);
	for (i = 0; i < 6 * TOKEN_CACHE_SLOTS; i++) {
		uid = 0;
		ck_assert_int_eq(
		    token_check(k, many[i % (3 * TOKEN_CACHE_SLOTS)], T0, 0,
		        &uid, &iat),
		    CHAT_OK);
		ck_assert_int_eq(uid, i % (3 * TOKEN_CACHE_SLOTS) + 1);
	}
	for (i = 0; i < 3 * TOKEN_CACHE_SLOTS; i++)
		free(many[i]);
	free(tok);
}
END_TEST

START_TEST(alg_rows)
{
	char *p = payload_valid("");

	/* alg none, with and without a signature, any case. */
	expect_reject(
	    craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, SIG_EMPTY));
	expect_reject(
	    craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, SIG_HS256));
	expect_reject(craft("{\"alg\":\"NoNe\"}", p, SIG_EMPTY));
	expect_reject(craft("{\"alg\":\"NoNe\"}", p, SIG_HS256));
	/* No alg at all. */
	expect_reject(craft("{\"typ\":\"JWT\"}", p, SIG_HS256));
	/* Same secret, other HMAC: libjwt accepts these, the pin does not. */
	expect_reject(
	    craft("{\"alg\":\"HS384\",\"typ\":\"JWT\"}", p, SIG_HS384));
	expect_reject(
	    craft("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", p, SIG_HS512));
	/* RS256 header with an HMAC signature. */
	expect_reject(
	    craft("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", p, SIG_HS256));
	/* Header says HS256, signature is HS512. */
	expect_reject(craft(HDR256, p, SIG_HS512));
	/* typ other than JWT. */
	expect_reject(
	    craft("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", p, SIG_HS256));
	free(p);
}
END_TEST

/*
 * Headers libjwt accepts but our own strict reading refuses (fuzz-token
 * found the first): NUL bytes after the JSON, which libjwt reads as a C
 * string, duplicate keys, a null "typ".
 */
START_TEST(header_rows)
{
	static const char nulhdr[] = HDR256 "\0\0\0";
	char *p = payload_valid(""), *h = b64url(nulhdr, sizeof(nulhdr) - 1);
	char *b = b64url(p, strlen(p)), *input = xasprintf("%s.%s", h, b);
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	int64_t uid = 0, iat = 0;
	char *sig, *tok;

	crypto_auth_hmacsha256_init(&st, test_key.key, test_key.len);
	crypto_auth_hmacsha256_update(
	    &st, (unsigned char *)input, strlen(input));
	crypto_auth_hmacsha256_final(&st, mac);
	sig = b64url(mac, sizeof(mac));
	expect_reject(xasprintf("%s.%s", input, sig));
	expect_reject(
	    craft("{\"alg\":\"none\",\"alg\":\"HS256\"}", p, SIG_HS256));
	expect_reject(craft("{\"alg\":\"HS256\",\"typ\":null}", p, SIG_HS256));
	/* The same header without the NULs passes: the NULs are refused. */
	tok = craft(HDR256, p, SIG_HS256);
	ck_assert_int_eq(check_at(tok, T0, 30, &uid, &iat), CHAT_OK);
	free(tok);
	free(sig);
	free(input);
	free(b);
	free(h);
	free(p);
}
END_TEST

START_TEST(shape_rows)
{
	char *p = payload_valid(""), *tok = craft(HDR256, p, SIG_HS256);
	char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');

	expect_reject(xasprintf("%s.extra", tok)); /* 4 segments */
	expect_reject(xasprintf("%s.", tok));      /* 3 dots, empty 4th */
	expect_reject(xasprintf("%.*s", (int)(dot2 - tok), tok)); /* 1 dot */
	expect_reject(xasprintf("%s=", tok));                     /* padding */
	expect_reject(xasprintf(" %s", tok));
	expect_reject(xasprintf("%s\n", tok));
	expect_reject(xasprintf("%.*s+%s", (int)(dot1 - tok), tok, dot1));
	expect_reject(xasprintf("%.*s/%s", (int)(dot1 - tok), tok, dot1));
	expect_reject(
	    xasprintf("%.*s%s", (int)(dot1 - tok), tok, dot2)); /* a..c */
	expect_reject(xasprintf("%s", dot1));                   /* .b.c */
	expect_reject(xasprintf("%s", ""));
	expect_reject(xasprintf("%s", ".."));
	expect_reject(xasprintf("%s", "a.b.c"));
	free(tok);
	free(p);
}
END_TEST

START_TEST(payload_rows)
{
	char *p;

	/* Payload that is a JSON array. */
	expect_reject(craft(HDR256, "[\"42\",1]", SIG_HS256));
	expect_reject(craft(HDR256, "\"42\"", SIG_HS256));
	expect_reject(craft(HDR256, "{" ISSAUD "\"sub\":\"42\"", SIG_HS256));
	/* Duplicate claims: libjwt keeps the last one; we refuse. */
	p = xasprintf("{" ISSAUD "\"sub\":\"42\",\"exp\":1000,\"exp\":%" PRId64
	              "}",
	    T0 + 60);
	expect_reject(craft(HDR256, p, SIG_HS256));
	free(p);
	p = payload_valid("\"sub\":\"1\",");
	expect_reject(craft(HDR256, p, SIG_HS256));
	free(p);
	/* exp missing, as a string, as a real, in 1970. */
	expect_reject(craft(HDR256, "{" ISSAUD "\"sub\":\"42\"}", SIG_HS256));
	expect_reject(craft(HDR256,
	    "{" ISSAUD "\"sub\":\"42\",\"exp\":\"1999999999\"}", SIG_HS256));
	expect_reject(craft(
	    HDR256, "{" ISSAUD "\"sub\":\"42\",\"exp\":1.9e9}", SIG_HS256));
	expect_reject(craft(HDR256,
	    "{" ISSAUD "\"sub\":\"42\",\"exp\":1900000000.0}", SIG_HS256));
	expect_reject(craft(
	    HDR256, "{" ISSAUD "\"sub\":\"42\",\"exp\":1000}", SIG_HS256));
	expect_reject(craft(
	    HDR256, "{" ISSAUD "\"sub\":\"42\",\"exp\":null}", SIG_HS256));
	expect_reject(craft(
	    HDR256, "{" ISSAUD "\"sub\":\"42\",\"exp\":true}", SIG_HS256));
	/* Too big for int64: jansson refuses to parse. */
	expect_reject(craft(HDR256,
	    "{" ISSAUD "\"sub\":\"42\",\"exp\":99999999999999999999999}",
	    SIG_HS256));
	/* nbf far in the future, or not an integer. */
	p = payload_valid("\"nbf\":4000000000,");
	expect_reject(craft(HDR256, p, SIG_HS256));
	free(p);
	p = payload_valid("\"nbf\":\"0\",");
	expect_reject(craft(HDR256, p, SIG_HS256));
	free(p);
	/* iat in the future, or not an integer. */
	p = xasprintf("{" ISSAUD "\"sub\":\"42\",\"iat\":%" PRId64
	              ",\"exp\":%" PRId64 "}",
	    T0 + 3600, T0 + 7200);
	expect_reject(craft(HDR256, p, SIG_HS256));
	free(p);
	p = xasprintf("{" ISSAUD "\"sub\":\"42\",\"iat\":1.5,\"exp\":%" PRId64
	              "}",
	    T0 + 60);
	expect_reject(craft(HDR256, p, SIG_HS256));
	free(p);
}
END_TEST

/* Build {"sub":SUB,"exp":T0+60} with "sub" spliced in as raw JSON. */
static enum chat_err
check_sub(const char *sub, int64_t *uid)
{
	char *p = xasprintf(
	    "{" ISSAUD "\"sub\":%s,\"exp\":%" PRId64 "}", sub, T0 + 60);
	char *tok = craft(HDR256, p, SIG_HS256);
	int64_t iat = 0;
	enum chat_err e = check_at(tok, T0, 0, uid, &iat);

	free(tok);
	free(p);
	return e;
}

START_TEST(sub_rows)
{
	static const char *bad[] = {"42", "\"\"", "\"0\"", "\"042\"", "\"+42\"",
	    "\"-42\"", "\" 42\"", "\"42 \"", "\"4a\"", "\"1e3\"",
	    "\"9223372036854775808\"", "\"99999999999999999999\"", "null",
	    "[\"42\"]", "\"4\\u00002\""};
	int64_t uid = -7;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(check_sub(bad[i], &uid) == CHAT_ERR_AUTH,
		    "sub %s accepted", bad[i]);
		ck_assert_int_eq(uid, -7);
	}
	ck_assert_int_eq(check_sub("\"1\"", &uid), CHAT_OK);
	ck_assert_int_eq(uid, 1);
	ck_assert_int_eq(check_sub("\"9223372036854775807\"", &uid), CHAT_OK);
	ck_assert_int_eq(uid, INT64_MAX);
	/* Missing sub. */
	expect_reject(
	    craft(HDR256, "{" ISSAUD "\"exp\":1900000000}", SIG_HS256));
}
END_TEST

/*
 * Build a payload valid at T0 but for "iss" and "aud", spliced in as raw
 * JSON (NULL: the claim is absent), and check it.
 */
static enum chat_err
check_issaud(const char *iss, const char *aud)
{
	char *i = iss != NULL ? xasprintf("\"iss\":%s,", iss) : xstrdup("");
	char *a = aud != NULL ? xasprintf("\"aud\":%s,", aud) : xstrdup("");
	char *p = xasprintf("{%s%s\"sub\":\"42\",\"iat\":%" PRId64
	                    ",\"exp\":%" PRId64 "}",
	    i, a, T0, T0 + LIFETIME);
	char *tok = craft(HDR256, p, SIG_HS256);
	int64_t uid = -7, iat = -7;
	enum chat_err e = check_at(tok, T0, 30, &uid, &iat);

	if (e != CHAT_OK) {
		ck_assert_int_eq(uid, -7);
		ck_assert_int_eq(iat, -7);
	} else
		ck_assert_int_eq(uid, 42);
	free(tok);
	free(p);
	free(a);
	free(i);
	return e;
}

START_TEST(issaud_rows)
{
	/* A NULL column leaves that claim out of the payload. */
	static const struct {
		const char *iss, *aud;
	} bad[] = {
	    {NULL, "\"" TOKEN_AUD "\""},                /* no iss */
	    {"\"" TOKEN_ISS "\"", NULL},                /* no aud */
	    {NULL, NULL},                               /* neither */
	    {"\"other\"", "\"" TOKEN_AUD "\""},         /* wrong iss */
	    {"\"" TOKEN_ISS "\"", "\"other\""},         /* wrong aud */
	    {"\"" TOKEN_AUD "\"", "\"" TOKEN_ISS "\""}, /* swapped */
	    {"\"\"", "\"" TOKEN_AUD "\""},
	    {"\"" TOKEN_ISS "\"", "\"\""},
	    {"\"CHAT\"", "\"" TOKEN_AUD "\""}, /* case matters */
	    {"\"" TOKEN_ISS "\"", "\"CHAT-API\""},
	    {"\"cha\"", "\"" TOKEN_AUD "\""},            /* prefix */
	    {"\"" TOKEN_ISS "x\"", "\"" TOKEN_AUD "\""}, /* longer */
	    {"\"" TOKEN_ISS "\"", "\"" TOKEN_AUD " \""},
	    /* A NUL inside (jansson refuses it before our check). */
	    {"\"" TOKEN_ISS "\\u0000\"", "\"" TOKEN_AUD "\""},
	    {"\"" TOKEN_ISS "\"", "\"" TOKEN_AUD "\\u0000x\""},
	    /* Not strings. */
	    {"null", "\"" TOKEN_AUD "\""},
	    {"\"" TOKEN_ISS "\"", "null"},
	    {"1", "\"" TOKEN_AUD "\""},
	    {"\"" TOKEN_ISS "\"", "true"},
	    {"{}", "\"" TOKEN_AUD "\""},
	    {"[\"" TOKEN_ISS "\"]", "\"" TOKEN_AUD "\""},
	    /* RFC 7519 allows an aud array; we never issue one. */
	    {"\"" TOKEN_ISS "\"", "[\"" TOKEN_AUD "\"]"},
	    {"\"" TOKEN_ISS "\"", "[]"},
	    {"\"" TOKEN_ISS "\"", "{\"aud\":\"" TOKEN_AUD "\"}"},
	};
	int64_t uid = 0, iat = 0;
	char *p, *tok;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(
		    check_issaud(bad[i].iss, bad[i].aud) == CHAT_ERR_AUTH,
		    "iss %s aud %s accepted",
		    bad[i].iss ? bad[i].iss : "absent",
		    bad[i].aud ? bad[i].aud : "absent");
	/* Both right: accepted, so each row above fails for its flaw. */
	ck_assert_int_eq(
	    check_issaud("\"" TOKEN_ISS "\"", "\"" TOKEN_AUD "\""), CHAT_OK);
	/* Where the claims stand does not matter. */
	p = xasprintf("{\"sub\":\"42\",\"aud\":\"" TOKEN_AUD
	              "\",\"exp\":%" PRId64 ",\"iss\":\"" TOKEN_ISS "\"}",
	    T0 + 60);
	tok = craft(HDR256, p, SIG_HS256);
	ck_assert_int_eq(check_at(tok, T0, 0, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(uid, 42);
	free(tok);
	free(p);
	/* A wrong aud then ours: libjwt would keep the last; refused. */
	p = payload_valid("\"aud\":\"other\",");
	expect_reject(craft(HDR256, p, SIG_HS256));
	free(p);
}
END_TEST

START_TEST(exp_boundaries)
{
	char *tok = NULL;
	int64_t exp = T0 + LIFETIME, uid = 0, iat = 0, L = 30;

	ck_assert_int_eq(token_issue(&test_key, 5, T0, LIFETIME, &tok), 0);
	/* leeway 0: good up to exp - 1, expired at exp. */
	ck_assert_int_eq(check_at(tok, exp - 1, 0, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(check_at(tok, exp, 0, &uid, &iat), CHAT_ERR_AUTH);
	/* leeway L: good through exp + L - 1, expired from exp + L on. */
	ck_assert_int_eq(check_at(tok, exp - 1, L, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(check_at(tok, exp, L, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(check_at(tok, exp + L - 1, L, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(check_at(tok, exp + L, L, &uid, &iat), CHAT_ERR_AUTH);
	ck_assert_int_eq(
	    check_at(tok, exp + L + 1, L, &uid, &iat), CHAT_ERR_AUTH);
	/* iat = T0: not in the future from T0 - L on, refused before. */
	ck_assert_int_eq(check_at(tok, T0 - L, L, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(
	    check_at(tok, T0 - L - 1, L, &uid, &iat), CHAT_ERR_AUTH);
	ck_assert_int_eq(check_at(tok, T0, 0, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(check_at(tok, T0 - 1, 0, &uid, &iat), CHAT_ERR_AUTH);
	/* A negative leeway is a caller bug: refused. */
	ck_assert_int_eq(check_at(tok, T0, -1, &uid, &iat), CHAT_ERR_AUTH);
	free(tok);
}
END_TEST

START_TEST(nbf_boundaries)
{
	char *p = xasprintf("{" ISSAUD "\"sub\":\"3\",\"nbf\":%" PRId64
	                    ",\"exp\":%" PRId64 "}",
	    T0, T0 + 600);
	char *tok = craft(HDR256, p, SIG_HS256);
	int64_t uid = 0, iat = 0;

	ck_assert_int_eq(check_at(tok, T0, 0, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(check_at(tok, T0 - 1, 0, &uid, &iat), CHAT_ERR_AUTH);
	ck_assert_int_eq(check_at(tok, T0 - 30, 30, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(check_at(tok, T0 - 31, 30, &uid, &iat), CHAT_ERR_AUTH);
	free(tok);
	free(p);
	/* exp near INT64_MAX must not overflow into "expired long ago". */
	p = xasprintf(
	    "{" ISSAUD "\"sub\":\"3\",\"exp\":%" PRId64 "}", INT64_MAX);
	tok = craft(HDR256, p, SIG_HS256);
	ck_assert_int_eq(check_at(tok, T0, 60, &uid, &iat), CHAT_OK);
	free(tok);
	free(p);
}
END_TEST

/*
 * Find header and payload padding giving a token of exactly "want" bytes,
 * valid at T0. Base64url lengths skip some values, so both are varied.
 */
static char *
craft_len(size_t want)
{
	size_t kid, pad;

	for (kid = 1; kid < 5; kid++)
		for (pad = 0; pad < TOKEN_MAX; pad++) {
			char *h =
			    xasprintf("{\"alg\":\"HS256\",\"kid\":\"%.*s\"}",
			        (int)kid, "kkkkk");
			char *fill = xmalloc(pad + 1), *extra, *p, *tok;

			memset(fill, 'x', pad);
			fill[pad] = '\0';
			extra = xasprintf("\"pad\":\"%s\",", fill);
			p = payload_valid(extra);
			tok = craft(h, p, SIG_HS256);
			free(h);
			free(fill);
			free(extra);
			free(p);
			if (strlen(tok) == want)
				return tok;
			free(tok);
		}
	return NULL;
}

START_TEST(length_cap)
{
	char *tok;
	int64_t uid = 0, iat = 0;

	tok = craft_len(TOKEN_MAX);
	ck_assert_ptr_nonnull(tok);
	ck_assert_int_eq(check_at(tok, T0, 0, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(uid, 42);
	free(tok);
	tok = craft_len(TOKEN_MAX + 1);
	ck_assert_ptr_nonnull(tok);
	expect_reject(tok);
}
END_TEST

/*
 * A token of "n" bytes in the right alphabet: a real HS256 header, then a
 * payload of 'A's filling all but a short signature. libjwt decodes the
 * header first and only then the payload, so the payload is what reaches
 * its alloca().
 */
static char *
long_token(size_t n)
{
	char *h = b64url(HDR256, strlen(HDR256)), *s = xmalloc(n + 1);
	size_t hl = strlen(h);

	ck_assert_uint_gt(n, hl + 10);
	memcpy(s, h, hl);
	memset(s + hl, 'A', n - hl);
	s[hl] = '.';
	s[n - 5] = '.';
	s[n] = '\0';
	free(h);
	return s;
}

START_TEST(huge_tokens)
{
	/*
	 * Handed to jwt_decode(), the 12 MB token overflows the 8 MB stack
	 * (alloca of the payload segment): the test process would die on a
	 * signal. Getting an answer at all shows the cap ran first.
	 */
	expect_reject(long_token(TOKEN_MAX + 1));
	expect_reject(long_token(64 * 1024));
	expect_reject(long_token(12 * 1024 * 1024));
}
END_TEST

START_TEST(weak_key_fails_closed)
{
	/* libjwt skips the signature for a NULL or empty key: we must not. */
	struct token_key none = {NULL, 0, NULL},
	                 empty = {test_keybytes, 0, NULL},
	                 shortk = {test_keybytes, 31, NULL};
	char *p = payload_valid(""), *tok = craft(HDR256, p, SIG_GARBAGE);
	char *good = craft(HDR256, p, SIG_HS256);
	char *short_signed = craft_key(HDR256, p, SIG_HS256, test_keybytes, 31);
	int64_t uid = -7, iat = -7;

	ck_assert_int_eq(
	    token_check(&none, tok, T0, 0, &uid, &iat), CHAT_ERR_AUTH);
	ck_assert_int_eq(
	    token_check(&empty, tok, T0, 0, &uid, &iat), CHAT_ERR_AUTH);
	/* libjwt would verify this one: only our key length check refuses. */
	ck_assert_int_eq(token_check(&shortk, short_signed, T0, 0, &uid, &iat),
	    CHAT_ERR_AUTH);
	ck_assert_int_eq(
	    token_check(NULL, good, T0, 0, &uid, &iat), CHAT_ERR_AUTH);
	ck_assert_int_eq(
	    token_check(&test_key, NULL, T0, 0, &uid, &iat), CHAT_ERR_AUTH);
	ck_assert_int_eq(uid, -7);
	free(tok);
	free(good);
	free(short_signed);
	free(p);
}
END_TEST

/* Key file fixtures live in a fresh directory per test. */
static char keydir[64];

static void
keydir_setup(void)
{
	snprintf(keydir, sizeof(keydir), "/tmp/test-token.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(keydir));
}

static void
keydir_teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", keydir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* Write "len" bytes to keydir/name; returns the path (new). */
static char *
key_write(const char *name, const void *data, size_t len)
{
	char *path = xasprintf("%s/%s", keydir, name);
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* token_key_load() on "len" bytes of "data"; returns its result. */
static int
key_try(const void *data, size_t len, struct token_key *k)
{
	char *path = key_write("key", data, len);
	int rc = token_key_load(k, path);

	free(path);
	return rc;
}

START_TEST(key_sizes)
{
	unsigned char raw[TOKEN_KEY_MAX + 2];
	struct token_key k = {NULL, 0, NULL};
	size_t i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7 + 1);
	raw[5] = '\0'; /* raw bytes, NUL included, are key material */
	ck_assert_int_eq(key_try("", 0, &k), -1);
	ck_assert_ptr_null(k.key);
	ck_assert_int_eq(key_try(raw, 31, &k), -1);
	ck_assert_ptr_null(k.key);
	ck_assert_int_eq(
	    key_try("0123456789abcdef0123456789abcde\n", 32, &k), -1);
	ck_assert_int_eq(key_try("\n\n\r\n", 4, &k), -1);
	ck_assert_int_eq(key_try(raw, 32, &k), 0);
	ck_assert_uint_eq(k.len, 32);
	ck_assert_mem_eq(k.key, raw, 32);
	token_key_finish(&k);
	ck_assert_ptr_null(k.key);
	ck_assert_uint_eq(k.len, 0);
	/* Trailing CR/LF are not key material. */
	ck_assert_int_eq(
	    key_try("0123456789abcdef0123456789abcdef\r\n", 34, &k), 0);
	ck_assert_uint_eq(k.len, 32);
	ck_assert_mem_eq(k.key, "0123456789abcdef0123456789abcdef", 32);
	token_key_finish(&k);
	/* 64 hex characters, as make run writes: the key is the text. */
	ck_assert_int_eq(key_try("00112233445566778899aabbccddeeff"
	                         "00112233445566778899aabbccddeeff\n",
	                     65, &k),
	    0);
	ck_assert_uint_eq(k.len, 64);
	token_key_finish(&k);
	/* Exactly TOKEN_KEY_MAX is fine; one byte more is refused. */
	raw[TOKEN_KEY_MAX - 1] = 'x';
	ck_assert_int_eq(key_try(raw, TOKEN_KEY_MAX, &k), 0);
	ck_assert_uint_eq(k.len, TOKEN_KEY_MAX);
	token_key_finish(&k);
	ck_assert_int_eq(key_try(raw, TOKEN_KEY_MAX + 1, &k), -1);
	ck_assert_ptr_null(k.key);
	token_key_finish(&k); /* harmless on an empty key */
}
END_TEST

START_TEST(key_files)
{
	struct token_key k = {NULL, 0, NULL};
	char *target =
	    key_write("real", "0123456789abcdef0123456789abcdef", 32);
	char *link = xasprintf("%s/link", keydir);
	char *missing = xasprintf("%s/missing", keydir);
	char *tok = NULL;
	int64_t uid = 0, iat = 0;

	ck_assert_int_eq(token_key_load(&k, target), 0);
	/* The loaded key verifies what the fixture key signed. */
	ck_assert_int_eq(token_issue(&k, 8, T0, 60, &tok), 0);
	ck_assert_int_eq(check_at(tok, T0, 0, &uid, &iat), CHAT_OK);
	ck_assert_int_eq(uid, 8);
	free(tok);
	token_key_finish(&k);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(token_key_load(&k, link), -1);
	ck_assert_ptr_null(k.key);
	ck_assert_int_eq(token_key_load(&k, missing), -1);
	ck_assert_int_eq(token_key_load(&k, keydir), -1); /* a directory */
	ck_assert_ptr_null(k.key);
	free(target);
	free(link);
	free(missing);
}
END_TEST

static Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("token");
	TCase *tk = tcase_create("key");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, hmac384_vector);
	tcase_add_test(tc, issue_roundtrip);
	tcase_add_test(tc, issue_refuses);
	tcase_add_test(tc, crafted_valid);
	tcase_add_test(tc, tampered);
	tcase_add_test(tc, cache_rows);
	tcase_add_test(tc, alg_rows);
	tcase_add_test(tc, header_rows);
	tcase_add_test(tc, shape_rows);
	tcase_add_test(tc, payload_rows);
	tcase_add_test(tc, sub_rows);
	tcase_add_test(tc, issaud_rows);
	tcase_add_test(tc, exp_boundaries);
	tcase_add_test(tc, nbf_boundaries);
	tcase_add_test(tc, length_cap);
	tcase_add_test(tc, huge_tokens);
	tcase_add_test(tc, weak_key_fails_closed);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tk, keydir_setup, keydir_teardown);
	tcase_add_test(tk, key_sizes);
	tcase_add_test(tk, key_files);
	suite_add_tcase(s, tk);
	return s;
}

int
main(void)
{
	log_init("test-token", 1, getenv("TEST_VERBOSE") != NULL);
	if (sodium_init() < 0)
		return 1;
	return unit_run(token_suite());
}
