/* SPDX-License-Identifier: ISC */
/*
 * Log sink shared by every process. It must never format with client text
 * and never abort on a failed write: a full disk must not take a worker down.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static const char *log_prog = "chat";
static int log_fg = 1;
static int log_verbose;

void
log_init(const char *prog, int foreground, int verbose)
{
	log_prog = prog;
	log_fg = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void
log_vlog(int pri, const char *err, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_fg) {
		if (err != NULL)
			fprintf(stderr, "%s[%d]: %s: %s\n", log_prog,
			    (int)getpid(), msg, err);
		else
			fprintf(stderr, "%s[%d]: %s\n", log_prog, (int)getpid(),
			    msg);
		return;
	}
	if (err != NULL)
		syslog(pri, "%s: %s", msg, err);
	else
		syslog(pri, "%s", msg);
}

#define LOG_BODY(pri, err)                                                     \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_vlog(pri, err, fmt, ap);                                   \
		va_end(ap);                                                    \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_BODY(LOG_WARNING, err);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_verbose)
		return;
	LOG_BODY(LOG_DEBUG, NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_BODY(LOG_CRIT, err);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, NULL);
	exit(1);
}

char *
log_escape(char *dst, size_t dstsz, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0, n = len > LOG_CLIENT_MAX ? LOG_CLIENT_MAX : len;

	if (dstsz == 0)
		return dst;
	for (i = 0; i < n && s != NULL; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= dstsz)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstsz)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	if ((i < len) && o + 3 < dstsz) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}
