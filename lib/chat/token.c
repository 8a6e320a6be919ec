/* SPDX-License-Identifier: ISC */
/*
 * HS256 access tokens over libjwt 1.10.2, the only file that calls jwt_*().
 * libjwt checks nothing but the signature and "typ" (docs/security.md 1.1),
 * so this file caps the length before jwt_decode() (its alloca() overflows
 * the stack), pins the algorithm, and checks every claim itself from the
 * verified payload; a bounded cache of verified tokens (hashes and claims,
 * never the text) spares a repeated token the decoding. It must never log a
 * token or any byte of the key.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <jwt.h>
#include <sodium.h>

#include "chat/token.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* jwt_add_grant_int() takes a long: the claims are int64_t seconds. */
_Static_assert(sizeof(long) >= sizeof(int64_t), "long narrower than int64");

#define TOKEN_JTI_BYTES 16

/* The claims of a verified token that token_claims_time_check() needs. */
struct token_claims {
	int64_t uid;
	int64_t exp;
	int64_t nbf; /* when has_nbf */
	int64_t iat; /* 0 when absent */
	int has_nbf;
	int has_iat;
};

/* One verified token: the hash of its text and its claims. */
struct token_slot {
	unsigned char hash[crypto_generichash_BYTES];
	struct token_claims c;
	int used;
};

/*
 * Tokens this process verified with one key, direct-mapped by their
 * BLAKE2b hash (so no token text is kept, and a lookup compares hashes in
 * constant time). A valid token evicts whichever one held its slot.
 */
struct token_cache {
	struct token_slot slot[TOKEN_CACHE_SLOTS];
};

/*
 * Read the key file: no symlink, a regular file, at most TOKEN_KEY_MAX
 * bytes stored as is (raw or hex text alike), without trailing CR/LF.
 * A longer file is refused rather than silently cut, and so is a key
 * shorter than TOKEN_KEY_MIN: an empty key would make libjwt skip the
 * signature check. On failure "k" is left empty and the partial read wiped.
 * On success "k" also gets an empty cache of verified tokens.
 */
int
token_key_load(struct token_key *k, const char *path)
{
	unsigned char buf[TOKEN_KEY_MAX + 1];
	struct stat st;
	size_t len = 0;
	ssize_t r;
	int fd = -1, rc = -1;

	k->key = NULL;
	k->len = 0;
	k->cache = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		log_warn("%s: open %s", __func__, path);
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("%s: fstat %s", __func__, path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s: %s: not a regular file", __func__, path);
		goto out;
	}
	/* A warning, not a refusal: the key is still the one in use. */
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		log_warnx("%s: %s: mode %03o: others than its owner may read "
		          "or change the secret, make it 0400",
		    __func__, path, (unsigned)(st.st_mode & 0777));
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			log_warn("%s: read %s", __func__, path);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > TOKEN_KEY_MAX) {
		log_warnx("%s: %s: secret file longer than %d bytes", __func__,
		    path, TOKEN_KEY_MAX);
		goto out;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len < TOKEN_KEY_MIN) {
		log_warnx("%s: %s: secret file too short (%zu bytes, need %d)",
		    __func__, path, len, TOKEN_KEY_MIN);
		goto out;
	}
	k->key = xmalloc(len);
	memcpy(k->key, buf, len);
	k->len = len;
	k->cache = xcalloc(1, sizeof(*k->cache));
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	if (fd != -1)
		close(fd);
	return rc;
}

void
token_key_finish(struct token_key *k)
{
	if (k->key != NULL) {
		explicit_bzero(k->key, k->len);
		free(k->key);
	}
	if (k->cache != NULL) {
		explicit_bzero(k->cache, sizeof(*k->cache));
		free(k->cache);
	}
	k->key = NULL;
	k->len = 0;
	k->cache = NULL;
}

/* Fill "hex" (2 * TOKEN_JTI_BYTES + 1 bytes) with a random token id. */
static void
token_jti_new(char *hex, size_t hexsz)
{
	unsigned char rnd[TOKEN_JTI_BYTES];

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, hexsz, rnd, sizeof(rnd));
}

/*
 * Sign {"iss":TOKEN_ISS,"aud":TOKEN_AUD,"sub":"uid","iat":now,
 * "exp":now+lifetime,"jti":hex} with HS256.
 * "*out" is a new string (ours, not libjwt's) on success only.
 */
int
token_issue(const struct token_key *k, int64_t uid, int64_t now,
    int64_t lifetime, char **out)
{
	char sub[24], jti[2 * TOKEN_JTI_BYTES + 1];
	jwt_t *j = NULL;
	char *s = NULL;
	int64_t exp;
	int rc = -1;

	if (k->key == NULL || k->len < TOKEN_KEY_MIN || uid <= 0 ||
	    lifetime <= 0 || __builtin_add_overflow(now, lifetime, &exp)) {
		log_warnx("%s: bad key or arguments", __func__);
		goto out;
	}
	snprintf(sub, sizeof(sub), "%" PRId64, uid);
	token_jti_new(jti, sizeof(jti));
	if (jwt_new(&j) != 0) {
		log_warnx("%s: jwt_new failed", __func__);
		goto out;
	}
	if (jwt_set_alg(j, JWT_ALG_HS256, k->key, (int)k->len) != 0 ||
	    jwt_add_grant(j, "iss", TOKEN_ISS) != 0 ||
	    jwt_add_grant(j, "aud", TOKEN_AUD) != 0 ||
	    jwt_add_grant(j, "sub", sub) != 0 ||
	    jwt_add_grant_int(j, "iat", (long)now) != 0 ||
	    jwt_add_grant_int(j, "exp", (long)exp) != 0 ||
	    jwt_add_grant(j, "jti", jti) != 0) {
		log_warnx("%s: building the token failed", __func__);
		goto out;
	}
	if ((s = jwt_encode_str(j)) == NULL) {
		log_warnx("%s: jwt_encode_str failed", __func__);
		goto out;
	}
	*out = xstrdup(s);
	rc = 0;
out:
	free(s); /* libjwt 1.10 allocates with malloc() and has no free hook */
	jwt_free(j);
	return rc;
}

/*
 * Check the shape before libjwt sees the token: 1..TOKEN_MAX bytes of
 * [A-Za-z0-9_-.] in three non-empty segments. Stores the lengths of the
 * header and of the payload segment, which starts at "*payload".
 * strnlen() bounds the work on a huge input.
 */
static int
token_shape_check(
    const char *tok, size_t *hlen, const char **payload, size_t *plen)
{
	const char *dot[2];
	size_t len, i, ndots = 0;

	len = strnlen(tok, TOKEN_MAX + 1);
	if (len == 0 || len > TOKEN_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		char c = tok[i];

		if (c == '.') {
			if (ndots == 2)
				return -1;
			dot[ndots++] = tok + i;
		} else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		               (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return -1;
	}
	if (ndots != 2 || dot[0] == tok || dot[1] == dot[0] + 1 ||
	    dot[1] == tok + len - 1)
		return -1;
	*hlen = (size_t)(dot[0] - tok);
	*payload = dot[0] + 1;
	*plen = (size_t)(dot[1] - dot[0] - 1);
	return 0;
}

/*
 * Parse a segment (base64url without padding) as a JSON object, rejecting
 * duplicate keys and anything after the object. This runs only after
 * jwt_decode() verified the signature over these very bytes. libjwt's own
 * copies cannot serve: it keeps the last of duplicate keys (and
 * jwt_get_grants_json() re-serialises the claims, so the duplicates are
 * gone by then), and it reads the decoded header as a C string, so a
 * header with NUL bytes after its JSON passes there (fuzz-token found it).
 * Returns a new object or NULL.
 */
static json_t *
token_segment_parse(const char *seg, size_t seglen)
{
	unsigned char *bin;
	size_t binlen = 0;
	json_error_t jerr;
	json_t *o = NULL;

	bin = xmalloc(seglen);
	if (sodium_base642bin(bin, seglen, seg, seglen, NULL, &binlen, NULL,
	        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		goto out;
	o = json_loadb(
	    (const char *)bin, binlen, JSON_REJECT_DUPLICATES, &jerr);
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
out:
	free(bin);
	return o;
}

/*
 * Parse a user id: a JSON string of decimal digits without sign or leading
 * zero, 1..INT64_MAX. Returns 0, or -1 with "*id" untouched.
 */
static int
token_sub_parse(const json_t *v, int64_t *id)
{
	const char *s;
	int64_t n = 0;
	size_t i, len;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, s[i] - '0', &n))
			return -1;
	}
	*id = n;
	return 0;
}

/* a + b for b >= 0, saturated at INT64_MAX. */
static int64_t
token_add_sat(int64_t a, int64_t b)
{
	int64_t r;

	return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

/*
 * Our own reading of the verified header segment "seg": a JSON object
 * without duplicate keys whose "alg" is "HS256" and whose "typ", if any,
 * is "JWT" (any case, as libjwt allows). Returns 0 or -1.
 */
static int
token_header_check(const char *seg, size_t seglen)
{
	json_t *h = token_segment_parse(seg, seglen);
	const char *alg, *typ;
	int rc = -1;

	if (h == NULL)
		return -1;
	alg = json_string_value(json_object_get(h, "alg"));
	typ = json_string_value(json_object_get(h, "typ"));
	if (alg != NULL && strcmp(alg, "HS256") == 0 &&
	    (json_object_get(h, "typ") == NULL ||
	        (typ != NULL && strcasecmp(typ, "JWT") == 0)))
		rc = 0;
	json_decref(h);
	return rc;
}

/*
 * Whether claim "v" is the JSON string "want", compared over its whole
 * length, so a string with a NUL inside is not equal. An "aud" array
 * (RFC 7519 4.1.3 allows one) is refused: this service never issues one.
 */
static int
token_claim_is(const json_t *v, const char *want)
{
	return json_is_string(v) && json_string_length(v) == strlen(want) &&
	    memcmp(json_string_value(v), want, strlen(want)) == 0;
}

/*
 * The claims of the verified payload "c" (docs/security.md 1.2): "iss" and
 * "aud" the strings TOKEN_ISS and TOKEN_AUD, "exp" required and an integer,
 * "nbf" and "iat" integers when present, "sub" a user id. Returns 0, or -1
 * with a reason in "*why".
 */
static int
token_claims_read(json_t *c, struct token_claims *out, const char **why)
{
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!token_claim_is(json_object_get(c, "iss"), TOKEN_ISS)) {
		*why = "iss missing or not " TOKEN_ISS;
		return -1;
	}
	if (!token_claim_is(json_object_get(c, "aud"), TOKEN_AUD)) {
		*why = "aud missing or not " TOKEN_AUD;
		return -1;
	}
	v = json_object_get(c, "exp");
	if (!json_is_integer(v)) {
		*why = "exp missing or not an integer";
		return -1;
	}
	out->exp = json_integer_value(v);
	if ((v = json_object_get(c, "nbf")) != NULL) {
		if (!json_is_integer(v)) {
			*why = "nbf not an integer";
			return -1;
		}
		out->nbf = json_integer_value(v);
		out->has_nbf = 1;
	}
	if ((v = json_object_get(c, "iat")) != NULL) {
		if (!json_is_integer(v)) {
			*why = "iat not an integer";
			return -1;
		}
		out->iat = json_integer_value(v);
		out->has_iat = 1;
	}
	if (token_sub_parse(json_object_get(c, "sub"), &out->uid) == -1) {
		*why = "sub missing or not a user id";
		return -1;
	}
	return 0;
}

/*
 * The time checks of docs/security.md 1.2 at "now". A token is expired
 * once now >= exp + leeway: with leeway L it is still good during the L
 * seconds that follow "exp" and refused from exp + L on. "nbf" and "iat",
 * when present, must be <= now + leeway. Returns 0, or -1 with a reason in
 * "*why".
 */
static int
token_claims_time_check(
    const struct token_claims *c, int64_t now, int64_t leeway, const char **why)
{
	int64_t horizon = token_add_sat(now, leeway);

	if (now >= token_add_sat(c->exp, leeway)) {
		*why = "expired";
		return -1;
	}
	if (c->has_nbf && c->nbf > horizon) {
		*why = "nbf in the future";
		return -1;
	}
	if (c->has_iat && c->iat > horizon) {
		*why = "iat in the future";
		return -1;
	}
	return 0;
}

/*
 * The slot of "tok" in "cache" and its hash in "hash"; returns the slot,
 * which holds "tok" when token_slot_match() says so.
 */
static struct token_slot *
token_cache_slot(struct token_cache *cache, const char *tok, size_t len,
    unsigned char hash[crypto_generichash_BYTES])
{
	crypto_generichash(hash, crypto_generichash_BYTES,
	    (const unsigned char *)tok, len, NULL, 0);
	return &cache->slot[(hash[0] | (size_t)hash[1] << 8) %
	    TOKEN_CACHE_SLOTS];
}

/*
 * Verify "tok" as docs/security.md 1.2 says, in that order: shape and length
 * cap, a key of at least TOKEN_KEY_MIN bytes (libjwt skips the signature
 * check for an empty key, so this fails closed even if startup missed it),
 * jwt_decode(), alg pinned to HS256 (by libjwt and in our own strict
 * reading of the header), then our own claim checks. A token found in the
 * key's cache was through all of that with this key; only the time checks
 * run again. Every failure is CHAT_ERR_AUTH with a debug reason that never
 * quotes the token.
 */
enum chat_err
token_check(const struct token_key *k, const char *tok, int64_t now,
    int64_t leeway, int64_t *uid, int64_t *iat)
{
	unsigned char hash[crypto_generichash_BYTES];
	const char *payload, *why = NULL;
	struct token_slot *slot = NULL;
	struct token_claims c;
	size_t hlen, plen;
	jwt_t *j = NULL;
	json_t *claims = NULL;
	enum chat_err rc = CHAT_ERR_AUTH;

	if (k == NULL || k->key == NULL || k->len < TOKEN_KEY_MIN ||
	    leeway < 0) {
		log_warnx("%s: no usable key or bad leeway", __func__);
		goto out;
	}
	if (tok == NULL ||
	    token_shape_check(tok, &hlen, &payload, &plen) == -1) {
		why = "length, alphabet or segments";
		goto out;
	}
	if (k->cache != NULL) {
		slot = token_cache_slot(k->cache, tok, strlen(tok), hash);
		if (slot->used &&
		    sodium_memcmp(slot->hash, hash, sizeof(hash)) == 0) {
			c = slot->c;
			goto verified;
		}
	}
	if (jwt_decode(&j, tok, k->key, (int)k->len) != 0) {
		j = NULL;
		why = "signature, header or encoding";
		goto out;
	}
	if (jwt_get_alg(j) != JWT_ALG_HS256 ||
	    token_header_check(tok, hlen) == -1) {
		why = "alg is not HS256, or header not a clean JSON object";
		goto out;
	}
	if ((claims = token_segment_parse(payload, plen)) == NULL) {
		why = "payload not a JSON object without duplicate keys";
		goto out;
	}
	if (token_claims_read(claims, &c, &why) == -1)
		goto out;
	if (slot != NULL) {
		memcpy(slot->hash, hash, sizeof(hash));
		slot->c = c;
		slot->used = 1;
	}
verified:
	if (token_claims_time_check(&c, now, leeway, &why) == -1)
		goto out;
	*uid = c.uid;
	*iat = c.iat;
	rc = CHAT_OK;
out:
	if (why != NULL)
		log_debug("%s: token rejected: %s", __func__, why);
	json_decref(claims);
	jwt_free(j);
	return rc;
}
