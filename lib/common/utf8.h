/* SPDX-License-Identifier: ISC */
/*
 * Incremental UTF-8 validation for data that arrives in pieces (WebSocket
 * text messages split over frames and reads). The state is one integer, so
 * a connection carries no buffer for it; a bad byte is reported at once
 * (fail-fast), not at the end of the message. Unlike valid_utf8(), U+0000
 * is accepted: RFC 6455 text may contain it. utf8_decode() reads one
 * character by the same rules, for callers that need its code point.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_ACCEPT 0u          /* between characters: a message may end */
#define UTF8_REJECT 0xffffffffu /* invalid: sticky */

/*
 * Feed "len" bytes at "s" to a validator in state "st" (start with
 * UTF8_ACCEPT) and return the new state: UTF8_REJECT as soon as a byte
 * cannot continue valid UTF-8 (overlong forms, surrogates, code points
 * above U+10FFFF, stray continuation bytes), UTF8_ACCEPT when the bytes
 * end on a character boundary, any other value inside a character.
 */
uint32_t utf8_feed(uint32_t st, const uint8_t *s, size_t len);

/*
 * Decode the character at "s" (of "n" bytes) into "*cp" by utf8_feed()'s
 * rules. Returns its length (1 to 4), or 0 when "s" does not start with a
 * whole valid character (bad or truncated); "*cp" is then untouched.
 */
size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

#endif
