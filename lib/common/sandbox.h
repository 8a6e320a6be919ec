/* SPDX-License-Identifier: ISC */
/*
 * The process sandbox entered after priv_drop() and before the first
 * client byte is read. One contract, one implementation per system picked
 * by the GNUmakefile: sandbox-seccomp.c (Linux with libseccomp) or
 * sandbox-none.c (anything else).
 */
#ifndef SANDBOX_H
#define SANDBOX_H

/*
 * Confine the whole process (every thread, including the ones ZeroMQ
 * started) for the rest of its life. "name" names the process in the log.
 * Returns 0, or -1 after logging: the caller must then exit rather than
 * serve unconfined.
 */
int sandbox_enter(const char *name);

/* The implementation in use ("seccomp", "none"), for logs and tests. */
const char *sandbox_name(void);

#endif
