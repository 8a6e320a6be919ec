/* SPDX-License-Identifier: ISC */
/*
 * Pure validators of client input: user names, e-mail addresses, UTF-8
 * text and client addresses. They only read the bytes they are given
 * (valid_lower() writes them) and never allocate, log or depend on the locale,
 * so they can run on any untrusted input and be fuzzed on their own (with
 * lib/common/utf8, as pure).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/utf8.h"
#include "common/valid.h"

/* ASCII classes, spelled out so that the locale can never change them. */
static int
valid_is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

int
valid_username(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];

		if (!valid_is_alnum(c) && c != '_' && c != '.' && c != '-')
			return 0;
		if (n >= VALID_USERNAME_MAX)
			return 0;
	}
	return n >= VALID_USERNAME_MIN;
}

/*
 * The local part: 1..64 bytes (RFC 5321) of letters, digits and
 * !#$%&'*+/=?^_`{|}~.- as a dot-atom (RFC 5322): no leading, trailing or
 * doubled dot. Quoted local parts are not accepted.
 */
static int
valid_email_local(const char *s, size_t len)
{
	static const char special[] = "!#$%&'*+/=?^_`{|}~-";
	size_t i;

	if (len == 0 || len > 64 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (s[i + 1] == '.')
				return 0;
			continue;
		}
		if (!valid_is_alnum(c) && (c == '\0' || !strchr(special, c)))
			return 0;
	}
	return 1;
}

/*
 * The domain: at least two dot-separated labels of 1..63 bytes of
 * [A-Za-z0-9-], none starting or ending with '-'. Address literals
 * ("[192.0.2.1]") are not accepted.
 */
static int
valid_email_domain(const char *s)
{
	size_t label = 0, labels = 1;
	unsigned char c, prev = '.';

	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '.') {
			if (label == 0 || prev == '-')
				return 0;
			label = 0;
			labels++;
		} else if (valid_is_alnum(c) || c == '-') {
			if (label == 0 && c == '-')
				return 0;
			if (++label > 63)
				return 0;
		} else
			return 0;
		prev = c;
	}
	return label > 0 && prev != '-' && labels >= 2;
}

int
valid_email(const char *s)
{
	const char *at;
	size_t len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len > VALID_EMAIL_MAX || (at = strchr(s, '@')) == NULL ||
	    strchr(at + 1, '@') != NULL)
		return 0;
	return valid_email_local(s, (size_t)(at - s)) &&
	    valid_email_domain(at + 1);
}

void
valid_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/*
 * Well-formed UTF-8 as utf8_feed() checks it (Unicode's table 3-7: no
 * overlong forms, surrogates or code points above U+10FFFF, and no
 * character cut at the end), so that one table decides it for every
 * caller. NUL is refused too: it would end a C string early.
 */
int
valid_utf8(const char *s, size_t len)
{
	if (s == NULL)
		return len == 0;
	return memchr(s, '\0', len) == NULL &&
	    utf8_feed(UTF8_ACCEPT, (const uint8_t *)s, len) == UTF8_ACCEPT;
}

size_t
valid_utf8_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

int
valid_text(const char *s, size_t len, size_t min, size_t max)
{
	size_t i, n;

	if (!valid_utf8(s, len))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') ||
		    c == 0x7f)
			return 0;
	}
	n = valid_utf8_chars(s, len);
	return n >= min && n <= max;
}

int
valid_media_name(const char *s)
{
	size_t i;

	for (i = 0; i < VALID_MEDIA_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	s += VALID_MEDIA_HEX;
	if (*s++ != '.')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i == 5 ||
		    !((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'z')))
			return 0;
	return i >= 2;
}

int
valid_addr_key(const char *s, char key[VALID_ADDR_KEY_MAX])
{
	static const uint8_t mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint8_t a[16];
	size_t n;

	if (s != NULL && inet_pton(AF_INET, s, a) == 1 &&
	    inet_ntop(AF_INET, a, key, VALID_ADDR_KEY_MAX) != NULL)
		return 1;
	if (s != NULL && inet_pton(AF_INET6, s, a) == 1) {
		if (memcmp(a, mapped, sizeof(mapped)) == 0 &&
		    inet_ntop(AF_INET, a + 12, key, VALID_ADDR_KEY_MAX) != NULL)
			return 1;
		memset(a + 8, 0, 8);
		if (inet_ntop(AF_INET6, a, key, VALID_ADDR_KEY_MAX - 3) !=
		    NULL) {
			n = strlen(key);
			memcpy(key + n, "/64", 4);
			return 1;
		}
	}
	memcpy(key, "-", 2);
	return 0;
}
