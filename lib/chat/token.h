/* SPDX-License-Identifier: ISC */
/*
 * The only code that touches libjwt: HS256 tokens issued and checked the
 * way docs/security.md section 1 describes: libjwt 1.10 validates no
 * claim by itself. It never logs a token or the key.
 */
#ifndef TOKEN_H
#define TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "chat/chat.h"

#define TOKEN_MAX     4096 /* longest token accepted, bytes */
#define TOKEN_KEY_MIN 32   /* shortest HMAC key accepted, bytes */
#define TOKEN_KEY_MAX 1024

/*
 * The fixed "iss" and "aud" of every token (docs/security.md 1.2): the
 * service issues its own tokens, for itself (the workers and the push daemon
 * alike).
 * token_check() refuses any other value, so a token signed with the same key
 * for another purpose is not taken for an access token.
 */
#define TOKEN_ISS "chat"
#define TOKEN_AUD "chat-api"

struct token_cache;

/*
 * The HMAC key, and the cache of tokens already verified with it (NULL: no
 * cache). token_key_load() makes both; a key built by hand has no cache.
 */
struct token_key {
	unsigned char *key;
	size_t len;
	struct token_cache *cache;
};

#define TOKEN_CACHE_SLOTS 256 /* verified tokens remembered per process */

/*
 * Read the key file "path" into "k" and give it an empty cache. Returns 0,
 * or -1 after logging when the file is unreadable or holds fewer than
 * TOKEN_KEY_MIN bytes (the process must then refuse to start). Trailing
 * newlines are not part of the key.
 */
int token_key_load(struct token_key *k, const char *path);
/* Wipe and free the key and its cache (explicit_bzero). */
void token_key_finish(struct token_key *k);

/*
 * Issue a token for user "uid" at "now" (seconds) valid "lifetime" seconds,
 * with claims iss (TOKEN_ISS), aud (TOKEN_AUD), sub (string), iat, exp,
 * jti. "*out" is a new string.
 * Returns 0 or -1 after logging.
 */
int token_issue(const struct token_key *k, int64_t uid, int64_t now,
    int64_t lifetime, char **out);

/*
 * Check "tok" at "now" (seconds) with "leeway" seconds of skew: length and
 * alphabet, signature, alg pinned to HS256, iss and aud the strings
 * TOKEN_ISS and TOKEN_AUD, exp required and integer, nbf and iat not in the
 * future, sub a decimal user id. On CHAT_OK stores the user id and iat (0
 * when absent); otherwise CHAT_ERR_AUTH. The caller must
 * still check that the user exists and that iat >= tokens_valid_after.
 * With a cache, a token verified before skips the decoding and signature
 * check (its claims are kept) but not the time checks, which run again at
 * every call with this "now" and "leeway".
 */
enum chat_err token_check(const struct token_key *k, const char *tok,
    int64_t now, int64_t leeway, int64_t *uid, int64_t *iat);

#endif
