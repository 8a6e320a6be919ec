/* SPDX-License-Identifier: ISC */
/*
 * Percent-encoding (RFC 3986 section 2.1), the "%XX" escapes that both
 * application/x-www-form-urlencoded (lib/common/form) and RFC 5987 ext-values
 * in multipart headers (lib/chat/multipart) use. It only turns two hex digits
 * into a byte: which bytes may appear unescaped, what "+" means and whether a
 * decoded NUL is allowed stay with each caller's grammar.
 */
#ifndef PCT_H
#define PCT_H

/*
 * The byte that the two hex digits (either case) at "s" encode, as they
 * follow a "%", from 0 to 255; or -1 when either is not a hex digit. "s"
 * is read only up to its first non-hex byte, so a NUL-terminated string
 * is never read past its end; a caller with counted bytes must make sure
 * that two are there.
 */
int pct_byte_decode(const char *s);

#endif
