/* SPDX-License-Identifier: ISC */
/*
 * Password hashing with libsodium's Argon2id, stored as PHC strings
 * ("$argon2id$v=19$m=19456,t=2,p=1$..."). Passwords are borrowed from the
 * caller, never copied, logged or kept; the only password this module owns
 * is the random one behind the dummy hash, wiped once hashed.
 */
#include <sodium.h>
#include <string.h>

#include "chat/passwd.h"
#include "common/log.h"

/*
 * OWASP's minimum for Argon2id (Password Storage Cheat Sheet): m = 19 MiB,
 * t = 2, p = 1 (libsodium always uses one lane): slow for an attacker,
 * cheap enough that login stays a bounded DoS lever behind the rate limits
 * (docs/security.md section 2).
 */
#define PASSWD_OPSLIMIT 2
#define PASSWD_MEMLIMIT ((size_t)19 * 1024 * 1024)

_Static_assert(PASSWD_HASH_MAX == crypto_pwhash_STRBYTES,
    "PASSWD_HASH_MAX must match crypto_pwhash_STRBYTES");

/* Hash of a random password, verified against for unknown users. */
static char passwd_dummy[PASSWD_HASH_MAX];

/*
 * Initialise libsodium and compute the dummy hash once, so that a login
 * for an unknown user costs one Argon2id verification like any other.
 */
int
passwd_init(void)
{
	unsigned char pw[32];
	int rc = -1;

	if (passwd_dummy[0] != '\0')
		return 0;
	if (sodium_init() < 0) {
		log_warnx("%s: sodium_init failed", __func__);
		goto out;
	}
	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str_alg(passwd_dummy, (const char *)pw, sizeof(pw),
	        PASSWD_OPSLIMIT, PASSWD_MEMLIMIT,
	        crypto_pwhash_ALG_ARGON2ID13) != 0) {
		log_warnx("%s: crypto_pwhash_str_alg failed (out of memory?)",
		    __func__);
		passwd_dummy[0] = '\0';
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(pw, sizeof(pw));
	return rc;
}

/*
 * Hash "pw" ("len" bytes, PASSWD_MIN..PASSWD_MAX, any bytes) with a fresh
 * random salt into "out". Returns 0, or -1 after logging (length out of
 * range, or the 19 MiB could not be allocated); "out" is then cleared.
 */
int
passwd_hash(const char *pw, size_t len, char out[PASSWD_HASH_MAX])
{
	if (len < PASSWD_MIN || len > PASSWD_MAX) {
		log_warnx("%s: password length %zu out of %d..%d", __func__,
		    len, PASSWD_MIN, PASSWD_MAX);
		out[0] = '\0';
		return -1;
	}
	if (crypto_pwhash_str_alg(out, pw, len, PASSWD_OPSLIMIT,
	        PASSWD_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		log_warnx("%s: crypto_pwhash_str_alg failed (out of memory?)",
		    __func__);
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * Verify "pw" against "hash", or against the dummy when "hash" is NULL
 * (then always 0). A password longer than PASSWD_MAX never matched
 * anything passwd_hash() made, so it is refused without hashing: the
 * refusal depends only on the input, not on whether the user exists.
 */
int
passwd_verify(const char *hash, const char *pw, size_t len)
{
	int match;

	if (len > PASSWD_MAX)
		return 0;
	if (hash == NULL && passwd_dummy[0] == '\0') {
		log_warnx("%s: passwd_init() was not called", __func__);
		return 0;
	}
	match = crypto_pwhash_str_verify(
	            hash != NULL ? hash : passwd_dummy, pw, len) == 0;
	return hash != NULL && match;
}

/*
 * 1 when "hash" is not an Argon2id hash with today's parameters: weaker,
 * different or another algorithm all mean "hash again on the next login".
 * The prefix is checked first because libsodium would compare an Argon2i
 * hash against Argon2i's parameters and call it current.
 */
int
passwd_needs_rehash(const char *hash)
{
	static const char prefix[] = crypto_pwhash_argon2id_STRPREFIX;

	if (strncmp(hash, prefix, sizeof(prefix) - 1) != 0)
		return 1;
	return crypto_pwhash_str_needs_rehash(
	           hash, PASSWD_OPSLIMIT, PASSWD_MEMLIMIT) != 0;
}
