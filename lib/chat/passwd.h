/* SPDX-License-Identifier: ISC */
/*
 * Password hashing with libsodium's Argon2id at OWASP's parameters or
 * stronger. Passwords are never logged or kept past the call.
 */
#ifndef PASSWD_H
#define PASSWD_H

#include <stddef.h>

#define PASSWD_MIN      8
#define PASSWD_MAX      1024
#define PASSWD_HASH_MAX 128 /* crypto_pwhash_STRBYTES */

/* Initialise libsodium; returns 0 or -1. Call once at startup. */
int passwd_init(void);
/* Hash "pw" into "out" (PHC string). Returns 0 or -1 after logging. */
int passwd_hash(const char *pw, size_t len, char out[PASSWD_HASH_MAX]);
/*
 * 1 when "pw" matches "hash", else 0. With "hash" NULL it verifies against
 * a dummy hash so that unknown users cost the same time, and returns 0.
 */
int passwd_verify(const char *hash, const char *pw, size_t len);
/* 1 when "hash" was made with weaker parameters than today's. */
int passwd_needs_rehash(const char *hash);

#endif
