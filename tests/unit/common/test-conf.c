/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/common/conf.c: the built-in defaults, a good file, every
 * kind of error reported at the right "file:line", and that
 * etc/chat.conf.sample documents every key of the table and parses to the
 * defaults. Run from the repository root, or with CHAT_SRCDIR set to it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "unit.h"

/* Write "text" to a new temporary file and return its (new) path. */
static char *
conf_file_write(const char *text)
{
	char *path = xstrdup("/tmp/test-conf.XXXXXX");
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/*
 * Run conf_load() on "path" with stderr captured; store its return in
 * "*rc" and return what it logged (new string).
 */
static char *
conf_load_capture(struct conf *c, const char *path, int *rc)
{
	FILE *tmp = tmpfile();
	char *buf;
	long n;
	int saved;

	ck_assert_ptr_nonnull(tmp);
	fflush(stderr);
	saved = dup(2);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(tmp), 2), 0);
	*rc = conf_load(c, path);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = ftell(tmp);
	ck_assert_int_ge(n, 0);
	buf = xcalloc(1, (size_t)n + 1);
	rewind(tmp);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, tmp), (size_t)n);
	fclose(tmp);
	return buf;
}

/*
 * Load "text" from a file and expect failure with "<path>:<line>: <what>"
 * in the log.
 */
static void
conf_expect_error(const char *text, int line, const char *what)
{
	struct conf c;
	char *path = conf_file_write(text), *log, *want;
	int rc;

	conf_init(&c);
	log = conf_load_capture(&c, path, &rc);
	want = xasprintf("%s:%d: %s", path, line, what);
	ck_assert_msg(rc == -1, "accepted: %s", text);
	ck_assert_msg(
	    strstr(log, want) != NULL, "want \"%s\" in \"%s\"", want, log);
	conf_finish(&c);
	unlink(path);
	free(want);
	free(log);
	free(path);
}

START_TEST(test_defaults)
{
	struct conf c;

	conf_init(&c);
	ck_assert_str_eq(c.database, "var/chat.db");
	ck_assert_str_eq(c.media_dir, "var/media");
	ck_assert_str_eq(c.secret_file, "var/secret.key");
	ck_assert_str_eq(c.fcgi_socket, "var/run/fcgi.sock");
	ck_assert_str_eq(c.push_socket, "var/run/push.sock");
	ck_assert_str_eq(c.bus_events, "ipc://var/run/bus-events");
	ck_assert_str_eq(c.bus_query, "ipc://var/run/bus-query");
	ck_assert_int_eq(c.token_lifetime, 1800);
	ck_assert_int_eq(c.token_leeway, 30);
	ck_assert_int_eq(c.busy_timeout, 5000);
	ck_assert_int_eq(c.presence_timeout, 50);
	ck_assert_int_eq(c.body_max, 1024 * 1024);
	ck_assert_int_eq(c.upload_max, 10 * 1024 * 1024);
	ck_assert_int_eq(c.upload_parts_max, 16);
	ck_assert_int_eq(c.auth_addr_limit, 0);
	ck_assert_int_eq(c.auth_burst, 60);
	ck_assert_double_eq(c.auth_rate, 2.0);
	ck_assert_int_eq(c.login_fail_max, 20);
	ck_assert_int_eq(c.login_fail_account_max, 100);
	ck_assert_int_eq(c.room_create_burst, 30);
	ck_assert_double_eq(c.room_create_rate, 0.1);
	ck_assert_int_eq(c.members_named_burst, 1000);
	ck_assert_double_eq(c.members_named_rate, 1.0);
	ck_assert_int_eq(c.msg_burst, 300);
	ck_assert_double_eq(c.msg_rate, 20.0);
	ck_assert_int_eq(c.upload_burst, 20);
	ck_assert_double_eq(c.upload_rate, 1.0);
	ck_assert_int_eq(c.catchup_max, 1000);
	ck_assert_str_eq(c.upload_types,
	    "image/png image/jpeg image/gif image/webp video/mp4 "
	    "audio/mpeg audio/ogg application/pdf");
	ck_assert_int_eq(c.ping_interval, 25000);
	ck_assert_int_eq(c.ping_timeout, 20000);
	ck_assert_int_eq(c.max_payload, 1000000);
	ck_assert_int_eq(c.max_connections, 20000);
	ck_assert_int_eq(c.max_connections_per_addr, 4096);
	ck_assert_int_eq(c.sockets_per_user_max, 64);
	ck_assert_int_eq(c.send_queue_max, 1024 * 1024);
	ck_assert_int_eq(c.handshake_timeout, 10000);
	ck_assert_int_eq(c.ws_frame_burst, 1000);
	ck_assert_double_eq(c.ws_frame_rate, 200.0);
	ck_assert_str_eq(c.cors_origins, "");
	conf_finish(&c);
	ck_assert_ptr_null(c.database);
	ck_assert_ptr_null(c.cors_origins);
}
END_TEST

START_TEST(test_good_file)
{
	static const char text[] =
	    "# a comment\n"
	    "\n"
	    "   \t\n"
	    "  database   /srv/chat db/chat.db  \n"
	    "\t# indented comment\n"
	    "token_leeway 60\n"
	    "body_max 64k\n"
	    "upload_max 2G\n"
	    "send_queue_max 8192\n"
	    "max_payload 3m\n"
	    "auth_addr_limit On\n"
	    "msg_rate 0.5\n"
	    "upload_rate 1e2\n"
	    "cors_origins http://a.example https://b.example:8443\r\n"
	    "upload_types image/png";
	struct conf c;
	char *path = conf_file_write(text), *log;
	int rc;

	conf_init(&c);
	log = conf_load_capture(&c, path, &rc);
	ck_assert_msg(rc == 0, "rejected: %s", log);
	ck_assert_str_eq(log, "");
	ck_assert_str_eq(c.database, "/srv/chat db/chat.db");
	ck_assert_int_eq(c.token_leeway, 60);
	ck_assert_int_eq(c.body_max, 64 * 1024);
	ck_assert_int_eq(c.upload_max, 2LL * 1024 * 1024 * 1024);
	ck_assert_int_eq(c.send_queue_max, 8192);
	ck_assert_int_eq(c.max_payload, 3 * 1024 * 1024);
	ck_assert_int_eq(c.auth_addr_limit, 1);
	ck_assert_double_eq(c.msg_rate, 0.5);
	ck_assert_double_eq(c.upload_rate, 100.0);
	ck_assert_str_eq(
	    c.cors_origins, "http://a.example https://b.example:8443");
	ck_assert_str_eq(c.upload_types, "image/png");
	/* Keys not in the file keep their defaults. */
	ck_assert_str_eq(c.media_dir, "var/media");
	ck_assert_int_eq(c.msg_burst, 300);
	conf_finish(&c);
	unlink(path);
	free(log);
	free(path);
}
END_TEST

START_TEST(test_bool_spellings)
{
	static const char *const yes[] = {"yes", "on", "true", "1", "YES"};
	static const char *const no[] = {"no", "off", "false", "0", "False"};
	struct conf c;
	char *text, *path, *log;
	size_t i;
	int rc;

	for (i = 0; i < 2 * 5; i++) {
		const char *v = i < 5 ? yes[i] : no[i - 5];

		conf_init(&c);
		c.auth_addr_limit = i < 5 ? 0 : 1;
		text = xasprintf("auth_addr_limit %s\n", v);
		path = conf_file_write(text);
		log = conf_load_capture(&c, path, &rc);
		ck_assert_msg(rc == 0, "rejected %s", v);
		ck_assert_int_eq(c.auth_addr_limit, i < 5 ? 1 : 0);
		conf_finish(&c);
		unlink(path);
		free(log);
		free(path);
		free(text);
	}
}
END_TEST

START_TEST(test_unknown_key)
{
	conf_expect_error("database x.db\n# c\nno_such_key 1\ntoken_leeway 5\n",
	    3, "unknown key 'no_such_key'");
	/* Keys are case-sensitive and whole words. */
	conf_expect_error("\n\nDatabase x.db\n", 3, "unknown key 'Database'");
	conf_expect_error("database_x y\n", 1, "unknown key 'database_x'");
	/* A key with an escaped control character in the log. */
	conf_expect_error("\n\x01key 1\n", 2, "unknown key '\\x01key'");
}
END_TEST

START_TEST(test_duplicate_key)
{
	conf_expect_error("msg_burst 10\n\n# x\nmsg_burst 10\n", 4,
	    "duplicate key 'msg_burst'");
}
END_TEST

START_TEST(test_bad_values)
{
	static const char *const bad[] = {
	    "token_leeway 61",                  /* over max */
	    "token_leeway -1",                  /* under min */
	    "token_lifetime 10",                /* under min */
	    "token_lifetime 1800s",             /* trailing garbage */
	    "token_lifetime 0x700",             /* not decimal */
	    "token_lifetime",                   /* missing */
	    "token_lifetime 1 800",             /* two words */
	    "catchup_max 99999999999999999999", /* overflow */
	    "body_max 10X",                     /* unknown suffix */
	    "body_max 10kb",                    /* suffix plus garbage */
	    "body_max 1k",                      /* under min */
	    "body_max -4M",                     /* negative */
	    "upload_max 9999999999999999g",     /* overflow with suffix */
	    "upload_max 5G",                    /* over max */
	    "body_max k",                       /* suffix only */
	    "msg_rate 0",                       /* rates are > 0 */
	    "msg_rate -2",                      /* negative */
	    "msg_rate nan",                     /* not a number */
	    "msg_rate inf",                     /* not finite */
	    "msg_rate 2x",                      /* trailing garbage */
	    "msg_rate 1e9",                     /* over max */
	    "auth_addr_limit maybe",            /* not a boolean */
	    "auth_addr_limit 2",                /* not a boolean */
	    "auth_addr_limit",                  /* missing */
	    "database",                         /* empty path */
	    "fcgi_socket /tmp/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock", /* long */
	    "upload_types", /* empty allowlist */
	};
	size_t i;
	char *text, *what, *key;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		key = xstrndup(bad[i], strcspn(bad[i], " "));
		text = xasprintf("# line 1\nping_interval 25000\n%s\n", bad[i]);
		what = xasprintf("bad value for '%s'", key);
		conf_expect_error(text, 3, what);
		free(what);
		free(text);
		free(key);
	}
}
END_TEST

START_TEST(test_limits_inclusive)
{
	static const char text[] = "token_leeway 0\n"
	                           "token_lifetime 604800\n"
	                           "upload_max 4g\n"
	                           "body_max 4096\n"
	                           "cors_origins\n";
	struct conf c;
	char *path = conf_file_write(text), *log;
	int rc;

	conf_init(&c);
	log = conf_load_capture(&c, path, &rc);
	ck_assert_msg(rc == 0, "rejected: %s", log);
	ck_assert_int_eq(c.token_leeway, 0);
	ck_assert_int_eq(c.token_lifetime, 604800);
	ck_assert_int_eq(c.upload_max, 4LL * 1024 * 1024 * 1024);
	ck_assert_int_eq(c.body_max, 4096);
	ck_assert_str_eq(c.cors_origins, "");
	conf_finish(&c);
	unlink(path);
	free(log);
	free(path);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char text[] = "database a\0b\n";
	struct conf c;
	char *path = xstrdup("/tmp/test-conf.XXXXXX"), *log, *want;
	int fd, rc;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(
	    write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	conf_init(&c);
	log = conf_load_capture(&c, path, &rc);
	want = xasprintf("%s:1:", path);
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(strstr(log, want));
	ck_assert_str_eq(c.database, "var/chat.db");
	conf_finish(&c);
	unlink(path);
	free(want);
	free(log);
	free(path);
}
END_TEST

START_TEST(test_unreadable)
{
	struct conf c;
	char *log;
	int rc;

	conf_init(&c);
	log = conf_load_capture(&c, "/nonexistent/chat.conf", &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(
	    strstr(log, "/nonexistent/chat.conf: No such file or directory"));
	free(log);
	/* A directory opens but cannot be read. */
	log = conf_load_capture(&c, "/", &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(strstr(log, "/: Is a directory"));
	free(log);
	conf_finish(&c);
}
END_TEST

/* The path of etc/chat.conf.sample (new string). */
static char *
conf_sample_path(void)
{
	const char *dir = getenv("CHAT_SRCDIR");

	return xasprintf(
	    "%s/etc/chat.conf.sample", dir != NULL && *dir != '\0' ? dir : ".");
}

START_TEST(test_sample_documents_every_key)
{
	char *path = conf_sample_path(), *line = NULL;
	size_t cap = 0, i, nkeys, klen;
	unsigned char *found;
	FILE *f;

	for (nkeys = 0; conf_key_name(nkeys) != NULL; nkeys++)
		continue;
	ck_assert_int_gt(nkeys, 30);
	found = xcalloc(nkeys, 1);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s (set CHAT_SRCDIR)", path);
	while (getline(&line, &cap, f) != -1) {
		klen = strcspn(line, " \t\r\n");
		for (i = 0; i < nkeys; i++)
			if (strlen(conf_key_name(i)) == klen &&
			    !strncmp(line, conf_key_name(i), klen))
				found[i] = 1;
	}
	fclose(f);
	for (i = 0; i < nkeys; i++)
		ck_assert_msg(found[i], "key '%s' missing from %s",
		    conf_key_name(i), path);
	free(found);
	free(line);
	free(path);
}
END_TEST

START_TEST(test_sample_parses_to_defaults)
{
	struct conf a, b;
	char *path = conf_sample_path(), *log;
	int rc;

	conf_init(&a);
	conf_init(&b);
	/* Spoil the loaded copy so that each check proves a line set it. */
	free(a.database);
	a.database = xstrdup("spoiled");
	a.msg_rate = 99;
	a.body_max = 99;
	log = conf_load_capture(&a, path, &rc);
	ck_assert_msg(rc == 0, "%s: %s", path, log);
	ck_assert_str_eq(log, "");
#define SAME_STR(m) ck_assert_str_eq(a.m, b.m)
#define SAME_INT(m) ck_assert_int_eq(a.m, b.m)
#define SAME_DBL(m) ck_assert_double_eq(a.m, b.m)
	SAME_STR(database);
	SAME_STR(media_dir);
	SAME_STR(secret_file);
	SAME_STR(fcgi_socket);
	SAME_STR(push_socket);
	SAME_STR(bus_events);
	SAME_STR(bus_query);
	SAME_INT(token_lifetime);
	SAME_INT(token_leeway);
	SAME_INT(busy_timeout);
	SAME_INT(presence_timeout);
	SAME_INT(body_max);
	SAME_INT(upload_max);
	SAME_INT(upload_parts_max);
	SAME_INT(auth_addr_limit);
	SAME_INT(auth_burst);
	SAME_DBL(auth_rate);
	SAME_INT(login_fail_max);
	SAME_INT(login_fail_account_max);
	SAME_INT(room_create_burst);
	SAME_DBL(room_create_rate);
	SAME_INT(members_named_burst);
	SAME_DBL(members_named_rate);
	SAME_INT(msg_burst);
	SAME_DBL(msg_rate);
	SAME_INT(upload_burst);
	SAME_DBL(upload_rate);
	SAME_INT(catchup_max);
	SAME_STR(upload_types);
	SAME_INT(ping_interval);
	SAME_INT(ping_timeout);
	SAME_INT(max_payload);
	SAME_INT(max_connections);
	SAME_INT(max_connections_per_addr);
	SAME_INT(sockets_per_user_max);
	SAME_INT(send_queue_max);
	SAME_INT(handshake_timeout);
	SAME_INT(ws_frame_burst);
	SAME_DBL(ws_frame_rate);
	SAME_STR(cors_origins);
	conf_finish(&a);
	conf_finish(&b);
	free(log);
	free(path);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	log_init("test-conf", 1, 0);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_bool_spellings);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_limits_inclusive);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_unreadable);
	tcase_add_test(tc, test_sample_documents_every_key);
	tcase_add_test(tc, test_sample_parses_to_defaults);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
