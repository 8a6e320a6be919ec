/* SPDX-License-Identifier: ISC */
/*
 * Allocation wrappers that abort on out-of-memory. Workers and the daemon are
 * supervised and restartable, so dying on OOM is simpler and safer than a
 * recovery path nobody tests.
 */
#ifndef XMALLOC_H
#define XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
