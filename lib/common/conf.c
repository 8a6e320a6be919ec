/* SPDX-License-Identifier: ISC */
/*
 * The configuration file: one table of {name, type, min, max, default,
 * member} drives both the defaults (conf_init) and the parser (conf_load),
 * in the manner of redis' config table. The defaults are written as the
 * same text a file would hold and go through the same parser, so they obey
 * the same limits. Nothing here opens anything but the file it is given.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/xmalloc.h"

enum conf_type {
	CONF_STR,  /* string of min..max bytes, may contain spaces */
	CONF_INT,  /* decimal integer in min..max */
	CONF_SIZE, /* integer with an optional k/m/g suffix (binary units) */
	CONF_RATE, /* real number in (0, max] */
	CONF_BOOL  /* yes/no, on/off, true/false, 1/0, stored as 0/1 */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	int64_t min;
	int64_t max;
	const char *def; /* as written in a file */
	size_t off;      /* of the member in struct conf */
};

/*
 * The offset of member "m" of struct conf, which must have type "t": the
 * _Generic has no other branch, so a table row whose type does not match
 * its member fails to compile instead of corrupting memory.
 */
#define CONF_OFF(m, t)                                                         \
	(offsetof(struct conf, m) +                                            \
	    0 * sizeof(_Generic(((struct conf *)0)->m, t : 1)))
/* One row per line reads better than clang-format's brace layout. */
/* clang-format off */
#define STR(n, lo, hi, d)  {#n, CONF_STR, lo, hi, d, CONF_OFF(n, char *)}
#define INT(n, lo, hi, d)  {#n, CONF_INT, lo, hi, d, CONF_OFF(n, int64_t)}
#define SIZE(n, lo, hi, d) {#n, CONF_SIZE, lo, hi, d, CONF_OFF(n, int64_t)}
#define RATE(n, hi, d)     {#n, CONF_RATE, 0, hi, d, CONF_OFF(n, double)}
#define BOOL(n, d)         {#n, CONF_BOOL, 0, 1, d, CONF_OFF(n, int64_t)}
/* clang-format on */

#define KIB     ((int64_t)1024)
#define MIB     (KIB * 1024)
#define GIB     (MIB * 1024)
#define MILLION ((int64_t)1000000)
/* A Unix socket path must fit sun_path (108 bytes with its NUL). */
#define SUN_MAX  107
#define PATH_LEN 1024

/*
 * Every key. Limits are sanity bounds, not tuning advice: they reject
 * typos (a lifetime of 0, a 1-byte body limit) while leaving room for any
 * real deployment. etc/chat.conf.sample documents each row.
 */
static const struct conf_key conf_keys[] = {
    STR(database, 1, PATH_LEN, "var/chat.db"),
    STR(media_dir, 1, PATH_LEN, "var/media"),
    STR(secret_file, 1, PATH_LEN, "var/secret.key"),
    STR(fcgi_socket, 1, SUN_MAX, "var/run/fcgi.sock"),
    STR(push_socket, 1, SUN_MAX, "var/run/push.sock"),
    STR(bus_events, 1, PATH_LEN, "ipc://var/run/bus-events"),
    STR(bus_query, 1, PATH_LEN, "ipc://var/run/bus-query"),
    STR(user, 0, 32, ""),
    BOOL(allow_root, "no"),
    INT(token_lifetime, 60, 7 * 86400, "1800"),
    INT(token_leeway, 0, 60, "30"),
    INT(busy_timeout, 0, 60000, "5000"),
    INT(presence_timeout, 1, 10000, "50"),
    SIZE(body_max, 4 * KIB, 64 * MIB, "1M"),
    SIZE(upload_max, 1 * KIB, 4 * GIB, "10M"),
    INT(upload_parts_max, 1, 1000, "16"),
    BOOL(auth_addr_limit, "no"),
    INT(auth_burst, 1, MILLION, "60"),
    RATE(auth_rate, MILLION, "2"),
    INT(login_fail_max, 1, MILLION, "20"),
    INT(login_fail_account_max, 1, MILLION, "100"),
    INT(msg_burst, 1, MILLION, "300"),
    RATE(msg_rate, MILLION, "20"),
    INT(upload_burst, 1, MILLION, "20"),
    RATE(upload_rate, MILLION, "1"),
    INT(catchup_max, 1, 100000, "1000"),
    INT(rooms_per_user_max, 1, 100000, "1000"),
    INT(room_members_max, 2, 100000, "1000"),
    INT(room_create_burst, 1, MILLION, "30"),
    RATE(room_create_rate, MILLION, "0.1"),
    INT(members_named_burst, 1, MILLION, "1000"),
    RATE(members_named_rate, MILLION, "1"),
    STR(upload_types, 1, 4096,
        "image/png image/jpeg image/gif image/webp video/mp4 audio/mpeg "
        "audio/ogg application/pdf"),
    INT(ping_interval, 1000, 3600000, "25000"),
    INT(ping_timeout, 1000, 3600000, "20000"),
    SIZE(max_payload, 4 * KIB, 64 * MIB, "1000000"),
    INT(max_connections, 1, MILLION, "20000"),
    INT(max_connections_per_addr, 1, MILLION, "4096"),
    INT(sockets_per_user_max, 1, MILLION, "64"),
    SIZE(send_queue_max, 4 * KIB, 1 * GIB, "1M"),
    INT(handshake_timeout, 100, 600000, "10000"),
    INT(ws_frame_burst, 1, MILLION, "1000"),
    RATE(ws_frame_rate, MILLION, "200"),
    STR(cors_origins, 0, 4096, ""),
    STR(push_listen_tcp, 0, 64, ""),
};

#define CONF_NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/* Parse a decimal integer that fills all of "s"; 0 or -1. */
static int
conf_int_parse(const char *s, const char **end, int64_t *v)
{
	char *ep;
	long long n;

	if (!isdigit((unsigned char)s[0]) && s[0] != '-')
		return -1;
	errno = 0;
	n = strtoll(s, &ep, 10);
	if (errno != 0 || ep == s)
		return -1;
	*end = ep;
	*v = n;
	return 0;
}

/*
 * Parse "val" as the value of "k" and store it in "c". The old string of a
 * CONF_STR member is freed. Returns 0, or -1 (without logging) when "val"
 * does not fit the key's type or limits; "c" is then unchanged.
 */
static int
conf_value_set(struct conf *c, const struct conf_key *k, const char *val)
{
	char *base = (char *)c + k->off;
	const char *end;
	char *ep;
	int64_t n, mult = 1;
	double d;
	size_t len = strlen(val);

	switch (k->type) {
	case CONF_STR:
		if (len < (size_t)k->min || len > (size_t)k->max)
			return -1;
		free(*(char **)(void *)base);
		*(char **)(void *)base = xstrdup(val);
		return 0;
	case CONF_INT:
		if (conf_int_parse(val, &end, &n) == -1 || *end != '\0')
			return -1;
		break;
	case CONF_SIZE:
		if (conf_int_parse(val, &end, &n) == -1)
			return -1;
		switch (*end) {
		case '\0':
			break;
		case 'k':
		case 'K':
			mult = KIB;
			break;
		case 'm':
		case 'M':
			mult = MIB;
			break;
		case 'g':
		case 'G':
			mult = GIB;
			break;
		default:
			return -1;
		}
		if (mult != 1 && end[1] != '\0')
			return -1;
		if (n < 0 || n > INT64_MAX / mult)
			return -1;
		n *= mult;
		break;
	case CONF_RATE:
		errno = 0;
		d = strtod(val, &ep);
		if (errno != 0 || ep == val || *ep != '\0' || !isfinite(d) ||
		    d <= 0 || d > (double)k->max)
			return -1;
		*(double *)(void *)base = d;
		return 0;
	case CONF_BOOL:
		if (!strcasecmp(val, "yes") || !strcasecmp(val, "on") ||
		    !strcasecmp(val, "true") || !strcmp(val, "1"))
			n = 1;
		else if (!strcasecmp(val, "no") || !strcasecmp(val, "off") ||
		    !strcasecmp(val, "false") || !strcmp(val, "0"))
			n = 0;
		else
			return -1;
		break;
	default:
		return -1;
	}
	if (n < k->min || n > k->max)
		return -1;
	*(int64_t *)(void *)base = n;
	return 0;
}

void
conf_init(struct conf *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < CONF_NKEYS; i++)
		if (conf_value_set(c, &conf_keys[i], conf_keys[i].def) == -1)
			fatalx("%s: default of '%s' out of its own limits",
			    __func__, conf_keys[i].name);
}

/* Strip leading and trailing white space of "s" in place. */
static char *
conf_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * Read "path" line by line: "key value" where the value is the rest of the
 * line, trimmed, "#" starting a comment line. Stops at the first error,
 * which is logged as "path:line: reason"; a key given twice is an error,
 * since one of the two lines would silently be ignored.
 */
int
conf_load(struct conf *c, const char *path)
{
	unsigned char seen[CONF_NKEYS] = {0};
	char esc[LOG_CLIENT_MAX * 4 + 4];
	FILE *f = NULL;
	char *line = NULL, *key, *val;
	size_t cap = 0, i, klen;
	ssize_t n;
	long lineno = 0;
	int rc = -1;

	if ((f = fopen(path, "r")) == NULL) {
		log_warn("%s", path);
		goto out;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if ((size_t)n != strlen(line)) {
			log_warnx("%s:%ld: NUL byte in line", path, lineno);
			goto out;
		}
		key = conf_trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		klen = strcspn(key, " \t");
		val = conf_trim(key + klen);
		key[klen] = '\0';
		for (i = 0; i < CONF_NKEYS; i++)
			if (!strcmp(conf_keys[i].name, key))
				break;
		if (i == CONF_NKEYS) {
			log_warnx("%s:%ld: unknown key '%s'", path, lineno,
			    log_escape(esc, sizeof(esc), key, klen));
			goto out;
		}
		if (seen[i]) {
			log_warnx(
			    "%s:%ld: duplicate key '%s'", path, lineno, key);
			goto out;
		}
		seen[i] = 1;
		if (conf_value_set(c, &conf_keys[i], val) == -1) {
			log_warnx(
			    "%s:%ld: bad value for '%s'", path, lineno, key);
			goto out;
		}
	}
	if (ferror(f)) {
		log_warn("%s", path);
		goto out;
	}
	rc = 0;
out:
	free(line);
	if (f != NULL)
		fclose(f);
	return rc;
}

void
conf_finish(struct conf *c)
{
	size_t i;
	char **p;

	for (i = 0; i < CONF_NKEYS; i++) {
		if (conf_keys[i].type != CONF_STR)
			continue;
		p = (char **)(void *)((char *)c + conf_keys[i].off);
		free(*p);
		*p = NULL;
	}
}

const char *
conf_key_name(size_t i)
{
	return i < CONF_NKEYS ? conf_keys[i].name : NULL;
}
