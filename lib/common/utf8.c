/* SPDX-License-Identifier: ISC */
/*
 * Incremental UTF-8 validator (RFC 3629 table 3.7 of Unicode): the state
 * packs the number of continuation bytes still expected with the range
 * allowed for the next one, which is all that overlong, surrogate and
 * range checks need; the decoder of one character runs on it. Pure: no
 * allocation, no I/O.
 */
#include "common/utf8.h"

/* State layout: bits 16-17 bytes remaining, 8-15 lowest, 0-7 highest. */
#define ST(rem, lo, hi) ((uint32_t)(rem) << 16 | (uint32_t)(lo) << 8 | (hi))
#define ST_REM(st)      ((st) >> 16 & 3)
#define ST_LO(st)       ((st) >> 8 & 0xff)
#define ST_HI(st)       ((st)&0xff)

/* The state after lead byte "c", or UTF8_REJECT. */
static uint32_t
utf8_lead(uint8_t c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return ST(1, 0x80, 0xbf);
	if (c == 0xe0)
		return ST(2, 0xa0, 0xbf); /* no overlong 3-byte forms */
	if (c == 0xed)
		return ST(2, 0x80, 0x9f); /* no surrogates */
	if (c >= 0xe1 && c <= 0xef)
		return ST(2, 0x80, 0xbf);
	if (c == 0xf0)
		return ST(3, 0x90, 0xbf); /* no overlong 4-byte forms */
	if (c >= 0xf1 && c <= 0xf3)
		return ST(3, 0x80, 0xbf);
	if (c == 0xf4)
		return ST(3, 0x80, 0x8f); /* nothing above U+10FFFF */
	return UTF8_REJECT;
}

uint32_t
utf8_feed(uint32_t st, const uint8_t *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && st != UTF8_REJECT; i++) {
		uint8_t c = s[i];

		if (st == UTF8_ACCEPT) {
			if (c >= 0x80)
				st = utf8_lead(c);
			continue;
		}
		if (c < ST_LO(st) || c > ST_HI(st))
			return UTF8_REJECT;
		st = ST_REM(st) == 1 ? UTF8_ACCEPT
		                     : ST(ST_REM(st) - 1, 0x80, 0xbf);
	}
	return st;
}

size_t
utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint32_t st = UTF8_ACCEPT, c;
	size_t i;

	if (n == 0)
		return 0;
	/* The lead byte's payload bits; utf8_feed() judges the byte. */
	c = s[0] &
	    (s[0] < 0x80          ? 0x7f
	            : s[0] < 0xe0 ? 0x1f
	            : s[0] < 0xf0 ? 0x0f
	                          : 0x07);
	for (i = 0; i < n; i++) {
		if ((st = utf8_feed(st, s + i, 1)) == UTF8_REJECT)
			return 0;
		if (i > 0)
			c = c << 6 | (s[i] & 0x3f);
		if (st == UTF8_ACCEPT) {
			*cp = c;
			return i + 1;
		}
	}
	return 0; /* truncated */
}
