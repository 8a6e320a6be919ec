/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/chat/passwd.c: hashing and verifying, the PHC string's
 * algorithm and parameters, the length limits, the dummy hash for unknown
 * users, and when a stored hash needs to be redone.
 */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat/passwd.h"
#include "common/log.h"
#include "unit.h"

#define PW "correct horse battery staple"

static void
setup(void)
{
	ck_assert_int_eq(passwd_init(), 0);
}

START_TEST(test_hash_verify)
{
	char h[PASSWD_HASH_MAX];

	ck_assert_int_eq(passwd_hash(PW, strlen(PW), h), 0);
	ck_assert_int_eq(passwd_verify(h, PW, strlen(PW)), 1);
	ck_assert_int_eq(
	    passwd_verify(h, "correct horse battery stapl", 27), 0);
	ck_assert_int_eq(
	    passwd_verify(h, "Correct horse battery staple", strlen(PW)), 0);
	ck_assert_int_eq(passwd_verify(h, "", 0), 0);
}
END_TEST

START_TEST(test_binary_password)
{
	/* The length counts, not a NUL: bytes after one still matter. */
	static const char a[] = "abc\0defgh", b[] = "abc\0defgX";
	char h[PASSWD_HASH_MAX];

	ck_assert_int_eq(passwd_hash(a, sizeof(a) - 1, h), 0);
	ck_assert_int_eq(passwd_verify(h, a, sizeof(a) - 1), 1);
	ck_assert_int_eq(passwd_verify(h, b, sizeof(b) - 1), 0);
	ck_assert_int_eq(passwd_verify(h, a, 3), 0);
}
END_TEST

START_TEST(test_phc_string)
{
	char h1[PASSWD_HASH_MAX], h2[PASSWD_HASH_MAX];

	ck_assert_int_eq(passwd_hash(PW, strlen(PW), h1), 0);
	ck_assert_int_eq(passwd_hash(PW, strlen(PW), h2), 0);
	ck_assert_msg(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0,
	    "unexpected PHC string %s", h1);
	ck_assert_uint_lt(strlen(h1), PASSWD_HASH_MAX);
	/* A fresh random salt each time. */
	ck_assert_str_ne(h1, h2);
	ck_assert_int_eq(passwd_verify(h2, PW, strlen(PW)), 1);
}
END_TEST

START_TEST(test_length_limits)
{
	char h[PASSWD_HASH_MAX], *big;

	big = malloc(PASSWD_MAX + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', PASSWD_MAX + 1);
	ck_assert_int_eq(passwd_hash("1234567", PASSWD_MIN - 1, h), -1);
	ck_assert_int_eq(passwd_hash("", 0, h), -1);
	ck_assert_int_eq(passwd_hash(big, PASSWD_MAX + 1, h), -1);
	ck_assert_int_eq(passwd_hash("12345678", PASSWD_MIN, h), 0);
	ck_assert_int_eq(passwd_verify(h, "12345678", PASSWD_MIN), 1);
	ck_assert_int_eq(passwd_hash(big, PASSWD_MAX, h), 0);
	ck_assert_int_eq(passwd_verify(h, big, PASSWD_MAX), 1);
	ck_assert_int_eq(passwd_verify(h, big, PASSWD_MAX + 1), 0);
	free(big);
}
END_TEST

/* Milliseconds of CPU-bound work "passwd_verify(hash, PW)" takes. */
static double
verify_ms(const char *hash, int *ret)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	*ret = passwd_verify(hash, PW, strlen(PW));
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
}

START_TEST(test_dummy)
{
	char h[PASSWD_HASH_MAX];
	double real, dummy;
	int ret;

	ck_assert_int_eq(passwd_hash(PW, strlen(PW), h), 0);
	real = verify_ms(h, &ret);
	ck_assert_int_eq(ret, 1);
	dummy = verify_ms(NULL, &ret);
	ck_assert_int_eq(ret, 0);
	/*
	 * The dummy really runs Argon2id: two passes over 19 MiB take well
	 * over 3 ms on any hardware (about 40 ms here), whereas returning
	 * early would take microseconds.
	 */
	ck_assert_msg(dummy > 3.0, "dummy %.3f ms, real %.3f ms", dummy, real);
	ck_assert_msg(real > 3.0, "real %.3f ms", real);
	/* Calling passwd_init() again keeps working. */
	ck_assert_int_eq(passwd_init(), 0);
	ck_assert_int_eq(passwd_verify(NULL, PW, strlen(PW)), 0);
}
END_TEST

START_TEST(test_garbage_hash)
{
	ck_assert_int_eq(passwd_verify("", PW, strlen(PW)), 0);
	ck_assert_int_eq(
	    passwd_verify("$argon2id$v=19$m=19456,t=2,p=1$xx", PW, strlen(PW)),
	    0);
	ck_assert_int_eq(passwd_verify("plaintext", "plaintext", 9), 0);
}
END_TEST

START_TEST(test_needs_rehash)
{
	char h[PASSWD_HASH_MAX], weak[crypto_pwhash_STRBYTES],
	    argon2i[crypto_pwhash_STRBYTES];

	ck_assert_int_eq(passwd_hash(PW, strlen(PW), h), 0);
	ck_assert_int_eq(passwd_needs_rehash(h), 0);
	/* Argon2id with t = 1, m = 8 MiB: weaker than today's. */
	ck_assert_int_eq(crypto_pwhash_str_alg(weak, PW, strlen(PW), 1,
	                     8 * 1024 * 1024, crypto_pwhash_ALG_ARGON2ID13),
	    0);
	ck_assert_int_eq(passwd_verify(weak, PW, strlen(PW)), 1);
	ck_assert_int_eq(passwd_needs_rehash(weak), 1);
	/*
	 * Argon2i (t = 3, its minimum in libsodium), which libsodium alone
	 * would judge by Argon2i's rules: the wrong variant all the same.
	 */
	ck_assert_int_eq(crypto_pwhash_str_alg(argon2i, PW, strlen(PW), 3,
	                     19 * 1024 * 1024, crypto_pwhash_ALG_ARGON2I13),
	    0);
	ck_assert_int_eq(passwd_needs_rehash(argon2i), 1);
	ck_assert_int_eq(passwd_needs_rehash("not a hash"), 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("passwd");
	TCase *tc = tcase_create("core");

	log_init("test-passwd", 1, 0);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hash_verify);
	tcase_add_test(tc, test_binary_password);
	tcase_add_test(tc, test_phc_string);
	tcase_add_test(tc, test_length_limits);
	tcase_add_test(tc, test_dummy);
	tcase_add_test(tc, test_garbage_hash);
	tcase_add_test(tc, test_needs_rehash);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
