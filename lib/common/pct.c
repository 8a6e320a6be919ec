/* SPDX-License-Identifier: ISC */
/*
 * Percent-escape decoding shared by the form and multipart parsers (see
 * pct.h), so that the hex digits of "%XX" are read by one piece of code.
 * Pure: it reads at most two bytes, allocates nothing and logs nothing.
 */
#include "common/pct.h"

/* The value of hex digit "c", or -1. */
static int
pct_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
pct_byte_decode(const char *s)
{
	int hi, lo;

	if ((hi = pct_hex((unsigned char)s[0])) < 0 ||
	    (lo = pct_hex((unsigned char)s[1])) < 0)
		return -1;
	return hi << 4 | lo;
}
