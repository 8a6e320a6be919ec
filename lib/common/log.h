/* SPDX-License-Identifier: ISC */
/*
 * Logging for the workers and the daemon: stderr in the foreground, syslog
 * otherwise. Client strings are never used as a format: pass them through
 * log_escape() and print them with "%s".
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>
#include <stdnoreturn.h>

/* Longest client string kept in a log line, before escaping. */
#define LOG_CLIENT_MAX 128

void log_init(const char *prog, int foreground, int verbose);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatal(const char *, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * Copy at most LOG_CLIENT_MAX bytes of "s" (length "len") into "dst" of
 * "dstsz" bytes, escaping every byte outside printable ASCII as \xNN and
 * marking truncation with "...". Returns "dst", always NUL-terminated.
 */
char *log_escape(char *dst, size_t dstsz, const char *s, size_t len);

#endif
