/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/common/valid.c: user names, e-mail addresses, and the UTF-8
 * cases of docs/testing.md 4.2 item 4 (overlongs, surrogates, code points above
 * U+10FFFF, truncated sequences and NUL rejected; U+FFFF, U+10FFFF and
 * 4-byte emoji accepted; bidi and zero-width characters stored as text).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/valid.h"
#include "unit.h"

/* valid_utf8() over a string literal, NUL bytes inside it included. */
#define UTF8(lit) valid_utf8(lit, sizeof(lit) - 1)

START_TEST(test_utf8_accepts)
{
	ck_assert(UTF8(""));
	ck_assert(UTF8("plain ASCII\r\n\t~"));
	ck_assert(UTF8("\x7f"));             /* DEL is valid UTF-8 */
	ck_assert(UTF8("\xc2\x80"));         /* U+0080, smallest 2-byte */
	ck_assert(UTF8("caf\xc3\xa9"));      /* é */
	ck_assert(UTF8("\xdf\xbf"));         /* U+07FF */
	ck_assert(UTF8("\xe0\xa0\x80"));     /* U+0800, smallest 3-byte */
	ck_assert(UTF8("\xed\x9f\xbf"));     /* U+D7FF, below surrogates */
	ck_assert(UTF8("\xee\x80\x80"));     /* U+E000, above surrogates */
	ck_assert(UTF8("\xef\xbf\xbf"));     /* U+FFFF */
	ck_assert(UTF8("\xef\xbb\xbf"));     /* U+FEFF BOM */
	ck_assert(UTF8("\xf0\x90\x80\x80")); /* U+10000 */
	ck_assert(UTF8("\xf0\x9f\x98\x80")); /* U+1F600 emoji */
	ck_assert(UTF8("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
	ck_assert(UTF8("\xe2\x80\xae"));     /* U+202E bidi override */
	ck_assert(UTF8("\xe2\x80\x8b"));     /* U+200B zero width space */
	ck_assert(UTF8("a\xf0\x9f\x91\x8d\xe2\x9c\x93"
	               "b"));
}
END_TEST

START_TEST(test_utf8_rejects)
{
	ck_assert(!UTF8("\xc0\xaf"));         /* overlong '/' */
	ck_assert(!UTF8("\xc1\xbf"));         /* overlong */
	ck_assert(!UTF8("\xe0\x80\xaf"));     /* overlong 3-byte */
	ck_assert(!UTF8("\xe0\x9f\xbf"));     /* overlong U+07FF */
	ck_assert(!UTF8("\xf0\x80\x80\xaf")); /* overlong 4-byte */
	ck_assert(!UTF8("\xf0\x8f\xbf\xbf")); /* overlong U+FFFF */
	ck_assert(!UTF8("\xed\xa0\x80"));     /* U+D800 high surrogate */
	ck_assert(!UTF8("\xed\xbf\xbf"));     /* U+DFFF low surrogate */
	ck_assert(!UTF8("\xed\xa0\xbd\xed\xb8\x80")); /* CESU-8 pair */
	ck_assert(!UTF8("\xf4\x90\x80\x80"));         /* U+110000 */
	ck_assert(!UTF8("\xf5\x80\x80\x80"));         /* beyond Unicode */
	ck_assert(!UTF8("\xf8\x88\x80\x80\x80"));     /* 5-byte form */
	ck_assert(!UTF8("\xff"));
	ck_assert(!UTF8("\xfe"));
	ck_assert(!UTF8("\x80")); /* lone continuation */
	ck_assert(!UTF8("a\xbf"
	                "b"));            /* continuation mid-text */
	ck_assert(!UTF8("\xc3"));         /* truncated 2-byte */
	ck_assert(!UTF8("\xe2\x82"));     /* truncated 3-byte */
	ck_assert(!UTF8("\xf0\x9f\x98")); /* truncated 4-byte */
	ck_assert(!UTF8("\xf0\x9f\x98"
	                "a")); /* cut by ASCII */
	ck_assert(!UTF8("\xe2"
	                "a\xac")); /* bad second byte */
	ck_assert(!UTF8("\xe2\x82"
	                "a"));    /* bad third byte */
	ck_assert(!UTF8("\x00")); /* NUL */
	ck_assert(!UTF8("ab\x00"
	                "cd"));       /* NUL inside */
	ck_assert(!UTF8("\xc0\x80")); /* modified-UTF-8 NUL */
}
END_TEST

START_TEST(test_utf8_length_bound)
{
	/* Only "len" bytes are read: a sequence cut by it is truncated. */
	ck_assert(!valid_utf8("\xf0\x9f\x98\x80", 3));
	ck_assert(valid_utf8("\xf0\x9f\x98\x80", 4));
	ck_assert(valid_utf8("ab\xff", 2));
	ck_assert(valid_utf8(NULL, 0));
}
END_TEST

START_TEST(test_utf8_chars)
{
	ck_assert_uint_eq(valid_utf8_chars("", 0), 0);
	ck_assert_uint_eq(valid_utf8_chars("abc", 3), 3);
	ck_assert_uint_eq(valid_utf8_chars("caf\xc3\xa9", 5), 4);
	ck_assert_uint_eq(
	    valid_utf8_chars("\xf0\x9f\x98\x80\xef\xbf\xbf", 7), 2);
	ck_assert_uint_eq(valid_utf8_chars("\xf4\x8f\xbf\xbf"
	                                   "x",
	                      5),
	    2);
}
END_TEST

#define TEXT(lit, min, max) valid_text(lit, sizeof(lit) - 1, min, max)

START_TEST(test_text)
{
	char *big;

	ck_assert(TEXT("hello", 1, 4096));
	ck_assert(TEXT("line 1\nline 2\r\n\tindented", 1, 4096));
	ck_assert(TEXT("\xe2\x80\xae"
	               "evil\xe2\x80\x8b",
	    1, 4096));
	ck_assert(TEXT("\xf0\x9f\x98\x80", 1, 1)); /* one code point */
	ck_assert(!TEXT("\xf0\x9f\x98\x80"
	                "a",
	    1, 1));
	ck_assert(TEXT("", 0, 10));
	ck_assert(!TEXT("", 1, 10));
	ck_assert(!TEXT("bell\x07", 1, 4096));
	ck_assert(!TEXT("esc\x1b[31m", 1, 4096));
	ck_assert(!TEXT("del\x7f", 1, 4096));
	ck_assert(!TEXT("\x01", 0, 4096));
	ck_assert(!TEXT("vt\x0b", 1, 4096));
	ck_assert(!TEXT("nul\x00", 1, 4096));
	ck_assert(!TEXT("\xc0\xaf", 1, 4096));
	ck_assert(!TEXT("\xed\xa0\x80", 1, 4096));
	ck_assert(!TEXT("\xf4\x90\x80\x80", 1, 4096));
	/* 4096 four-byte characters pass, one more does not. */
	big = malloc(4097 * 4);
	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < 4097; i++)
		memcpy(big + 4 * i, "\xf0\x9f\x98\x80", 4);
	ck_assert(valid_text(big, 4096 * 4, 1, VALID_CONTENT_MAX));
	ck_assert(!valid_text(big, 4097 * 4, 1, VALID_CONTENT_MAX));
	free(big);
}
END_TEST

START_TEST(test_username)
{
	ck_assert(valid_username("bob"));
	ck_assert(valid_username("Alice_B.Smith-2"));
	ck_assert(valid_username("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
	ck_assert(!valid_username("abcdefghijklmnopqrstuvwxyz0123456"));
	ck_assert(!valid_username("ab"));
	ck_assert(!valid_username(""));
	ck_assert(!valid_username(NULL));
	ck_assert(!valid_username("bob smith"));
	ck_assert(!valid_username("bob@x"));
	ck_assert(!valid_username("b\xc3\xb6"
	                          "b"));
	ck_assert(!valid_username("' OR '1'='1"));
	ck_assert(!valid_username("bob\n"));
}
END_TEST

START_TEST(test_email)
{
	char buf[300];

	ck_assert(valid_email("a@b.co"));
	ck_assert(valid_email("John.Doe+tag@Example.COM"));
	ck_assert(valid_email("x!#$%&'*/=?^_`{|}~-y@mail-1.example.org"));
	ck_assert(valid_email("u@xn--bcher-kva.example"));
	ck_assert(!valid_email(NULL));
	ck_assert(!valid_email(""));
	ck_assert(!valid_email("plain"));
	ck_assert(!valid_email("@example.com"));
	ck_assert(!valid_email("a@"));
	ck_assert(!valid_email("a@b")); /* no dot */
	ck_assert(!valid_email("a@@b.com"));
	ck_assert(!valid_email("a@b@c.com"));
	ck_assert(!valid_email("a b@c.com"));
	ck_assert(!valid_email("a@c .com"));
	ck_assert(!valid_email("a\n@c.com"));
	ck_assert(!valid_email("a@c.com\n"));
	ck_assert(!valid_email("\"a\"@c.com"));
	ck_assert(!valid_email("a(b)@c.com"));
	ck_assert(!valid_email(".a@c.com"));
	ck_assert(!valid_email("a.@c.com"));
	ck_assert(!valid_email("a..b@c.com"));
	ck_assert(!valid_email("a@.c.com"));
	ck_assert(!valid_email("a@c.com."));
	ck_assert(!valid_email("a@c..com"));
	ck_assert(!valid_email("a@-c.com"));
	ck_assert(!valid_email("a@c.com-"));
	ck_assert(!valid_email("a@c-.com"));
	ck_assert(!valid_email("a@c_d.com"));
	ck_assert(!valid_email("a@[192.0.2.1]"));
	ck_assert(!valid_email("\xc3\xa9@c.com"));
	ck_assert(!valid_email("a@\xc3\xa9.com"));
	ck_assert(!valid_email("' OR '1'='1@x.com"));
	/* Local part at most 64 bytes. */
	memset(buf, 'a', 64);
	strcpy(buf + 64, "@b.co");
	ck_assert(valid_email(buf));
	memset(buf, 'a', 65);
	strcpy(buf + 65, "@b.co");
	ck_assert(!valid_email(buf));
	/* Labels at most 63 bytes. */
	strcpy(buf, "a@");
	memset(buf + 2, 'b', 63);
	strcpy(buf + 65, ".co");
	ck_assert(valid_email(buf));
	strcpy(buf, "a@");
	memset(buf + 2, 'b', 64);
	strcpy(buf + 66, ".co");
	ck_assert(!valid_email(buf));
	/* 254 bytes in all, not 255. */
	memset(buf, 'a', 64);
	buf[64] = '@';
	memset(buf + 65, 'b', 189);
	buf[65 + 60] = '.';
	buf[65 + 121] = '.';
	buf[65 + 182] = '.';
	buf[254] = '\0';
	ck_assert_uint_eq(strlen(buf), 254);
	ck_assert(valid_email(buf));
	buf[254] = 'b';
	buf[255] = '\0';
	ck_assert(!valid_email(buf));
}
END_TEST

START_TEST(test_lower)
{
	char s[] = "MiXeD.Case@Example.COM \xc3\x89";

	valid_lower(s);
	ck_assert_str_eq(s, "mixed.case@example.com \xc3\x89");
}
END_TEST

START_TEST(test_media_name)
{
	static const char *const good[] = {
	    "0123456789abcdef0123456789abcdef.png",
	    "ffffffffffffffffffffffffffffffff.webp",
	    "00000000000000000000000000000000.mp4",
	    "0123456789abcdef0123456789abcdef.ab",
	    "0123456789abcdef0123456789abcdef.abcde",
	};
	static const char *const bad[] = {
	    "",
	    "0123456789abcdef0123456789abcdef",
	    "0123456789abcdef0123456789abcdef.",
	    "0123456789abcdef0123456789abcdef.p",
	    "0123456789abcdef0123456789abcdef.abcdef",
	    "0123456789ABCDEF0123456789abcdef.png",
	    "0123456789abcdef0123456789abcde.png",
	    "0123456789abcdef0123456789abcdefa.png",
	    "0123456789abcdef0123456789abcdeg.png",
	    "0123456789abcdef0123456789abcdef.PNG",
	    "0123456789abcdef0123456789abcdef.p-g",
	    "0123456789abcdef0123456789abcdef.png/",
	    "0123456789abcdef0123456789abcdef..png",
	    "../23456789abcdef0123456789abcdef.png",
	    ".tmp-456789abcdef0123456789abcdef.png",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(valid_media_name(good[i]), "%s refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!valid_media_name(bad[i]), "%s accepted", bad[i]);
}
END_TEST

/* The key a rate limit counts a client address under. */
START_TEST(test_addr_key)
{
	static const char *const cases[][2] = {
	    {"192.0.2.7", "192.0.2.7"},
	    {"::ffff:192.0.2.7", "192.0.2.7"},
	    {"2001:db8:1:2::1", "2001:db8:1:2::/64"},
	    {"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
	    {"2001:DB8:1:3::1", "2001:db8:1:3::/64"},
	    {"::1", "::/64"},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	        "ffff:ffff:ffff:ffff::/64"},
	};
	static const char *const bad[] = {
	    "", "192.0.2", "192.0.2.7 ", "2001:db8::1/64", "unix:/x", "x"};
	char key[VALID_ADDR_KEY_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(valid_addr_key(cases[i][0], key), 1);
		ck_assert_str_eq(key, cases[i][1]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(valid_addr_key(bad[i], key), 0);
		ck_assert_str_eq(key, "-");
	}
	ck_assert_int_eq(valid_addr_key(NULL, key), 0);
	ck_assert_str_eq(key, "-");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("valid");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_utf8_accepts);
	tcase_add_test(tc, test_utf8_rejects);
	tcase_add_test(tc, test_utf8_length_bound);
	tcase_add_test(tc, test_utf8_chars);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_username);
	tcase_add_test(tc, test_email);
	tcase_add_test(tc, test_lower);
	tcase_add_test(tc, test_media_name);
	tcase_add_test(tc, test_addr_key);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
