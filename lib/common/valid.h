/* SPDX-License-Identifier: ISC */
/*
 * Pure validation of client input into typed values, at the edge (kcgi
 * style): no I/O, no allocation unless said. Each returns 1 when valid.
 */
#ifndef VALID_H
#define VALID_H

#include <stddef.h>
#include <stdint.h>

#define VALID_USERNAME_MIN  3
#define VALID_USERNAME_MAX  32
#define VALID_EMAIL_MAX     254
#define VALID_CONTENT_MAX   4096 /* characters (code points) */
#define VALID_NAME_MAX      100  /* room name, characters */
#define VALID_FULLNAME_MAX  100
#define VALID_CLIENT_ID_MAX 64
#define VALID_MEDIA_HEX     32 /* hex digits (128 random bits) of a media name */
#define VALID_ADDR_KEY_MAX  64 /* bytes of valid_addr_key()'s text, NUL too */

/* 3-32 characters of [A-Za-z0-9_.-]. */
int valid_username(const char *s);
/* A plausible address: local@domain.tld, no spaces or controls. */
int valid_email(const char *s);
/* Lower-case "s" in place (ASCII). */
void valid_lower(char *s);
/* Valid UTF-8 of "len" bytes: no overlongs, surrogates, NUL or > U+10FFFF. */
int valid_utf8(const char *s, size_t len);
/* Number of code points of valid UTF-8 "s". */
size_t valid_utf8_chars(const char *s, size_t len);
/* UTF-8 text of "min".."max" code points without control characters
 * other than \n, \r, \t. */
int valid_text(const char *s, size_t len, size_t min, size_t max);
/* The shape of a stored upload's name: VALID_MEDIA_HEX lower-case hex
 * digits, ".", then an extension of 2-5 lower-case letters or digits. */
int valid_media_name(const char *s);
/*
 * The client a rate limit counts for the text address "s" (REMOTE_ADDR),
 * written to "key": an IPv4 address as dotted quad (an IPv4-mapped IPv6
 * one too), an IPv6 one as its /64 ("2001:db8:1:2::/64"), since one host
 * or customer commonly holds a whole /64. Anything else, the empty
 * string included, gives "-", so that clients without an address share
 * one key. Returns 1 when "s" is an address, else 0.
 */
int valid_addr_key(const char *s, char key[VALID_ADDR_KEY_MAX]);

#endif
